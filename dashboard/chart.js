// instructue dashboard: line charts drawn by hand as SVG (no chart library, so the page works
// offline and needs no build step). One function: renderLineChart(svg, series, options).

const NS = 'http://www.w3.org/2000/svg';
const PAD = { left: 58, right: 12, top: 10, bottom: 26 };

/** Creates an SVG element with attributes. */
function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi], as close to `count` of them as the steps allow. */
export function niceTicks(lo, hi, count) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const power = 10 ** Math.floor(Math.log10(span / Math.max(1, count)));
  const ticksOf = (step) => {
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    return ticks;
  };
  // Candidates from fine to coarse; the closest count wins, the coarser one on a tie.
  const candidates = [0.5, 1, 2, 5, 10, 20].map((m) => ticksOf(m * power)).filter((t) => t.length >= 2);
  return candidates.reduce((best, t) => (Math.abs(t.length - count) <= Math.abs(best.length - count) ? t : best), candidates[0] ?? [lo]);
}

/** Short tick label: 3 significant digits, exponent form for very small or large values. */
export function formatTick(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/**
 * Draws `series` ([{key, label, color, points: [[x, y], ...]}]) into `svg`, replacing what was
 * there. Options: width/height (viewBox), zeroBased (y axis from 0), empty (placeholder text). Non-finite y values are skipped. Each line is a <path data-series=KEY data-points=N>
 * (the test and screen readers read these), with a dot on its newest point.
 */
export function renderLineChart(svg, series, options = {}) {
  // The viewBox is in CSS pixels at the chart's usual width, so labels keep their size.
  const W = options.width ?? 560;
  const H = options.height ?? 220;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const clean = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const all = clean.flatMap((s) => s.points);
  if (all.length === 0) {
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, options.empty ?? 'waiting for the first step…'));
    return;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (options.zeroBased) y0 = Math.min(0, y0);
  if (x1 === x0) x1 = x0 + 1;
  const pad = y1 === y0 ? Math.abs(y0) * 0.1 || 1 : (y1 - y0) * 0.06;
  y0 -= options.zeroBased && y0 === 0 ? 0 : pad;
  y1 += pad;
  const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y) => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);

  const grid = el('g', { class: 'grid' });
  for (const t of niceTicks(y0, y1, 4)) {
    grid.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: sy(t), y2: sy(t) }));
    grid.append(el('text', { x: PAD.left - 6, y: sy(t) + 4, 'text-anchor': 'end' }, formatTick(t)));
  }
  for (const t of niceTicks(x0, x1, 6).filter((t) => Number.isInteger(t))) {
    grid.append(el('text', { x: sx(t), y: H - 8, 'text-anchor': 'middle' }, formatTick(t)));
  }
  grid.append(el('line', { class: 'axis', x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom }));
  grid.append(el('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom }));
  svg.append(grid);

  for (const s of clean) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    const path = el('path', { d, stroke: s.color, class: 'line', 'data-series': s.key, 'data-points': s.points.length });
    path.append(el('title', {}, s.label));
    svg.append(path);
    const [lx, ly] = s.points[s.points.length - 1];
    const dot = el('circle', { cx: sx(lx), cy: sy(ly), r: 3, fill: s.color, class: 'last' });
    dot.append(el('title', {}, `${s.label} at step ${lx}: ${ly}`));
    svg.append(dot);
  }
}
