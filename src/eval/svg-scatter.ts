/**
 * @module eval/svg-scatter
 * A dependency-free SVG writer for side-by-side 2-d scatter panels with points coloured by a
 * binary label (the layout of the paper's Fig. 5: universal vs instruction-aware embeddings).
 * Each panel is scaled to its own bounding box; negatives are drawn first so the (usually
 * rarer) positives stay visible; one legend sits under the panels.
 */

/** One panel: n points (x, y interleaved) and a 0/1 label per point. */
export interface ScatterPanel {
  title: string;
  points: ArrayLike<number>;
  labels: ArrayLike<number>;
}

export interface ScatterOptions {
  /** Heading above the panels. */
  title?: string;
  /** Legend names of label 0 and label 1 (default 'label 0', 'label 1'). */
  labelNames?: [string, string];
  /** Side of one square panel in px (default 360). */
  panelSize?: number;
  /** Point radius in px (default 2.5). */
  radius?: number;
}

/** Colour-blind-safe pair (Okabe–Ito blue and vermillion). */
const COLORS = ['#0072B2', '#D55E00'] as const;
const GAP = 24;
const HEADER = 48;
const LEGEND = 40;
const PAD = 12;

/** Escapes text for SVG element content and attribute values. */
function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Maps the panel's points into a size×size box with padding, keeping the aspect ratio. */
function fitToBox(points: ArrayLike<number>, size: number): (x: number, y: number) => [number, number] {
  let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    minX = Math.min(minX, points[i]);
    maxX = Math.max(maxX, points[i]);
    minY = Math.min(minY, points[i + 1]);
    maxY = Math.max(maxY, points[i + 1]);
  }
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const scale = (size - 2 * PAD) / span;
  const offX = PAD + (size - 2 * PAD - (maxX - minX) * scale) / 2;
  const offY = PAD + (size - 2 * PAD - (maxY - minY) * scale) / 2;
  // SVG's y axis points down; flip it so the picture reads like a plot.
  return (x, y) => [offX + (x - minX) * scale, size - (offY + (y - minY) * scale)];
}

function panelSvg(panel: ScatterPanel, left: number, size: number, radius: number): string {
  if (panel.points.length !== 2 * panel.labels.length) {
    throw new RangeError(`scatter panel "${panel.title}": ${panel.points.length / 2} points but ${panel.labels.length} labels`);
  }
  const place = fitToBox(panel.points, size);
  const circles: string[] = [];
  for (const label of [0, 1]) {
    for (let i = 0; i < panel.labels.length; i++) {
      if (panel.labels[i] !== label) continue;
      const [cx, cy] = place(panel.points[2 * i], panel.points[2 * i + 1]);
      circles.push(`<circle cx="${cx.toFixed(2)}" cy="${cy.toFixed(2)}" r="${radius}" fill="${COLORS[label]}" fill-opacity="0.75"/>`);
    }
  }
  return [
    `<g transform="translate(${left},${HEADER})">`,
    `<rect x="0" y="0" width="${size}" height="${size}" fill="white" stroke="#999"/>`,
    `<text x="${size / 2}" y="-8" text-anchor="middle" font-size="14">${escapeXml(panel.title)}</text>`,
    ...circles,
    '</g>',
  ].join('\n');
}

/**
 * Renders the panels side by side as one SVG document.
 * @throws RangeError when a panel's point and label counts differ, or a label is not 0/1.
 */
export function scatterSvg(panels: ScatterPanel[], opts: ScatterOptions = {}): string {
  const size = opts.panelSize ?? 360;
  const radius = opts.radius ?? 2.5;
  const [name0, name1] = opts.labelNames ?? ['label 0', 'label 1'];
  for (const panel of panels) {
    for (let i = 0; i < panel.labels.length; i++) {
      if (panel.labels[i] !== 0 && panel.labels[i] !== 1) throw new RangeError(`scatter panel "${panel.title}": label ${i} is ${panel.labels[i]}; labels must be 0 or 1`);
    }
  }
  const width = panels.length * size + (panels.length + 1) * GAP;
  const height = HEADER + size + LEGEND;
  const legendY = HEADER + size + LEGEND / 2;
  const secondEntry = 50 + 8 * name0.length; // ~8 px per character at 13 px
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(opts.title ?? '')}</text>`,
    ...panels.map((panel, p) => panelSvg(panel, GAP + p * (size + GAP), size, radius)),
    `<g transform="translate(${GAP},${legendY})">`,
    `<circle cx="6" cy="0" r="5" fill="${COLORS[0]}"/>`,
    `<text x="16" y="5" font-size="13">${escapeXml(name0)}</text>`,
    `<circle cx="${secondEntry}" cy="0" r="5" fill="${COLORS[1]}"/>`,
    `<text x="${secondEntry + 10}" y="5" font-size="13">${escapeXml(name1)}</text>`,
    '</g>',
    '</svg>',
    '',
  ].join('\n');
}
