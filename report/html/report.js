// report.js: wires the page. It reads the embedded data once, draws the
// ladders of the connections written out with their findings when they are
// opened (or scrolled to), builds the table of every connection, and opens
// any connection's ladder below the table when its row is clicked or its
// #conn-ID link followed. It marks <html data-ready> when done, which the
// browser tests wait for.

function boot() {
  const started = performance.now();
  const root = document.documentElement;
  root.classList.add('js');
  const D = JSON.parse(document.getElementById('tfc-data').textContent);
  const byID = new Map();
  D.rows.forEach((r, i) => byID.set(r[R_ID], i));

  // Ladders of the written-out connections: drawn when their <details>
  // opens, and the open ones when they come near the screen.
  const drawn = new WeakSet();
  function draw(details) {
    if (drawn.has(details)) return;
    drawn.add(details);
    const r = D.rows[+details.dataset.row];
    details.querySelector('.ladder-box').innerHTML = r ? drawLadder(D, r) : '';
    wireFindings(details.closest('article'));
  }
  const near = 'IntersectionObserver' in window ? new IntersectionObserver(entries => {
    for (const e of entries) {
      if (e.isIntersecting) {
        near.unobserve(e.target);
        draw(e.target);
      }
    }
  }, {rootMargin: '400px'}) : null;
  document.querySelectorAll('details.ladder').forEach(d => {
    d.addEventListener('toggle', () => { if (d.open) draw(d); });
    if (d.open) near ? near.observe(d) : draw(d);
  });

  // The table, and the connection shown below it.
  const detail = document.getElementById('detail');
  const table = new Table(document.getElementById('table-app'), D, (i, fromClick) => {
    detail.hidden = false;
    detail.innerHTML = connArticle(D, i);
    wireFindings(detail.querySelector('article'));
    if (fromClick) history.replaceState(null, '', '#conn-' + D.rows[i][R_ID]);
  });

  // Charts and links that filter the table.
  document.querySelectorAll('#chart-states .bar').forEach(g => g.addEventListener('click', () => {
    table.filterState(g.dataset.state);
    document.getElementById('table').scrollIntoView();
  }));
  document.querySelectorAll('a.filter-kind').forEach(a => a.addEventListener('click', () => table.filterKind(a.dataset.kind)));

  // #conn-ID: the written-out article when there is one, else the table's.
  function route() {
    const m = /^#conn-(\d+)$/.exec(location.hash);
    if (!m) return;
    const el = document.getElementById('conn-' + m[1]);
    if (el && el.tagName === 'ARTICLE' && !detail.contains(el)) {
      const d = el.querySelector('details.ladder');
      if (d && !d.open) d.open = true;
      return;
    }
    const i = byID.get(+m[1]);
    if (i !== undefined) {
      table.select(i, false);
      detail.scrollIntoView();
    }
  }
  window.addEventListener('hashchange', route);
  route();

  // Printing: every written-out ladder, drawn.
  window.addEventListener('beforeprint', () => document.querySelectorAll('details.ladder').forEach(d => {
    d.open = true;
    draw(d);
  }));
  // For the browser tests and for anyone poking at the page from DevTools.
  window.tcpflowCheck = {data: D, steps: i => decodeSteps(D, D.rows[i]), table, human};
  root.dataset.bootMs = (performance.now() - started).toFixed(1);
  root.dataset.ready = '1';
}

// wireFindings makes each finding of an article highlight, on hover, the
// arrows of the frames it rests on.
function wireFindings(article) {
  if (!article) return;
  const items = article.querySelectorAll('ul.findings > li');
  items.forEach(li => {
    const frames = (li.dataset.frames || (li.querySelector('.frames') || {}).textContent || '')
      .replace(/^frames? /, '').split(/[,\s]+/).filter(x => /^\d+$/.test(x));
    const set = (on) => frames.forEach(fr => article.querySelectorAll('g.row[data-frame="' + fr + '"]')
      .forEach(g => g.classList.toggle('sel', on)));
    li.addEventListener('mouseenter', () => set(true));
    li.addEventListener('mouseleave', () => set(false));
  });
}

// connArticle writes row i as the page writes out a connection with
// findings, ladder drawn.
function connArticle(D, i) {
  const r = D.rows[i], f = r[R_FINDINGS];
  const worst = f.reduce((w, x) => Math.max(w, x[F_SEV]), -1);
  const sev = worst < 0 ? '' : D.severities[worst];
  const facts = ['frames ' + r[R_FIRST] + '–' + r[R_LAST], 'start +' + secs(r[R_START] - D.capture_start_us) + 's',
    'duration ' + human(r[R_DUR]), 'history ' + (r[R_HIST] || '-')];
  if (r[R_RTT] >= 0) facts.push('handshake RTT ' + human(r[R_RTT]));
  let h = '<article class="conn ' + sev + '" id="conn-' + r[R_ID] + '-detail" data-row="' + i + '"><h3>' +
    (sev ? '<span class="sev ' + sev + '">' + sev + '</span> ' : '') + 'connection #' + r[R_ID] +
    ' <code class="addr">client ' + esc(r[R_CLIENT]) + ' → server ' + esc(r[R_SERVER]) + '</code></h3>' +
    '<p class="conn-facts"><code>' + esc(D.inputs[r[R_INPUT]] || '') + '</code> · ' + facts.join(' · ') +
    ' · conn_state ' + esc(D.conn_states[r[R_ZEEK]] || '-') + ' · final client ' + D.states[r[R_CS]] + ' / server ' +
    D.states[r[R_SS]] + '</p>';
  if (r[R_FLAGS] & 1) h += '<p class="note">note: seen mid-stream: states before the first segment are assumed</p>';
  if (r[R_FLAGS] & 2) h += '<p class="note">note: no SYN seen: client and server guessed from the ports</p>';
  if (f.length) {
    h += '<ul class="findings">' + f.map(x => {
      const s = D.severities[x[F_SEV]], fr = x[F_FRAMES];
      let d = '';
      if (x[F_BY]) d += ' · by ' + esc(x[F_BY]);
      if (x[F_DUR] >= 0) d += ' · lasted ' + human(x[F_DUR]);
      if (x[F_TIME] >= 0) d += ' · at +' + secs(x[F_TIME]) + 's';
      return '<li class="' + s + '" data-frames="' + fr.join(',') + '"><span class="sev ' + s + '">' + s +
        '</span> <code class="kind-name">' + esc(D.kinds[x[F_KIND]]) + '</code> <span class="frames">' +
        (fr.length === 1 ? 'frame ' : 'frames ') + fr.slice(0, 6).join(',') + (fr.length > 6 ? ',…' : '') +
        '</span><span class="detail">' + d + '</span><p class="evidence">' + esc(x[F_EVIDENCE]) + '</p></li>';
    }).join('') + '</ul>';
  } else {
    h += '<p class="muted">no findings</p>';
  }
  return h + '<div class="ladder-box">' + drawLadder(D, r) + '</div></article>';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
