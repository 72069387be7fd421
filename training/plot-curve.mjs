// Draws the training curve (training loss, smoothed, and validation PSNR on Kodak 21–24 at σ 25, EMA weights) from the
// JSONL log as an SVG: `node training/plot-curve.mjs [--log training/logs/train-default.jsonl] [--out FILE.svg]`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonl, lastPerStep } from './jsonl.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const logFile = path.resolve(arg('--log', path.join(HERE, 'logs', 'train-default.jsonl')));
const out = path.resolve(arg('--out', path.join(ROOT, 'packages', 'models', 'weights', 'training-curve.svg')));
const recs = jsonl(logFile);
// A resumed run may repeat steps after its last checkpoint: keep the last record of each step.
const byStep = (kind) => lastPerStep(recs, kind);
const train = byStep('train');
const val = byStep('validation').filter((v) => v.step > 0);
// Smoothed loss: mean over windows of 200 steps.
const bins = new Map();
for (const r of train) {
  const b = Math.floor((r.step - 1) / 200);
  const e = bins.get(b) ?? { n: 0, loss: 0, lr: 0, step: 0 };
  e.n++;
  e.loss += r.loss;
  e.lr = r.lr;
  e.step = r.step;
  bins.set(b, e);
}
const loss = [...bins.values()].map((e) => ({ step: e.step, loss: e.loss / e.n, lr: e.lr }));
const W = 760,
  H = 300,
  L = 64,
  R = 64,
  T = 36,
  B = 44;
const maxStep = Math.max(...train.map((r) => r.step), 1);
const x = (s) => L + ((W - L - R) * s) / maxStep;
const lmin = Math.min(...loss.map((p) => p.loss)),
  lmax = Math.max(...loss.map((p) => p.loss));
const lo = Math.log(lmin * 0.95),
  hi = Math.log(lmax * 1.05);
const yl = (v) => T + ((H - T - B) * (hi - Math.log(v))) / (hi - lo);
const pmin = Math.floor(Math.min(...val.map((v) => v.psnr), 30) - 0.5),
  pmax = Math.ceil(Math.max(...val.map((v) => v.psnr), 20) + 0.5);
const yp = (v) => T + ((H - T - B) * (pmax - v)) / (pmax - pmin);
const path_ = (pts) => pts.map(([a, b], i) => `${i ? 'L' : 'M'}${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
const niceTicks = (max) => {
  const raw = max / 6;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((v) => v >= raw);
  return Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => i * step);
};
const ticks = (n, a, b) => Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">compact/default training: loss (left, log) and validation PSNR (right)</text>`,
  `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`,
  ...niceTicks(maxStep).map(
    (s) =>
      `<line x1="${x(s).toFixed(1)}" x2="${x(s).toFixed(1)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${x(s).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${s >= 1000 ? `${s / 1000}k` : s}</text>`,
  ),
  `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">optimizer step</text>`,
  ...ticks(4, lo, hi).map(
    (v) => `<text x="${L - 6}" y="${(yl(Math.exp(v)) + 4).toFixed(1)}" text-anchor="end" fill="#1f77b4">${Math.exp(v).toFixed(4)}</text>`,
  ),
  ...ticks(4, pmin, pmax).map((v) => `<text x="${W - R + 6}" y="${(yp(v) + 4).toFixed(1)}" fill="#d62728">${v.toFixed(1)}</text>`),
  `<text transform="translate(14 ${H / 2}) rotate(-90)" text-anchor="middle" fill="#1f77b4">Charbonnier loss (200-step mean)</text>`,
  `<text transform="translate(${W - 12} ${H / 2}) rotate(90)" text-anchor="middle" fill="#d62728">PSNR dB, Kodak 21–24, σ 25 (EMA)</text>`,
  `<path d="${path_(loss.map((p) => [x(p.step), yl(p.loss)]))}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`,
  `<path d="${path_(val.map((v) => [x(v.step), yp(v.psnr)]))}" fill="none" stroke="#d62728" stroke-width="1.5"/>`,
  ...val.map(
    (v) =>
      `<circle cx="${x(v.step).toFixed(1)}" cy="${yp(v.psnr).toFixed(1)}" r="2.5" fill="#d62728"><title>step ${v.step}: ${v.psnr.toFixed(3)} dB</title></circle>`,
  ),
  '</svg>',
].join('\n');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, svg);
const lastVal = val[val.length - 1];
console.log(
  `wrote ${path.relative(ROOT, out)}: ${train.length} loss points to step ${maxStep}, ${val.length} validations${lastVal ? `, last ${lastVal.psnr.toFixed(3)} dB at step ${lastVal.step}` : ''}`,
);
