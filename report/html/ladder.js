// ladder.js: the ladder diagram of one connection, drawn in SVG from the
// page's embedded data (report/html_data.go describes the row layout and the
// timeline's encoding). Client on the left, server on the right, one arrow a
// segment going down as time passes, both peers' states beside each arrow.
// The report's files share one scope (report.go wraps them in a function).

// Row fields (html_data.go).
const R_ID = 0, R_INPUT = 1, R_CLIENT = 2, R_SERVER = 3, R_FIRST = 4, R_LAST = 5, R_START = 6,
  R_DUR = 7, R_CS = 8, R_SS = 9, R_ZEEK = 10, R_HIST = 11, R_RTT = 12, R_CBYTES = 13, R_SBYTES = 14,
  R_CPKTS = 15, R_SPKTS = 16, R_FLAGS = 17, R_FINDINGS = 18, R_STEPS = 19, R_TIMELINE = 20, R_GAPS = 21;
// Finding fields.
const F_KIND = 0, F_SEV = 1, F_FRAMES = 2, F_TIME = 3, F_DUR = 4, F_EVIDENCE = 5, F_BY = 6;

const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16, URG = 32, ECE = 64, CWR = 128;
const FLAG_NAMES = [[FIN, 'FIN'], [SYN, 'SYN'], [RST, 'RST'], [PSH, 'PSH'], [ACK, 'ACK'], [URG, 'URG'],
  [ECE, 'ECE'], [CWR, 'CWR']];

const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VLQ_VALUE = (() => {
  const m = new Int8Array(128).fill(-1);
  for (let i = 0; i < VLQ.length; i++) m[VLQ.charCodeAt(i)] = i;
  return m;
})();
const TWO32 = 4294967296;

// decodeSteps returns the segments of row r: {frame, t (µs since the
// connection's start), dir (0 client to server, 1 server to client), flags,
// seq, ack, len, win, cs, ss (state indexes), note}.
function decodeSteps(D, r) {
  const s = r[R_TIMELINE];
  if (!s) return null;
  let pos = 0;
  function next() {
    let u = 0, mul = 1, d;
    do {
      d = VLQ_VALUE[s.charCodeAt(pos++)];
      if (d < 0 || pos > s.length) throw new Error('tcpflow-check: corrupt timeline of connection #' + r[R_ID]);
      u += (d & 31) * mul;
      mul *= 32;
    } while (d & 32);
    return u % 2 ? -(u + 1) / 2 : u / 2;
  }
  const out = [];
  let frame = r[R_FIRST], t = 0;
  const seq = [0, 0], ack = [0, 0], win = [0, 0];
  while (pos < s.length) {
    frame += next();
    t += next();
    const df = next(), dir = df >> 8;
    seq[dir] = (((seq[dir] + next()) % TWO32) + TWO32) % TWO32;
    ack[dir] = (((ack[dir] + next()) % TWO32) + TWO32) % TWO32;
    const len = next();
    win[dir] += next();
    const st = next();
    const note = D.notes[next()] || '';
    out.push({frame, t, dir, flags: df & 255, seq: seq[dir], ack: ack[dir], len, win: win[dir],
      cs: st >> 4, ss: st & 15, note});
  }
  return out;
}

function flagNames(f) {
  const n = [];
  for (const [bit, name] of FLAG_NAMES) if (f & bit) n.push(name);
  return n.length ? n.join(',') : 'none';
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}

// secs writes µs as seconds with 6 decimals.
function secs(us) { return (us / 1e6).toFixed(6); }

// human writes µs for people: "39µs", "1.24ms", "3.04s", with three
// significant digits.
function human(us) {
  if (us < 0) return '-';
  if (us < 1000) return Math.round(us) + 'µs';
  const sig3 = v => v >= 100 ? v.toFixed(0) : (v >= 10 ? v.toFixed(1) : v.toFixed(2)).replace(/\.?0+$/, '');
  if (us < 999500) return sig3(us / 1000) + 'ms';
  if (us < 6e7) return sig3(us / 1e6) + 's';
  return Math.round(us / 1e6) + 's';
}

// The ladder's geometry, in SVG units.
const L = {
  width: 1000, head: 58, row: 34, slant: 16,
  frameX: 34, timeX: 118, cStateX: 250, cX: 262, sX: 742, sStateX: 754, markX: 842,
};

// segClass says how an arrow is drawn: RST, SYN, FIN, data or a bare ACK,
// dashed when the analyzer calls it a retransmission.
function segClass(st) {
  let c = 'ack';
  if (st.flags & RST) c = 'rst';
  else if (st.flags & SYN) c = 'syn';
  else if (st.flags & FIN) c = 'fin';
  else if (st.len > 0) c = 'data';
  if (/retransmission/.test(st.note)) c += ' retx';
  return c;
}

// gapSpace is the extra room before a step that came dt µs after the one
// before it, so that waits show as space; 0 under 10 ms.
function gapSpace(dt) {
  if (dt < 10000) return 0;
  return Math.min(46, 14 + 10 * Math.log10(dt / 10000));
}

// drawLadder returns the SVG (as markup) and the HTML around it for row r.
function drawLadder(D, r) {
  const steps = decodeSteps(D, r);
  const findings = r[R_FINDINGS];
  let html = '';
  if (!steps) {
    return '<p class="ladder-note">' + (r[R_STEPS] ? 'The segments of this connection were left out to bound the ' +
      'page\'s size; <code>tcpflow-check ladder FILE --conn ' + r[R_ID] + '</code> draws its ladder.' :
      'No timeline was recorded for this connection.') + '</p>';
  }
  // Frames the findings rest on: frame → {sev, kinds (where it is the first frame)}.
  const hl = new Map();
  for (const f of findings) {
    f[F_FRAMES].forEach((fr, i) => {
      const h = hl.get(fr) || {sev: 0, kinds: []};
      h.sev = Math.max(h.sev, f[F_SEV]);
      if (i === 0) h.kinds.push(f);
      hl.set(fr, h);
    });
  }
  const states = D.states, sevs = D.severities;
  // Segments left off the page: index of the one after → how many.
  const cut = new Map(r[R_GAPS] || []);
  // y of each step's arrow start.
  const ys = [];
  let y = L.head + 8, prevT = 0;
  steps.forEach((st, i) => {
    const dt = st.t - prevT;
    const gap = (i ? gapSpace(dt) : 0) + (cut.has(i) ? 30 : 0);
    y += gap;
    ys.push({y, gap, dt, cut: cut.get(i) || 0});
    y += L.row;
    prevT = st.t;
  });
  const height = y + 26;
  const out = [];
  out.push('<svg class="ladder" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + L.width + ' ' + height +
    '" width="' + L.width + '" height="' + height + '" role="img" aria-label="ladder diagram of connection #' +
    r[R_ID] + '">');
  // Highlight bands first, under everything.
  steps.forEach((st, i) => {
    const h = hl.get(st.frame);
    if (h) {
      out.push('<rect class="hl ' + sevs[h.sev] + '" x="0" y="' + (ys[i].y - 12) + '" width="' + L.width +
        '" height="' + (L.slant + 20) + '" rx="4"><title>frame ' + st.frame + ': ' +
        esc(findings.filter(f => f[F_FRAMES].includes(st.frame)).map(f => f[F_KIND]).join(', ')) + '</title></rect>');
    }
  });
  // Heads.
  out.push('<text class="head" x="' + L.cX + '" y="18" text-anchor="middle">client</text>');
  out.push('<text class="addr" x="' + L.cX + '" y="34" text-anchor="middle">' + esc(r[R_CLIENT]) + '</text>');
  out.push('<text class="head" x="' + L.sX + '" y="18" text-anchor="middle">server</text>');
  out.push('<text class="addr" x="' + L.sX + '" y="34" text-anchor="middle">' + esc(r[R_SERVER]) + '</text>');
  out.push('<text class="margin" x="' + L.frameX + '" y="34" text-anchor="end">frame</text>');
  out.push('<text class="margin" x="' + L.timeX + '" y="34" text-anchor="end">time (s)</text>');
  // Lifelines, coloured by each peer's state between its steps.
  for (const side of [0, 1]) {
    const x = side ? L.sX : L.cX;
    let from = L.head - 6, cls = 'st-CLOSED';
    steps.forEach((st, i) => {
      const at = ys[i].y + (st.dir === side ? 0 : L.slant);
      out.push('<line class="lifeline ' + cls + '" x1="' + x + '" y1="' + from + '" x2="' + x + '" y2="' + at + '"/>');
      from = at;
      cls = 'st-' + states[side ? st.ss : st.cs];
    });
    out.push('<line class="lifeline ' + cls + '" x1="' + x + '" y1="' + from + '" x2="' + x + '" y2="' + (height - 8) + '"/>');
  }
  // Arrows, labels and states.
  let prevCS = -1, prevSS = -1;
  steps.forEach((st, i) => {
    const {y: y0, gap, dt, cut: left} = ys[i];
    const y1 = y0 + L.slant;
    const fromX = st.dir ? L.sX : L.cX, toX = st.dir ? L.cX : L.sX;
    if (left) {
      const gy = y0 - gap / 2 - 15;
      out.push('<text class="gap cut" x="' + ((L.cX + L.sX) / 2) + '" y="' + (gy + 4) + '" text-anchor="middle">⋯ ' +
        left.toLocaleString('en') + ' segments not on this page, ' + human(dt) + ' ⋯</text>');
    } else if (gap) {
      const gy = y0 - gap / 2 - 15;
      out.push('<line class="gapline" x1="' + (L.cX + 8) + '" y1="' + gy + '" x2="' + (L.sX - 8) + '" y2="' + gy + '"/>');
      out.push('<text class="gap" x="' + ((L.cX + L.sX) / 2) + '" y="' + (gy + 4) + '" text-anchor="middle">' + human(dt) + ' later</text>');
    }
    const cls = segClass(st);
    const title = 'frame ' + st.frame + ' at +' + secs(st.t) + 's · ' + (st.dir ? 'server → client' : 'client → server') +
      ' · ' + flagNames(st.flags) + ' seq=' + st.seq + ' ack=' + st.ack + ' len=' + st.len + ' win=' + st.win +
      (st.note ? ' · ' + st.note : '') + ' · after it: client ' + states[st.cs] + ', server ' + states[st.ss];
    out.push('<g class="row seg ' + cls + '" data-frame="' + st.frame + '"><title>' + esc(title) + '</title>');
    out.push('<rect class="rowbg" x="0" y="' + (y0 - 12) + '" width="' + L.width + '" height="' + (L.slant + 20) + '"/>');
    out.push('<text class="margin" x="' + L.frameX + '" y="' + (y0 + L.slant / 2 + 4) + '" text-anchor="end">' + st.frame + '</text>');
    out.push('<text class="margin" x="' + L.timeX + '" y="' + (y0 + L.slant / 2 + 4) + '" text-anchor="end">' + secs(st.t) + '</text>');
    // The arrow, ending short of the lifeline, with its head.
    const dx = toX - fromX, dy = L.slant, len = Math.hypot(dx, dy);
    const ux = dx / len, uy = dy / len;
    const ex = toX - ux * 5, ey = y1 - uy * 5;
    out.push('<line x1="' + (fromX + ux * 4) + '" y1="' + (y0 + uy * 4) + '" x2="' + ex + '" y2="' + ey + '"/>');
    const hx = ex - ux * 10, hy = ey - uy * 10;
    out.push('<polygon class="tip" points="' + ex + ',' + ey + ' ' + (hx - uy * 4.5) + ',' + (hy + ux * 4.5) + ' ' +
      (hx + uy * 4.5) + ',' + (hy - ux * 4.5) + '"/>');
    if (st.flags & RST) {
      const cx = toX - ux * 22, cy = y1 - uy * 22;
      out.push('<path class="rstx" d="M' + (cx - 5) + ' ' + (cy - 5) + 'L' + (cx + 5) + ' ' + (cy + 5) + 'M' + (cx - 5) + ' ' +
        (cy + 5) + 'L' + (cx + 5) + ' ' + (cy - 5) + '"/>');
    }
    // The label, along the arrow, above its middle.
    const mx = (fromX + toX) / 2, my = (y0 + y1) / 2 - 5;
    const angle = Math.atan2(L.slant, dx) * 180 / Math.PI;
    const rot = dx < 0 ? angle - 180 : angle;
    let label = '<tspan class="flags">' + flagNames(st.flags) + '</tspan> <tspan class="nums">seq=' + st.seq;
    if (st.flags & ACK) label += ' ack=' + st.ack;
    if (st.len > 0) label += ' len=' + st.len;
    label += '</tspan>';
    if (st.win === 0 && !(st.flags & RST)) label += ' <tspan class="zw">win=0</tspan>';
    if (st.note) label += ' <tspan class="note">' + esc(st.note) + '</tspan>';
    out.push('<text x="' + mx + '" y="' + my + '" text-anchor="middle" transform="rotate(' + rot.toFixed(2) + ' ' + mx +
      ' ' + my + ')">' + label + '</text>');
    // Both peers' states after the segment, level with its arrow; bold
    // where they change (the lifelines change colour where the arrow
    // leaves or arrives).
    const ly = y0 + L.slant / 2 + 4;
    out.push('<text class="state st-' + states[st.cs] + (st.cs === prevCS ? ' same' : '') + '" x="' + L.cStateX +
      '" y="' + ly + '" text-anchor="end">' + states[st.cs] + '</text>');
    out.push('<text class="state st-' + states[st.ss] + (st.ss === prevSS ? ' same' : '') + '" x="' + L.sStateX +
      '" y="' + ly + '">' + states[st.ss] + '</text>');
    prevCS = st.cs;
    prevSS = st.ss;
    const h = hl.get(st.frame);
    if (h && h.kinds.length) {
      out.push('<text class="mark ' + sevs[h.sev] + '" x="' + L.markX + '" y="' + (y0 + L.slant / 2 + 4) + '">◀ ' +
        esc(h.kinds.map(f => D.kinds[f[F_KIND]]).join(', ')) + '</text>');
    }
    out.push('</g>');
  });
  out.push('</svg>');
  html += out.join('');
  const last = steps[steps.length - 1];
  if (r[R_STEPS] > steps.length) {
    html += '<p class="ladder-note">The page holds ' + steps.length + ' of the ' + r[R_STEPS] +
      ' segments of this connection: the first, the last and those the findings rest on; <code>tcpflow-check ladder FILE --conn ' +
      r[R_ID] + '</code> draws them all.</p>';
  }
  html += '<p class="ladder-legend">final: client <b>' + states[r[R_CS]] + '</b> / server <b>' + states[r[R_SS]] +
    '</b> · ' + steps.length + ' segments over ' + human(last.t) +
    '<span class="sw" style="color:var(--syn)"></span>SYN<span class="sw" style="color:var(--fin)"></span>FIN' +
    '<span class="sw" style="color:var(--rst)"></span>RST<span class="sw" style="color:var(--data)"></span>data' +
    '<span class="sw" style="color:var(--ack)"></span>ACK<span class="sw dash" style="color:var(--retx)"></span>retransmission' +
    '<span class="sw" style="color:var(--st-est)"></span>established<span class="sw" style="color:var(--st-close)"></span>closing' +
    '<span class="sw" style="color:var(--st-cw)"></span>CLOSE_WAIT<span class="sw" style="color:var(--st-tw)"></span>TIME_WAIT</p>';
  return html;
}
