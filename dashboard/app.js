// instructue dashboard: follows the coordinator's /ws status socket (src/control/server.ts) and
// redraws the summary, the loss / learning-rate / throughput charts, the workers and the
// checkpoints. Reconnects with backoff; when the socket is refused, asks /api/status why so it
// can tell a missing token from a stopped coordinator. Data is only ever set as text (no HTML).
import { renderLineChart } from './chart.js';

const TOKEN_KEY = 'instructue-token';
/** Charts keep at most this many points (older ones are thinned), so long runs stay fast. */
const MAX_POINTS = 1500;
const LOSS_SERIES = [
  { key: 'loss_lm', label: 'L_lm (next token)', color: '#2b6cb0' },
  { key: 'loss_cl', label: 'L_cl (contrastive)', color: '#dd6b20' },
  { key: 'loss', label: 'total', color: '#2f855a' },
];

const state = { status: null, history: [], retryMs: 500, renderQueued: false };
const token = readToken();
const $ = (id) => document.getElementById(id);

/** Takes `#token=…` from the address (then hides it), else the one this tab saw before. */
function readToken() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (match) {
    const t = decodeURIComponent(match[1]);
    sessionStorage.setItem(TOKEN_KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
    return t;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const ws = new WebSocket(`${proto}//${location.host}/ws${query}`);
  setConn('connecting', 'connecting…');
  ws.onopen = () => {
    state.retryMs = 500;
    setConn('live', 'live');
    showNotice(null);
  };
  ws.onmessage = (event) => onMessage(JSON.parse(event.data));
  ws.onclose = () => {
    const wait = state.retryMs;
    state.retryMs = Math.min(10_000, state.retryMs * 2);
    setConn('offline', `disconnected, retrying in ${Math.round(wait / 1000) || 1} s`);
    void explainClose();
    setTimeout(connect, wait);
  };
}

/** The browser hides why a ws upgrade failed; the HTTP API tells a 401 from a dead server. */
async function explainClose() {
  try {
    const res = await fetch('/api/status', { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (res.status === 401) showNotice(`This job needs its control token: open this page as ${location.origin}/#token=<token> (the coordinator's INSTRUCTUE_TOKEN).`);
  } catch {
    const ended = state.status && ['done', 'stopped', 'failed'].includes(state.status.state);
    showNotice(ended ? 'The job has ended and its coordinator is gone.' : 'The coordinator is not reachable; retrying…');
  }
}

function onMessage(m) {
  if (m.type === 'hello') {
    state.status = m.status;
    state.history = [];
    for (const line of m.history) addLine(line);
  } else if (m.type === 'status') {
    state.status = m.status;
  } else if (m.type === 'metrics') {
    addLine(m.line);
    if (state.status) state.status.last = m.line;
  } else if (m.type === 'checkpoint' && state.status) {
    const list = state.status.checkpoints.filter((c) => c.step !== m.checkpoint.step);
    state.status.checkpoints = [...list, m.checkpoint];
  } else if (m.type === 'reply') {
    showNotice(m.reply.message);
  }
  queueRender();
}

/** A step at or before the newest one means the job rolled back (lost worker, resume): drop the replaced tail. */
function addLine(line) {
  const h = state.history;
  while (h.length && h[h.length - 1].step >= line.step) h.pop();
  h.push(line);
}

function queueRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  setTimeout(() => {
    state.renderQueued = false;
    render();
  }, 100);
}

function render() {
  const s = state.status;
  if (!s) return;
  document.title = `instructue · ${s.job} · ${s.state} · step ${s.step}`;
  $('job').textContent = s.job;
  $('state').textContent = s.state;
  $('state').className = `badge state-${s.state}`;
  const last = s.last ?? {};
  $('step').textContent = `${s.step} / ${s.totalSteps}`;
  $('progress-bar').style.width = `${s.totalSteps ? Math.min(100, (100 * s.step) / s.totalSteps) : 0}%`;
  $('loss-lm').textContent = fixed(last.loss_lm);
  $('loss-cl').textContent = fixed(last.loss_cl);
  $('loss-total').textContent = fixed(last.loss);
  $('lr').textContent = last.lr == null ? '–' : last.lr.toExponential(2);
  $('tps').textContent = last.tokens_per_s == null ? '–' : Math.round(last.tokens_per_s).toLocaleString('en-US');
  const active = s.workers.filter((w) => w.state === 'training' || w.state === 'joining').length;
  $('workers-count').textContent = `${active} / ${s.targetWorkers}`;
  $('epoch').textContent = String(s.epoch);
  $('elapsed').textContent = duration(Date.now() - Date.parse(s.startedAt));
  $('reason').hidden = !s.reason;
  $('reason').textContent = s.reason ?? '';
  renderCharts();
  renderWorkers(s.workers);
  renderCheckpoints(s.checkpoints);
}

function renderCharts() {
  const lines = thin(state.history);
  const series = (key) => lines.map((l) => [l.step, l[key]]);
  renderLineChart($('chart-loss'), LOSS_SERIES.map((d) => ({ ...d, points: series(d.key) })), { width: 1140, height: 300 });
  renderLineChart($('chart-lr'), [{ key: 'lr', label: 'learning rate', color: '#6b46c1', points: series('lr') }], { zeroBased: true });
  renderLineChart($('chart-tps'), [{ key: 'tokens_per_s', label: 'tokens/s', color: '#2c7a7b', points: series('tokens_per_s') }], { zeroBased: true });
  const legend = $('loss-legend');
  if (!legend.childElementCount) {
    for (const d of LOSS_SERIES) {
      const item = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = d.color;
      item.append(swatch, d.label);
      legend.append(item);
    }
  }
}

/** Every k-th line (and always the newest) once the history passes MAX_POINTS. */
function thin(lines) {
  if (lines.length <= MAX_POINTS) return lines;
  const k = Math.ceil(lines.length / MAX_POINTS);
  return lines.filter((_, i) => i % k === 0 || i === lines.length - 1);
}

function renderWorkers(workers) {
  const rows = [...workers].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9) || a.id.localeCompare(b.id)).map((w) => {
    const split = document.createElement('div');
    split.className = 'split';
    const total = w.computeMs + w.waitMs;
    for (const [cls, ms] of [['compute', w.computeMs], ['wait', w.waitMs]]) {
      const part = document.createElement('div');
      part.className = cls;
      part.style.width = `${total > 0 ? (100 * ms) / total : 0}%`;
      split.append(part);
    }
    return row([
      w.id, w.rank ?? '–', { text: w.state, cls: `wstate-${w.state}` }, { text: w.step, cls: 'num' },
      { text: Math.round(w.computeMs), cls: 'num' }, { text: Math.round(w.waitMs), cls: 'num' }, { node: split },
      w.backend, `${w.host}:${w.pid}`, `${duration(Date.now() - w.lastSeen)} ago`,
    ], { worker: w.id });
  });
  fill($('workers'), rows, 10, 'no workers yet');
}

function renderCheckpoints(checkpoints) {
  const rows = [...checkpoints].sort((a, b) => b.step - a.step).map((c) => row([{ text: c.step, cls: 'num' }, c.savedAt, c.path]));
  fill($('checkpoints'), rows, 3, 'no checkpoint yet');
}

/** A <tr> from cells: plain values, {text, cls} or {node}. */
function row(cells, data = {}) {
  const tr = document.createElement('tr');
  Object.assign(tr.dataset, data);
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell && typeof cell === 'object' && 'node' in cell) td.append(cell.node);
    else if (cell && typeof cell === 'object') {
      td.textContent = String(cell.text);
      td.className = cell.cls;
    } else td.textContent = String(cell);
    tr.append(td);
  }
  return tr;
}

function fill(table, rows, columns, emptyText) {
  const body = table.tBodies[0];
  if (rows.length) return body.replaceChildren(...rows);
  const td = document.createElement('td');
  td.colSpan = columns;
  td.className = 'empty';
  td.textContent = emptyText;
  const tr = document.createElement('tr');
  tr.append(td);
  body.replaceChildren(tr);
}

function setConn(kind, text) {
  $('conn').dataset.conn = kind;
  $('conn').textContent = text;
}

function showNotice(text) {
  $('notice').hidden = !text;
  $('notice').textContent = text ?? '';
}

function fixed(v) {
  return v == null ? '–' : v.toFixed(4);
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

connect();
setInterval(queueRender, 1000); // keeps "running for" and "last seen" current between events
