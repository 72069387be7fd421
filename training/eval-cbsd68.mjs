// PSNR / SSIM of the compact model on CBSD68 at σ = 15, 25, 50, next to the noisy input and two classical baselines.
//
//   node training/eval-cbsd68.mjs [--weights packages/models/weights/compact-default.safetensors | --ckpt FILE]
//                                 [--limit N] [--out training/eval/NAME]
//
// Default weights: the EMA weights of training/checkpoints/best.safetensors. Writes NAME.json and NAME.md.
//
// Protocol (the SwinIR / Restormer Gaussian colour denoising test scripts, which BasicSR-based papers follow):
// - clean image: the 8-bit PNG as float in [0, 1], RGB;
// - noisy input: clean + σ/255·N(0, 1), float32, NOT clipped and NOT rounded to 8 bits (as `img_gt + np.random.normal(0,
//   sigma/255, shape)`); the noise is seeded per image with the project's Rng (`Rng.forName(seed, file name)`, --seed,
//   default 0: what `restorekit eval --degrade noise:σ --float` draws), so every method sees the same noisy images and
//   the compact rows equal the CLI's numbers;
// - output: clamped to [0, 1] and rounded to 8 bits (BasicSR `tensor2img`), then PSNR and SSIM (@restorekit/metrics:
//   BasicSR `calculate_psnr` / `calculate_ssim`, Gaussian 11×11 window) on all three RGB channels, no border crop;
// - the "noisy" row is the noisy input put through the same clamp + 8-bit rounding (so it is what a viewer sees).
// Baselines (classical, both told the true σ): a Gaussian blur and MATLAB-style wiener2 (local adaptive Wiener, Lee
// 1980) per channel, whose one parameter (blur σ, window size) is chosen per noise level on Kodak 21–24 — the held-out
// part of the TRAINING data — never on CBSD68.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DATASETS, HERE, ROOT, addNoise, listPng, makeModel, pickBackend, readImage, rk, valFiles } from './common.mjs';

const args = process.argv.slice(2);
const arg = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const SIGMAS = arg('--sigmas', '15,25,50').split(',').map(Number);
const LIMIT = Number(arg('--limit', '0'));
const t0 = Date.now();
const { backend } = await pickBackend();

// ---- the model and its weights ----
let source;
let sd;
if (arg('--weights')) {
  source = path.resolve(arg('--weights'));
  sd = rk.core.parseSafetensors(new Uint8Array(fs.readFileSync(source)), source).tensors;
} else {
  source = path.resolve(arg('--ckpt', path.join(HERE, 'checkpoints', 'best.safetensors')));
  const ckpt = rk.train.decodeCheckpoint(new Uint8Array(fs.readFileSync(source)), source);
  sd = rk.core.parseSafetensors(ckpt.ema ?? ckpt.weights, source).tensors;
  source += ` (EMA weights, step ${ckpt.step})`;
}
const model = makeModel('default');
await rk.loadModelWeights(model, sd);

// ---- helpers ----
const q8 = (t) => tf.tidy(() => tf.round(tf.mul(tf.clipByValue(t, 0, 1), 255)));
async function measure(out, clean255, withSsim = true) {
  const q = q8(out);
  const data = await q.data();
  q.dispose();
  const img = { data, shape: clean255.shape };
  const o = { dataRange: 255 };
  return { psnr: await rk.metrics.psnr(img, clean255, o), ssim: withSsim ? await rk.metrics.ssim(img, clean255, o) : NaN };
}
function gaussianBlur(x, s) {
  return tf.tidy(() => {
    const r = Math.max(1, Math.ceil(3 * s));
    const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * s * s)));
    const sum = k.reduce((a, b) => a + b, 0);
    const kk = k.map((v) => v / sum);
    const c = x.shape[3];
    const kh = tf.tile(tf.reshape(tf.tensor1d(kk), [2 * r + 1, 1, 1, 1]), [1, 1, c, 1]);
    const kw = tf.tile(tf.reshape(tf.tensor1d(kk), [1, 2 * r + 1, 1, 1]), [1, 1, c, 1]);
    const p = tf.mirrorPad(
      x,
      [
        [0, 0],
        [r, r],
        [r, r],
        [0, 0],
      ],
      'symmetric',
    );
    return tf.depthwiseConv2d(tf.depthwiseConv2d(p, kh, 1, 'valid'), kw, 1, 'valid');
  });
}
function boxMean(x, n) {
  const r = (n - 1) / 2;
  const c = x.shape[3];
  const k = tf.fill([n, n, c, 1], 1 / (n * n));
  const y = tf.depthwiseConv2d(
    tf.mirrorPad(
      x,
      [
        [0, 0],
        [r, r],
        [r, r],
        [0, 0],
      ],
      'symmetric',
    ),
    k,
    1,
    'valid',
  );
  k.dispose();
  return y;
}
/** wiener2(x, [n n], σ²) per channel: μ + max(v − σ², 0)/max(v, σ²)·(x − μ), local mean/variance over n×n. */
function wiener2(x, n, sigma) {
  return tf.tidy(() => {
    const mu = boxMean(x, n);
    const v = tf.sub(boxMean(tf.square(x), n), tf.square(mu));
    const s2 = (sigma / 255) ** 2;
    const gain = tf.div(tf.relu(tf.sub(v, s2)), tf.maximum(v, s2));
    return tf.add(mu, tf.mul(gain, tf.sub(x, mu)));
  });
}
const baselines = {
  gaussian: {
    label: 'Gaussian blur (σ_blur tuned on Kodak 21–24)',
    grid: [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.6, 1.8, 2.0, 2.3],
    run: gaussianBlur,
    param: 'sigmaBlur',
  },
  wiener2: {
    label: 'wiener2, adaptive local Wiener (window tuned on Kodak 21–24)',
    grid: [3, 5, 7, 9, 11],
    run: (x, n, sigma) => wiener2(x, n, sigma),
    param: 'window',
  },
};

// ---- tune each baseline's parameter per σ on Kodak 21–24 (held-out training data) ----
const kodakVal = [];
for (const f of valFiles()) kodakVal.push(await readImage(f));
const tuned = {};
for (const [name, b] of Object.entries(baselines)) {
  tuned[name] = {};
  for (const sigma of SIGMAS) {
    let bestP = null;
    let bestPsnr = -Infinity;
    for (const p of b.grid) {
      let s = 0;
      for (const [i, img] of kodakVal.entries()) {
        const noisy = addNoise(img, sigma, 7_000_000 + 1000 * sigma + i);
        const x = tf.tensor4d(noisy.data, [1, ...img.shape]);
        const y = b.run(x, p, sigma);
        s += (await measure(y, { data: img.data.map((v) => Math.round(v * 255)), shape: img.shape }, false)).psnr;
        tf.dispose([x, y]);
      }
      if (s / kodakVal.length > bestPsnr) [bestPsnr, bestP] = [s / kodakVal.length, p];
    }
    tuned[name][sigma] = bestP;
  }
}
console.log('baseline parameters (tuned on Kodak 21–24):', JSON.stringify(tuned));

// ---- CBSD68 ----
let files = listPng(path.join(DATASETS, 'cbsd68'));
if (LIMIT) files = files.slice(0, LIMIT);
const methods = ['noisy', 'gaussian', 'wiener2', 'compact'];
const perImage = [];
const sums = Object.fromEntries(SIGMAS.map((s) => [s, Object.fromEntries(methods.map((m) => [m, { psnr: 0, ssim: 0 }]))]));
let modelMs = 0;
// Exactly what `restorekit eval <cbsd68> --degrade noise:σ --float --model compact` computes (see the model card): the
// clean PNG through the runtime's convertDepth, the noise of @restorekit/train's gaussianNoise from Rng.forName(SEED,
// file name), the model through the runtime's restore (one 512 tile: the CLI's default), 8-bit rounding by convertDepth.
const SEED = Number(arg('--seed', '0'));
const { convertDepth, restore: restoreTiled } = rk.runtime;
for (const [i, f] of files.entries()) {
  const img = await readImage(f);
  const clean255 = { data: img.data.map((v) => Math.round(v * 255)), shape: img.shape };
  const clean = { data: convertDepth(Uint8Array.from(clean255.data), 32), shape: img.shape };
  const [h, w] = img.shape;
  const score8 = async (u8) => {
    const o = { dataRange: 255 };
    const im = { data: u8, shape: img.shape };
    return { psnr: await rk.metrics.psnr(im, clean255, o), ssim: await rk.metrics.ssim(im, clean255, o) };
  };
  for (const sigma of SIGMAS) {
    const noisy = rk.train.gaussianNoise({ sigma: sigma / 255 })(clean, rk.train.Rng.forName(SEED, path.basename(f))).image;
    const x = tf.tensor4d(noisy.data, [1, ...img.shape]);
    const row = { image: path.basename(f), sigma };
    row.noisy = await score8(convertDepth(noisy.data, 8));
    for (const b of ['gaussian', 'wiener2']) {
      const y = baselines[b].run(x, tuned[b][sigma], sigma);
      row[b] = await measure(y, clean255);
      y.dispose();
    }
    const tm = performance.now();
    const out = await restoreTiled(model, { data: noisy.data, width: w, height: h, channels: 3 }, { tileSize: 512, overlap: 32 });
    modelMs += performance.now() - tm;
    row.compact = await score8(convertDepth(out.data, 8));
    tf.dispose([x]);
    for (const m of methods) {
      sums[sigma][m].psnr += row[m].psnr;
      sums[sigma][m].ssim += row[m].ssim;
    }
    perImage.push(row);
  }
  if ((i + 1) % 10 === 0) console.log(`${i + 1}/${files.length} images`);
}
const n = files.length;
const mean = Object.fromEntries(SIGMAS.map((s) => [s, Object.fromEntries(methods.map((m) => [m, { psnr: sums[s][m].psnr / n, ssim: sums[s][m].ssim / n }]))]));

// ---- report ----
const outBase = path.resolve(arg('--out', path.join(HERE, 'eval', 'cbsd68')));
fs.mkdirSync(path.dirname(outBase), { recursive: true });
const command =
  `${process.env.RESTOREKIT_BACKEND ? `RESTOREKIT_BACKEND=${process.env.RESTOREKIT_BACKEND} ` : ''}node ${path.relative(ROOT, process.argv[1])} ${args.join(' ')}`.trim();
const result = {
  dataset: `CBSD68 (${n} images${LIMIT ? `, first ${LIMIT} only` : ''})`,
  weights: path.relative(ROOT, source.split(' (')[0]) + (source.includes(' (') ? ` (${source.split(' (')[1]}` : ''),
  backend,
  protocol: `clean PNG /255 RGB; noisy = clean + σ/255·N(0,1) float32, no clip, no rounding, noise from Rng.forName(${SEED}, file name); the model on the whole image (the runtime's restore, one 512 tile); outputs clamped to [0,1] and rounded to 8 bits; BasicSR PSNR / SSIM on RGB, no border crop — the same numbers as \`restorekit eval <cbsd68> --degrade noise:σ --float --seed ${SEED} --model compact\``,
  baselines: Object.fromEntries(Object.entries(baselines).map(([k, b]) => [k, { label: b.label, [b.param]: tuned[k] }])),
  mean,
  modelSecondsPerImage: modelMs / 1000 / (n * SIGMAS.length),
  command,
  date: new Date().toISOString(),
  seconds: (Date.now() - t0) / 1000,
  perImage,
};
fs.writeFileSync(`${outBase}.json`, JSON.stringify(result, null, 1));
const fmt = (v) => `${v.psnr.toFixed(2)} / ${v.ssim.toFixed(4)}`;
const labels = { noisy: 'noisy input', gaussian: baselines.gaussian.label, wiener2: baselines.wiener2.label, compact: '**compact `default`**' };
const md = [
  `PSNR (dB) / SSIM on ${result.dataset}, RGB, σ = ${SIGMAS.join(', ')} (weights: \`${result.weights}\`, backend ${backend}).`,
  '',
  `| method | ${SIGMAS.map((s) => `σ = ${s}`).join(' | ')} |`,
  `|---|${SIGMAS.map(() => '---').join('|')}|`,
  ...methods.map((m) => `| ${labels[m]} | ${SIGMAS.map((s) => fmt(mean[s][m])).join(' | ')} |`),
  '',
  `Baseline parameters (tuned per σ on Kodak 21–24): Gaussian σ_blur ${SIGMAS.map((s) => `${tuned.gaussian[s]} (σ ${s})`).join(', ')}; wiener2 window ${SIGMAS.map((s) => `${tuned.wiener2[s]}×${tuned.wiener2[s]} (σ ${s})`).join(', ')}.`,
  `Protocol: ${result.protocol}.`,
  `Reproduce: \`${command}\``,
  '',
].join('\n');
fs.writeFileSync(`${outBase}.md`, md);
console.log(md);
console.log(`wrote ${path.relative(ROOT, outBase)}.json and .md in ${result.seconds.toFixed(0)} s`);
process.exit(0);
