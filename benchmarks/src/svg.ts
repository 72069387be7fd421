/**
 * A small self-contained SVG chart writer (no dependencies, no browser): line charts with linear or log axes, and
 * grouped horizontal bar charts, laid out as panels of one document. Output is deterministic text (same data, same
 * bytes), so the charts can be committed and diffed.
 */

export interface Point {
  x: number;
  y: number;
  label?: string;
}
export interface Series {
  name: string;
  points: Point[];
  color: string;
  dashed?: boolean;
  /** Markers only, no line. */
  markersOnly?: boolean;
}
export interface Axis {
  label: string;
  log?: boolean;
  /** Tick values (default: 1-2-5 steps for log axes, 5 steps for linear ones). */
  ticks?: number[];
  format?: (v: number) => string;
  min?: number;
  max?: number;
}
export interface LinePanel {
  kind: 'line';
  title: string;
  x: Axis;
  y: Axis;
  series: Series[];
}
export interface BarGroup {
  label: string;
  bars: { name: string; value: number | null; color: string; text?: string }[];
}
export interface BarPanel {
  kind: 'bar';
  title: string;
  axis: Axis;
  groups: BarGroup[];
}
export type Panel = LinePanel | BarPanel;

const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (v: number) => Math.round(v * 10) / 10;

export function fmtNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  if (a >= 1) return `${+v.toPrecision(3)}`;
  return `${+v.toPrecision(2)}`;
}

function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) out.push(+v.toPrecision(3));
    }
  // too many: keep powers of ten only
  return out.length > 9 ? out.filter((v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9) : out;
}

function linTicks(min: number, max: number): number[] {
  const step0 = (max - min) / 5;
  const p = 10 ** Math.floor(Math.log10(step0 || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(6));
  return out;
}

/** The data range of an axis, padded a little (log axes: to the surrounding 1-2-5 ticks). */
function range(values: number[], axis: Axis): [number, number] {
  const vs = values.filter((v) => Number.isFinite(v) && (!axis.log || v > 0));
  let lo = axis.min ?? (vs.length ? Math.min(...vs) : 1);
  let hi = axis.max ?? (vs.length ? Math.max(...vs) : 10);
  if (axis.log) {
    if (axis.min === undefined) lo = lo / 1.25;
    if (axis.max === undefined) hi = hi * 1.25;
    if (hi / lo < 10) {
      const mid = Math.sqrt(hi * lo);
      lo = Math.min(lo, mid / Math.sqrt(10));
      hi = Math.max(hi, mid * Math.sqrt(10));
    }
  } else {
    if (axis.min === undefined) lo = Math.min(0, lo);
    if (axis.max === undefined) hi = hi === lo ? lo + 1 : hi * 1.08;
  }
  return [lo, hi];
}

function scale(axis: Axis, [lo, hi]: [number, number], from: number, to: number): (v: number) => number {
  if (axis.log) {
    const a = Math.log10(lo);
    const b = Math.log10(hi);
    return (v) => from + ((Math.log10(v) - a) / (b - a)) * (to - from);
  }
  return (v) => from + ((v - lo) / (hi - lo)) * (to - from);
}

function linePanel(p: LinePanel, x0: number, y0: number, w: number, h: number): string {
  const m = { l: 58, r: 12, t: 26, b: 40 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const xs = p.series.flatMap((s) => s.points.map((q) => q.x));
  const ys = p.series.flatMap((s) => s.points.map((q) => q.y));
  const xr = range(xs, p.x);
  const yr = range(ys, p.y);
  const sx = scale(p.x, xr, x0 + m.l, x0 + m.l + pw);
  const sy = scale(p.y, yr, y0 + m.t + ph, y0 + m.t);
  const fx = p.x.format ?? fmtNumber;
  const fy = p.y.format ?? fmtNumber;
  const out: string[] = [];
  out.push(`<text x="${r1(x0 + m.l + pw / 2)}" y="${r1(y0 + 16)}" text-anchor="middle" font-size="13" font-weight="bold" ${FONT}>${esc(p.title)}</text>`);
  out.push(`<rect x="${r1(x0 + m.l)}" y="${r1(y0 + m.t)}" width="${r1(pw)}" height="${r1(ph)}" fill="none" stroke="#888"/>`);
  const xt = (p.x.ticks ?? (p.x.log ? logTicks(...xr) : linTicks(...xr))).filter((v) => v >= xr[0] && v <= xr[1]);
  const yt = (p.y.ticks ?? (p.y.log ? logTicks(...yr) : linTicks(...yr))).filter((v) => v >= yr[0] && v <= yr[1]);
  for (const v of xt) {
    const X = r1(sx(v));
    out.push(`<line x1="${X}" y1="${r1(y0 + m.t)}" x2="${X}" y2="${r1(y0 + m.t + ph)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${X}" y="${r1(y0 + m.t + ph + 14)}" text-anchor="middle" font-size="10" ${FONT}>${esc(fx(v))}</text>`);
  }
  for (const v of yt) {
    const Y = r1(sy(v));
    out.push(`<line x1="${r1(x0 + m.l)}" y1="${Y}" x2="${r1(x0 + m.l + pw)}" y2="${Y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${r1(x0 + m.l - 4)}" y="${r1(Y + 3)}" text-anchor="end" font-size="10" ${FONT}>${esc(fy(v))}</text>`);
  }
  out.push(`<text x="${r1(x0 + m.l + pw / 2)}" y="${r1(y0 + h - 8)}" text-anchor="middle" font-size="11" ${FONT}>${esc(p.x.label)}</text>`);
  out.push(
    `<text transform="translate(${r1(x0 + 13)} ${r1(y0 + m.t + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="11" ${FONT}>${esc(p.y.label)}</text>`,
  );
  for (const s of p.series) {
    const pts = s.points
      .filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y) && (!p.x.log || q.x > 0) && (!p.y.log || q.y > 0))
      .sort((a, b) => a.x - b.x);
    if (!pts.length) continue;
    if (!s.markersOnly && pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.map((q) => `${r1(sx(q.x))},${r1(sy(q.y))}`).join(' ')}"/>`,
      );
    for (const q of pts) {
      const X = r1(sx(q.x));
      const Y = r1(sy(q.y));
      out.push(
        s.dashed || s.markersOnly
          ? `<rect x="${r1(X - 3)}" y="${r1(Y - 3)}" width="6" height="6" fill="white" stroke="${s.color}" stroke-width="1.5"><title>${esc(`${s.name}: ${q.label ?? fy(q.y)}`)}</title></rect>`
          : `<circle cx="${X}" cy="${Y}" r="3" fill="${s.color}"><title>${esc(`${s.name}: ${q.label ?? fy(q.y)}`)}</title></circle>`,
      );
    }
  }
  return out.join('\n');
}

function barPanel(p: BarPanel, x0: number, y0: number, w: number, h: number): string {
  const m = { l: 150, r: 150, t: 26, b: 36 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const values = p.groups.flatMap((g) => g.bars.map((b) => b.value ?? 0));
  const xr = range(values, { ...p.axis, log: false });
  const sx = scale({ ...p.axis, log: false }, xr, x0 + m.l, x0 + m.l + pw);
  const fx = p.axis.format ?? fmtNumber;
  const out: string[] = [];
  out.push(`<text x="${r1(x0 + w / 2)}" y="${r1(y0 + 16)}" text-anchor="middle" font-size="13" font-weight="bold" ${FONT}>${esc(p.title)}</text>`);
  for (const v of p.axis.ticks ?? linTicks(...xr)) {
    if (v < xr[0] || v > xr[1]) continue;
    const X = r1(sx(v));
    out.push(`<line x1="${X}" y1="${r1(y0 + m.t)}" x2="${X}" y2="${r1(y0 + m.t + ph)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${X}" y="${r1(y0 + m.t + ph + 14)}" text-anchor="middle" font-size="10" ${FONT}>${esc(fx(v))}</text>`);
  }
  out.push(`<text x="${r1(x0 + m.l + pw / 2)}" y="${r1(y0 + h - 6)}" text-anchor="middle" font-size="11" ${FONT}>${esc(p.axis.label)}</text>`);
  const nBars = p.groups.reduce((n, g) => n + g.bars.length, 0);
  const gap = 8;
  const bh = Math.max(4, (ph - gap * p.groups.length) / Math.max(nBars, 1));
  let y = y0 + m.t + gap / 2;
  for (const g of p.groups) {
    const gh = bh * g.bars.length;
    out.push(`<text x="${r1(x0 + m.l - 6)}" y="${r1(y + gh / 2 + 4)}" text-anchor="end" font-size="11" ${FONT}>${esc(g.label)}</text>`);
    for (const b of g.bars) {
      if (b.value !== null && Number.isFinite(b.value)) {
        const X1 = sx(Math.max(xr[0], 0));
        out.push(
          `<rect x="${r1(X1)}" y="${r1(y + 1)}" width="${r1(Math.max(1, sx(b.value) - X1))}" height="${r1(bh - 2)}" fill="${b.color}"><title>${esc(`${g.label}, ${b.name}: ${b.text ?? fx(b.value)}`)}</title></rect>`,
        );
        out.push(`<text x="${r1(sx(b.value) + 3)}" y="${r1(y + bh / 2 + 3)}" font-size="9" ${FONT}>${esc(b.text ?? fx(b.value))}</text>`);
      } else {
        out.push(
          `<text x="${r1(x0 + m.l + 3)}" y="${r1(y + bh / 2 + 3)}" font-size="9" fill="#888" ${FONT}>${esc(`${b.name}: ${b.text ?? 'not measured'}`)}</text>`,
        );
      }
      y += bh;
    }
    y += gap;
  }
  out.push(`<line x1="${r1(x0 + m.l)}" y1="${r1(y0 + m.t)}" x2="${r1(x0 + m.l)}" y2="${r1(y0 + m.t + ph)}" stroke="#888"/>`);
  return out.join('\n');
}

export interface ChartDoc {
  title: string;
  subtitle?: string[];
  panels: Panel[];
  columns: number;
  panelWidth: number;
  panelHeight: number;
  /** Legend entries (name → colour, dashed), drawn under the title. */
  legend: { name: string; color: string; dashed?: boolean }[];
}

/** One SVG document: a title, notes, a legend, then the panels in a grid. */
export function chart(doc: ChartDoc): string {
  const rows = Math.ceil(doc.panels.length / doc.columns);
  const width = doc.columns * doc.panelWidth;
  const sub = doc.subtitle ?? [];
  const legendRows = Math.ceil(doc.legend.length / Math.max(1, Math.floor(width / 190)));
  const top = 28 + sub.length * 14 + legendRows * 18 + 6;
  const height = top + rows * doc.panelHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${esc(doc.title)}</text>`,
  ];
  sub.forEach((s, i) => {
    out.push(`<text x="${width / 2}" y="${36 + i * 14}" text-anchor="middle" font-size="11" fill="#444" ${FONT}>${esc(s)}</text>`);
  });
  const perRow = Math.max(1, Math.floor(width / 190));
  doc.legend.forEach((l, i) => {
    const X = 12 + (i % perRow) * 190;
    const Y = 28 + sub.length * 14 + Math.floor(i / perRow) * 18 + 10;
    out.push(`<line x1="${X}" y1="${Y}" x2="${X + 22}" y2="${Y}" stroke="${l.color}" stroke-width="3"${l.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${X + 28}" y="${Y + 4}" font-size="11" ${FONT}>${esc(l.name)}</text>`);
  });
  doc.panels.forEach((p, i) => {
    const x0 = (i % doc.columns) * doc.panelWidth;
    const y0 = top + Math.floor(i / doc.columns) * doc.panelHeight;
    out.push(`<g>`, p.kind === 'line' ? linePanel(p, x0, y0, doc.panelWidth, doc.panelHeight) : barPanel(p, x0, y0, doc.panelWidth, doc.panelHeight), `</g>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
