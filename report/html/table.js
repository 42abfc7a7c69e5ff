// table.js: the table of every connection, sortable by clicking a column's
// head and filterable by finding kind, state, address and port. Only the rows
// in view are in the DOM (a virtual list), so 100,000 connections scroll as
// easily as ten.

const ROW_H = 26; // px; matches .tbl td's height in report.css

// The columns: head, how a row shows, how it sorts, and its cell class.
function columns(D) {
  const st = D.states;
  const start = r => r[R_START] - D.capture_start_us;
  return [
    {head: '#', text: r => r[R_ID], key: r => r[R_ID], cls: 'num', w: 5},
    {head: 'client', text: r => r[R_CLIENT], key: r => addrKey(r[R_CLIENT]), cls: 'addr', w: 17},
    {head: 'server', text: r => r[R_SERVER], key: r => addrKey(r[R_SERVER]), cls: 'addr', w: 17},
    {head: 'conn_state', text: r => D.conn_states[r[R_ZEEK]] || '-', key: r => D.conn_states[r[R_ZEEK]] || '', w: 7},
    {head: 'client state', text: r => st[r[R_CS]], key: r => st[r[R_CS]], w: 10},
    {head: 'server state', text: r => st[r[R_SS]], key: r => st[r[R_SS]], w: 10},
    {head: 'findings', html: r => r[R_FINDINGS].map(f => '<span class="tag ' + D.severities[f[F_SEV]] + '">' +
      esc(D.kinds[f[F_KIND]]) + '</span>').join(''), key: r => worstKey(r), w: 18},
    {head: 'start (s)', text: r => secs(start(r)), key: start, cls: 'num', w: 8},
    {head: 'duration', text: r => human(r[R_DUR]), key: r => r[R_DUR], cls: 'num', w: 7},
    {head: 'packets', text: r => r[R_CPKTS] + r[R_SPKTS], key: r => r[R_CPKTS] + r[R_SPKTS], cls: 'num', w: 6},
    {head: 'bytes', text: r => r[R_CBYTES] + r[R_SBYTES], key: r => r[R_CBYTES] + r[R_SBYTES], cls: 'num', w: 7},
    {head: 'RTT', text: r => r[R_RTT] < 0 ? '-' : human(r[R_RTT]), key: r => r[R_RTT], cls: 'num', w: 6},
  ];
}

// addrKey sorts addresses by family, then address, then port: an IPv4
// address and port as one number (below 2⁴⁸), an IPv6 one as a string of
// fixed width, which sorts after every number (see order).
function addrKey(a) {
  const colon = a.lastIndexOf(':'), port = +a.slice(colon + 1);
  if (a[0] !== '[') {
    let ip = 0, part = 0;
    for (let i = 0; i < colon; i++) {
      const c = a.charCodeAt(i);
      if (c === 46) { ip = ip * 256 + part; part = 0; } else part = part * 10 + c - 48;
    }
    return (ip * 256 + part) * 65536 + port;
  }
  const host = a.slice(1, colon - 1);
  const [head, tail] = host.includes('::') ? host.split('::') : [host, null];
  const h = head ? head.split(':') : [], t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : h.concat(Array(8 - h.length - t.length).fill('0'), t);
  return groups.map(g => g.padStart(4, '0')).join('') + String(port).padStart(5, '0');
}

// worstKey sorts the worst findings first when descending.
function worstKey(r) {
  let k = 0;
  for (const f of r[R_FINDINGS]) k = Math.max(k, 1 + f[F_SEV]);
  return k * 1000 + r[R_FINDINGS].length;
}

function port(a) { return +a.slice(a.lastIndexOf(':') + 1); }

// Table builds the table in el; onSelect(index) is called for a clicked row.
function Table(el, D, onSelect) {
  const cols = columns(D);
  const rows = D.rows;
  this.D = D;
  this.cols = cols;
  this.onSelect = onSelect;
  this.sortCol = -1;
  this.sortDir = 1;
  this.selected = -1;
  this.view = Uint32Array.from(rows.keys());

  const kindOpts = D.kinds.map((k, i) => '<option value="k' + i + '">' + esc(k) + '</option>').join('');
  const zeekOpts = D.conn_states.map((z, i) => z ? '<option value="z' + i + '">' + esc(z) + '</option>' : '').join('');
  const stOpts = D.states.map((s, i) => '<option value="p' + i + '">' + s + '</option>').join('');
  el.innerHTML =
    '<div class="filters">' +
    '<label>finding<select name="kind"><option value="">any</option><option value="any">with findings</option>' +
    '<option value="none">without findings</option><optgroup label="kind">' + kindOpts + '</optgroup></select></label>' +
    '<label>state<select name="state"><option value="">any</option><optgroup label="conn_state">' + zeekOpts +
    '</optgroup><optgroup label="final state of either peer">' + stOpts + '</optgroup></select></label>' +
    '<label>address<input name="addr" type="search" placeholder="10.0.0.1, 2001:db8::" autocomplete="off"></label>' +
    '<label>port<input name="port" class="port" type="search" inputmode="numeric" placeholder="443" autocomplete="off"></label>' +
    '<button type="button" name="clear">clear</button>' +
    '<span class="shown" aria-live="polite"></span></div>' +
    '<div class="tbl"><div class="scroll"><table><colgroup>' +
    cols.map(c => '<col style="width:' + c.w + '%">').join('') + '</colgroup><thead><tr>' +
    cols.map((c, i) => '<th data-col="' + i + '" aria-sort="none" tabindex="0">' + esc(c.head) + '</th>').join('') +
    '</tr></thead><tbody></tbody></table></div></div>';
  this.scroll = el.querySelector('.scroll');
  this.tbody = el.querySelector('tbody');
  this.shown = el.querySelector('.shown');
  this.f = {
    kind: el.querySelector('[name=kind]'), state: el.querySelector('[name=state]'),
    addr: el.querySelector('[name=addr]'), port: el.querySelector('[name=port]'),
  };
  // Typing filters once the keys stop coming, not at every key.
  let typing = 0;
  for (const k in this.f) {
    const el = this.f[k];
    if (el.tagName === 'SELECT') {
      el.addEventListener('change', () => this.filter());
    } else {
      el.addEventListener('input', () => {
        if (rows.length <= 20000) return this.filter();
        clearTimeout(typing);
        typing = setTimeout(() => this.filter(), 150);
      });
    }
  }
  el.querySelector('[name=clear]').addEventListener('click', () => {
    for (const k in this.f) this.f[k].value = '';
    this.filter();
  });
  el.querySelector('thead').addEventListener('click', e => {
    const th = e.target.closest('th');
    if (th) this.sort(+th.dataset.col);
  });
  el.querySelector('thead').addEventListener('keydown', e => {
    const th = e.target.closest('th');
    if (th && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      this.sort(+th.dataset.col);
    }
  });
  this.tbody.addEventListener('click', e => {
    const tr = e.target.closest('tr[data-i]');
    if (tr) this.select(+tr.dataset.i, true);
  });
  this.tbody.addEventListener('keydown', e => {
    const tr = e.target.closest('tr[data-i]');
    if (tr && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      this.select(+tr.dataset.i, true);
    }
  });
  let pending = false;
  this.scroll.addEventListener('scroll', () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; this.render(); });
  });
  this.filter();
}

// filter keeps the rows that pass every filter, in the current sort order.
Table.prototype.filter = function () {
  const rows = this.D.rows, f = this.f;
  const kind = f.kind.value, state = f.state.value;
  const addr = f.addr.value.trim().toLowerCase(), p = f.port.value.trim();
  const portN = p === '' ? -1 : +p;
  const tests = [];
  if (kind === 'any') tests.push(r => r[R_FINDINGS].length > 0);
  else if (kind === 'none') tests.push(r => r[R_FINDINGS].length === 0);
  else if (kind) {
    const k = +kind.slice(1);
    tests.push(r => r[R_FINDINGS].some(x => x[F_KIND] === k));
  }
  if (state[0] === 'z') {
    const z = +state.slice(1);
    tests.push(r => r[R_ZEEK] === z);
  } else if (state[0] === 'p') {
    const s = +state.slice(1);
    tests.push(r => r[R_CS] === s || r[R_SS] === s);
  }
  // Addresses are written in lower case (IPv6 hex digits too).
  if (addr) tests.push(r => r[R_CLIENT].includes(addr) || r[R_SERVER].includes(addr));
  if (portN >= 0) {
    const ports = this.ports || (this.ports = rows.map(r => [port(r[R_CLIENT]), port(r[R_SERVER])]));
    tests.push((r, i) => ports[i][0] === portN || ports[i][1] === portN);
  }
  const keep = [];
  outer: for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (const t of tests) if (!t(r, i)) continue outer;
    keep.push(i);
  }
  this.view = Uint32Array.from(keep);
  if (this.sortCol >= 0) this.order();
  this.shown.textContent = 'showing ' + keep.length.toLocaleString('en') + ' of ' + rows.length.toLocaleString('en');
  this.scroll.scrollTop = 0;
  this.render();
};

// sort orders by column i, or reverses the order when it already is.
Table.prototype.sort = function (i) {
  this.sortDir = this.sortCol === i ? -this.sortDir : (i === 6 ? -1 : 1);
  this.sortCol = i;
  this.tbody.closest('table').querySelectorAll('th').forEach((th, j) =>
    th.setAttribute('aria-sort', j === i ? (this.sortDir > 0 ? 'ascending' : 'descending') : 'none'));
  this.order();
  this.render();
};

Table.prototype.order = function () {
  const rows = this.D.rows, col = this.sortCol, dir = this.sortDir;
  // Each column's keys are computed once, on its first sort.
  this.keys = this.keys || [];
  const keys = this.keys[col] || (this.keys[col] = rows.map(this.cols[col].key));
  const v = Array.from(this.view);
  v.sort((a, b) => {
    const ka = keys[a], kb = keys[b];
    if (typeof ka !== typeof kb) return (typeof ka === 'number' ? -1 : 1) * dir;
    if (ka < kb) return -dir;
    if (ka > kb) return dir;
    return a - b;
  });
  this.view = Uint32Array.from(v);
};

// render draws the rows in view and a padding row above and below them.
Table.prototype.render = function () {
  const n = this.view.length, rows = this.D.rows, cols = this.cols;
  const first = Math.max(0, Math.floor(this.scroll.scrollTop / ROW_H) - 10);
  const count = Math.ceil(this.scroll.clientHeight / ROW_H) + 20;
  const last = Math.min(n, first + count);
  const out = ['<tr class="pad"><td colspan="' + cols.length + '" style="height:' + first * ROW_H + 'px"></td></tr>'];
  for (let j = first; j < last; j++) {
    const i = this.view[j], r = rows[i];
    out.push('<tr data-i="' + i + '" tabindex="0"' + (i === this.selected ? ' class="sel"' : '') + '>');
    for (const c of cols) {
      out.push('<td' + (c.cls ? ' class="' + c.cls + '"' : '') + '>' + (c.html ? c.html(r) : esc(c.text(r))) + '</td>');
    }
    out.push('</tr>');
  }
  out.push('<tr class="pad"><td colspan="' + cols.length + '" style="height:' + (n - last) * ROW_H + 'px"></td></tr>');
  if (n === 0) out.splice(1, 0, '<tr><td colspan="' + cols.length + '" class="muted">no connection matches</td></tr>');
  this.tbody.innerHTML = out.join('');
};

// select marks row i and tells onSelect.
Table.prototype.select = function (i, fromClick) {
  this.selected = i;
  this.render();
  this.onSelect(i, fromClick);
};

// filterKind and filterState set one filter from outside (the charts, the
// findings' "list them" links).
Table.prototype.filterKind = function (name) {
  const k = this.D.kinds.indexOf(name);
  this.f.kind.value = k >= 0 ? 'k' + k : '';
  this.filter();
};

Table.prototype.filterState = function (name) {
  const z = this.D.conn_states.indexOf(name);
  this.f.state.value = z >= 0 ? 'z' + z : '';
  this.filter();
};
