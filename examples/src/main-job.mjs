#!/usr/bin/env node
// The README's main job: degrade the bundled Kodak samples (seeded Gaussian noise, σ = 25), restore them with the
// shipped default model (`compact`, trained in JavaScript by this project) on the fastest backend available, write
// clean / degraded / restored PNGs and one side-by-side comparison, and print a PSNR/SSIM table with timings.
// Usage: node examples/src/main-job.mjs [--out DIR] [--sigma 25] [--backend tensorflow|wasm|cpu]
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { countParams } from '@restorekit/core';
import { compactWeightsUrl, createModel } from '@restorekit/models';
import { psnr, ssim } from '@restorekit/metrics';
import { restore, readImage, writeImage } from '@restorekit/runtime/node';
import { Rng, gaussianNoise } from '@restorekit/train';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const { values: args } = parseArgs({
  options: { out: { type: 'string', default: join(repo, 'showcase-out') }, sigma: { type: 'string', default: '25' }, backend: { type: 'string' } },
});
const sigma = Number(args.sigma);
if (!(sigma >= 0 && sigma <= 100)) throw new Error(`--sigma must be a number in [0, 100], got ${args.sigma}`);

/** The fastest backend here: tfjs-node's `tensorflow` when it is installed (scripts/tfjs-node.sh builds it), else wasm. */
async function pickBackend(wanted) {
  const tfjsNode = process.env.RESTOREKIT_TFJS_NODE ?? join(repo, '.tfjs-node', 'node_modules', '@tensorflow', 'tfjs-node');
  if ((wanted === undefined || wanted === 'tensorflow') && existsSync(join(repo, '.tfjs-node', 'ok'))) {
    try {
      await import(pathToFileURL(join(tfjsNode, 'dist', 'index.js')).href);
      if (await tf.setBackend('tensorflow')) return 'tensorflow';
    } catch (e) {
      if (wanted === 'tensorflow') throw e;
    }
  }
  if (wanted === 'tensorflow') throw new Error('--backend tensorflow: tfjs-node is not installed (bash scripts/tfjs-node.sh builds it)');
  const name = wanted ?? 'wasm';
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  return name;
}

/** `images` side by side with a 8-pixel white gap (same height, RGB 8-bit). */
function sideBySide(images) {
  const gap = 8;
  const height = images[0].height;
  const width = images.reduce((w, im) => w + im.width, 0) + gap * (images.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let x0 = 0;
  for (const im of images) {
    for (let y = 0; y < height; y++) data.set(im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3), (y * width + x0) * 3);
    x0 += im.width + gap;
  }
  return { data, width, height, channels: 3 };
}

const toFloat = (im) => Float32Array.from(im.data, (v) => v / 255);
const to8 = (data, like) => ({
  data: Uint8Array.from(data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)),
  width: like.width,
  height: like.height,
  channels: 3,
});
const hwc = (im) => ({ data: im.data, shape: [im.height, im.width, im.channels] });

const backend = await pickBackend(args.backend);
await tf.ready();
const t0 = performance.now();
const model = await createModel('compact', { weights: compactWeightsUrl() });
const loadMs = performance.now() - t0;
console.log(
  `model: compact (default preset, ${countParams(model).toLocaleString('en')} parameters, shipped weights) on the '${backend}' backend; σ = ${sigma}`,
);
mkdirSync(args.out, { recursive: true });
const samples = join(here, '..', 'samples');
const rows = [];
const noise = gaussianNoise({ sigma: sigma / 255 });
for (const [i, file] of readdirSync(samples)
  .filter((f) => f.endsWith('.png'))
  .sort()
  .entries()) {
  const clean = await readImage(join(samples, file));
  if (clean.channels !== 3) throw new Error(`${file}: expected an RGB image, got ${clean.channels} channels`);
  // Seeded noise on [0, 1] values, then rounded to 8 bits like a saved noisy photo (BasicSR's protocol).
  const noisy = to8(noise({ data: toFloat(clean), shape: [clean.height, clean.width, 3] }, new Rng(1000 + i)).image.data, clean);
  const start = performance.now();
  const restored = await restore(model, noisy, { tileSize: 256, overlap: 32 });
  const ms = performance.now() - start;
  const base = file.replace(/\.png$/, '');
  await writeImage(join(args.out, `${base}-clean.png`), clean);
  await writeImage(join(args.out, `${base}-noisy.png`), noisy);
  await writeImage(join(args.out, `${base}-restored.png`), restored);
  if (i === 0) await writeImage(join(args.out, 'comparison.png'), sideBySide([clean, noisy, restored]));
  const m = async (im) => [await psnr(hwc(im), hwc(clean), { dataRange: 255 }), await ssim(hwc(im), hwc(clean), { dataRange: 255 })];
  const [pn, sn] = await m(noisy);
  const [pr, sr] = await m(restored);
  rows.push({ file, size: `${clean.width}×${clean.height}`, psnrNoisy: pn, ssimNoisy: sn, psnrRestored: pr, ssimRestored: sr, ms });
}
const f = (v, d) => v.toFixed(d);
console.log(`\n| image | size | noisy PSNR / SSIM | restored PSNR / SSIM | restore time |`);
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.file} | ${r.size} | ${f(r.psnrNoisy, 2)} dB / ${f(r.ssimNoisy, 4)} | ${f(r.psnrRestored, 2)} dB / ${f(r.ssimRestored, 4)} | ${f(r.ms / 1000, 2)} s |`,
  );
const mean = (k) => rows.reduce((s, r) => s + r[k], 0) / rows.length;
console.log(
  `| mean | | ${f(mean('psnrNoisy'), 2)} dB / ${f(mean('ssimNoisy'), 4)} | ${f(mean('psnrRestored'), 2)} dB / ${f(mean('ssimRestored'), 4)} | ${f(mean('ms') / 1000, 2)} s |`,
);
console.log(`\nmodel load ${f(loadMs / 1000, 2)} s; outputs in ${args.out} (comparison.png: clean | noisy | restored)`);
model.dispose();
if (!(mean('psnrRestored') > mean('psnrNoisy'))) {
  console.error('the restored images are not closer to the clean ones than the noisy inputs');
  process.exit(1);
}
