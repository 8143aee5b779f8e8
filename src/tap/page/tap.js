// FlowGate live tap page: connects to /tap on the server that served it, shows the records it
// receives, sets the filter, pauses and resumes the table, and draws records/s. Plain script,
// no build step, no library. Record values are shown with textContent only.
'use strict';
(() => {
  const MAX_ROWS = 200;
  const HISTORY_S = 120;
  const protoNames = { 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMPv6', 132: 'SCTP' };

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $('status'), scope: $('scope'), token: $('token'), connectForm: $('connect'), connect: $('connect-button'),
    disconnect: $('disconnect-button'), filterForm: $('filter'), apply: $('apply'), clearFilter: $('clear-filter'),
    error: $('error'), rate: $('rate'), counters: $('counters'), serverStats: $('server-stats'), pause: $('pause'),
    chart: $('chart'), filterShown: $('filter-shown'), rows: document.querySelector('#records tbody'),
  };

  let ws = null;
  let paused = false;
  let received = 0;
  let notShown = 0;
  let thisSecond = 0;
  const rates = [];

  // A token given in the address is moved to this tab's session storage and out of the address
  // bar, so it does not stay in history or show on screen.
  const params = new URLSearchParams(location.search);
  if (params.has('token')) {
    sessionStorage.setItem('flowgate-tap-token', params.get('token'));
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
  ui.token.value = sessionStorage.getItem('flowgate-tap-token') || '';

  function setStatus(text, cls) {
    ui.status.textContent = text;
    ui.status.className = 'status ' + cls;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  function setConnected(on) {
    ui.connect.disabled = on;
    ui.disconnect.disabled = !on;
    ui.apply.disabled = !on;
    ui.clearFilter.disabled = !on;
  }

  function describeFilter(f) {
    const parts = [];
    for (const [k, v] of Object.entries(f)) if (v !== null && k !== 'max_rate') parts.push(k + ' ' + v);
    return 'Filter: ' + (parts.length ? parts.join(', ') : 'none (every record the token may see)') + '; at most ' + f.max_rate + ' records/s';
  }

  function fillForm(f) {
    for (const el of ui.filterForm.elements) {
      if (!el.name) continue;
      const v = f[el.name];
      el.value = v === null || v === undefined || (el.name === 'max_rate' && v === 1000) ? '' : String(v);
    }
  }

  function connect() {
    if (ws) ws.close(1000);
    const token = ui.token.value.trim();
    sessionStorage.setItem('flowgate-tap-token', token);
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/tap' + (token ? '?token=' + encodeURIComponent(token) : '');
    const socket = new WebSocket(url);
    ws = socket;
    let opened = false;
    setStatus('connecting', 'wait');
    showError('');
    socket.onopen = () => {
      opened = true;
      setStatus('connected', 'on');
      setConnected(true);
    };
    socket.onmessage = (event) => {
      if (ws === socket) onFrame(event.data);
    };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      ws = null;
      setConnected(false);
      ui.scope.textContent = '';
      if (!opened) {
        setStatus('refused', 'off');
        showError('The server refused the connection: a valid tap token is required (or too many clients are connected, or this address failed too often: try again in a minute).');
      } else {
        setStatus('disconnected' + (event.code && event.code !== 1000 && event.code !== 1005 ? ' (' + event.code + (event.reason ? ': ' + event.reason : '') + ')' : ''), 'off');
      }
    };
  }

  function onFrame(text) {
    const lines = text.split('\n');
    const rows = [];
    for (const line of lines) {
      if (!line) continue;
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(obj, 'type')) onControl(obj);
      else {
        received++;
        thisSecond++;
        if (paused) notShown++;
        else rows.push(line);
      }
    }
    if (rows.length) addRows(rows);
    updateCounters();
  }

  function onControl(msg) {
    if (msg.type === 'hello') {
      ui.scope.textContent = msg.tenant === null ? 'all tenants' : 'tenant ' + msg.tenant;
      ui.filterShown.textContent = describeFilter(msg.filter);
    } else if (msg.type === 'filter') {
      showError('');
      fillForm(msg.filter);
      ui.filterShown.textContent = describeFilter(msg.filter);
      // From here on every record matches the new filter: start the table afresh.
      ui.rows.replaceChildren();
    } else if (msg.type === 'error') {
      showError('Filter refused: ' + msg.error);
    } else if (msg.type === 'stats') {
      const s = msg.skipped || {};
      ui.serverStats.textContent = 'server sent ' + msg.sent + ', skipped: ' + (s.rate_limit || 0) + ' over max rate, ' +
        (s.slow_client || 0) + ' while behind, ' + (s.worker_cap || 0) + ' by the gateway cap, ' + (s.ingest_busy || 0) + ' while the gateway was busy (all clients)';
    }
  }

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function exportTime(ms) {
    if (typeof ms !== 'number') return '';
    return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
  }

  function addRows(lines) {
    const fragment = document.createDocumentFragment();
    // Newest first: the last record of the frame goes on top.
    for (let i = lines.length - 1; i >= 0 && fragment.childNodes.length < MAX_ROWS; i--) {
      const r = JSON.parse(lines[i]);
      const tr = document.createElement('tr');
      tr.dataset.record = lines[i];
      tr.title = lines[i];
      cell(tr, exportTime(r.time));
      cell(tr, r.dvc);
      cell(tr, r.src, 'addr');
      cell(tr, r.srcp, 'num');
      cell(tr, r.dst, 'addr');
      cell(tr, r.dstp, 'num');
      cell(tr, protoNames[r.proto] ? r.proto + ' ' + protoNames[r.proto] : r.proto);
      cell(tr, r.flags, 'num');
      cell(tr, r.bytes, 'num');
      cell(tr, r.pkts, 'num');
      fragment.appendChild(tr);
    }
    ui.rows.prepend(fragment);
    while (ui.rows.childNodes.length > MAX_ROWS) ui.rows.lastChild.remove();
  }

  function updateCounters() {
    ui.counters.textContent = 'received ' + received + (paused ? ', paused: ' + notShown + ' not shown' : '');
  }

  function drawChart() {
    const canvas = ui.chart;
    const ratio = window.devicePixelRatio || 1;
    const cssWidth = canvas.clientWidth || 640;
    const cssHeight = canvas.clientHeight || 90;
    if (canvas.width !== Math.round(cssWidth * ratio)) {
      canvas.width = Math.round(cssWidth * ratio);
      canvas.height = Math.round(cssHeight * ratio);
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, cssWidth, cssHeight);
    const top = 14, bottom = cssHeight - 4, left = 4, right = cssWidth - 4;
    const max = Math.max(1, ...rates);
    g.strokeStyle = '#d0d4da';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(left, bottom + 0.5);
    g.lineTo(right, bottom + 0.5);
    g.moveTo(left, top + 0.5);
    g.lineTo(right, top + 0.5);
    g.stroke();
    g.fillStyle = '#5b6470';
    g.font = '11px system-ui, sans-serif';
    g.fillText('max ' + max + ' records/s', left, 11);
    g.textAlign = 'right';
    g.fillText('last ' + HISTORY_S + ' s', right, 11);
    g.textAlign = 'left';
    // One bar per second, the newest on the right.
    const step = (right - left) / HISTORY_S;
    g.fillStyle = '#2563eb';
    rates.forEach((v, i) => {
      if (v === 0) return;
      const h = Math.max(1, (v / max) * (bottom - top));
      const x = right - (rates.length - i) * step;
      g.fillRect(x + 0.5, bottom - h, Math.max(1, step - 1), h);
    });
  }

  setInterval(() => {
    rates.push(thisSecond);
    if (rates.length > HISTORY_S) rates.shift();
    ui.rate.textContent = String(thisSecond);
    thisSecond = 0;
    drawChart();
  }, 1000);

  ui.connectForm.addEventListener('submit', (event) => {
    event.preventDefault();
    connect();
  });
  ui.disconnect.addEventListener('click', () => {
    if (ws) ws.close(1000);
  });
  ui.filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const filter = {};
    for (const el of ui.filterForm.elements) {
      if (!el.name) continue;
      const v = el.value.trim();
      if (v === '') continue;
      filter[el.name] = ['port', 'proto', 'max_rate'].includes(el.name) && /^\d+$/.test(v) ? Number(v) : v;
    }
    ws.send(JSON.stringify(filter));
  });
  ui.clearFilter.addEventListener('click', () => {
    for (const el of ui.filterForm.elements) if (el.name) el.value = '';
    if (ws && ws.readyState === WebSocket.OPEN) ws.send('{}');
  });
  ui.pause.addEventListener('click', () => {
    paused = !paused;
    ui.pause.textContent = paused ? 'Resume' : 'Pause';
    ui.pause.setAttribute('aria-pressed', String(paused));
    if (!paused) notShown = 0;
    updateCounters();
  });

  drawChart();
  connect();
})();
