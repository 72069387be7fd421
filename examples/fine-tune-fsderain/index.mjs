// Fine-tune a Restormer with FSDerain's spatial + frequency objective (Kallyelish/2025-DIP-PJ new-dual.py) on a
// synthetic rain batch: rain streaks drawn by a seeded generator over Kodak crops. The FrequencyEncoder of the
// contrastive term trains together with the restorer, as in FSDerain. The loss goes down.
//   node index.mjs [--steps 8] [--backend cpu|wasm] [--weights restormer.pth]
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, countParams } from '@restorekit/core';
import { createModel } from '@restorekit/models';
import { FSDerainLoss, l1Loss, fsderainAmplitudeLoss } from '@restorekit/losses';
import { Rng } from '@restorekit/train';
import { psnr } from '@restorekit/metrics';
import { readImage } from '@restorekit/runtime/node';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const steps = Number(arg('steps', '8'));
const backend = arg('backend', 'wasm');
const shared = resolve(process.env.RESTOREKIT_SHARED ?? new URL('../../../shared', import.meta.url).pathname);
const pth = resolve(arg('weights', join(shared, 'fixtures/pth/restormer_params.pth')));
await useBackend(backend);
console.log(`backend: ${tf.getBackend()}`);

// 1. Clean crops (48×48 from two Kodak images) and seeded synthetic rain: thin slanted streaks, brightened, blurred.
const S = 48;
async function crop(file, x0, y0) {
  const im = await readImage(join(shared, 'datasets/kodak24', file));
  const out = new Float32Array(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = im.data[((y0 + y) * im.width + x0 + x) * 3 + c] / 255;
  return out;
}
/** Rain layer [S, S] in [0, 1]: `count` streaks of random length and brightness at one angle (±jitter), then a 3-tap blur along the streak. */
function rainLayer(rng, { count = 60, angle = 0.35, length = [6, 16], brightness = [0.35, 0.8] } = {}) {
  const r = new Float32Array(S * S);
  for (let i = 0; i < count; i++) {
    const x0 = rng.float() * S,
      y0 = rng.float() * S;
    const len = length[0] + rng.float() * (length[1] - length[0]);
    const a = angle + (rng.float() - 0.5) * 0.1;
    const b = brightness[0] + rng.float() * (brightness[1] - brightness[0]);
    for (let t = 0; t < len; t++) {
      const x = Math.round(x0 + t * Math.sin(a)),
        y = Math.round(y0 + t * Math.cos(a));
      if (x >= 0 && x < S && y >= 0 && y < S) r[y * S + x] = Math.max(r[y * S + x], b);
    }
  }
  const blurred = new Float32Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let s = 0,
        n = 0;
      for (const d of [-1, 0, 1]) {
        const yy = y + d;
        if (yy >= 0 && yy < S) {
          s += r[yy * S + x] * (d === 0 ? 2 : 1);
          n += d === 0 ? 2 : 1;
        }
      }
      blurred[y * S + x] = s / n;
    }
  return blurred;
}
const rng = new Rng(2025);
const cleans = [await crop('kodim03.png', 300, 180), await crop('kodim15.png', 250, 120)];
const rains = cleans.map((c) => {
  const r = rainLayer(rng);
  return c.map((v, i) => Math.min(1, v + r[Math.floor(i / 3)] * (1 - v)));
}); // screen blend
const clean = tf.tensor4d(Float32Array.from(cleans.flatMap((a) => [...a])), [2, S, S, 3]);
const rain = tf.tensor4d(Float32Array.from(rains.flatMap((a) => [...a])), [2, S, S, 3]);
console.log(
  `batch: 2 Kodak crops ${S}×${S} with seeded rain streaks (Rng 2025); rainy input PSNR ${(await psnr(rain, clean)).map((v) => v.toFixed(2)).join(', ')} dB`,
);

// 2. The restorer: Restormer (tiny width, the checkpoint's heads), from an official-layout checkpoint.
const model = await createModel('restormer', { preset: 'tiny', heads: [1, 2, 4, 8], weights: pth });
console.log(`restormer: ${countParams(model)} parameters from ${pth.split('/').pop()}`);

// 3. FSDerain's objective without its VGG term (percep 0: no VGG-16 weights needed):
//    1·L1 + 0.5·(1 − SSIM) + 0.1·(0.1·triplet + InfoNCE on FrequencyEncoder features of masked amplitudes) + 0.05·amplitude L1.
const fsd = new FSDerainLoss({ weights: { l1: 1, ssim: 0.5, percep: 0, contrast: 0.1, fft: 0.05 } });
const optimizer = tf.train.adam(2e-4); // FSDerain's lr
model.apply(rain); // builds the weights
const variables = () => [...model.trainableWeights.map((w) => w.read()), ...fsd.trainableVariables];

const report = async (label) => {
  const [total, l1, amp] = tf.tidy(() => {
    const y = model.apply(rain);
    return [fsd.call(y, clean, { degraded: rain }), l1Loss(y, clean), fsderainAmplitudeLoss(y, clean)];
  });
  const v = { total: (await total.data())[0], l1: (await l1.data())[0], amp: (await amp.data())[0] };
  tf.dispose([total, l1, amp]);
  console.log(`${label}: FSDerain loss ${v.total.toFixed(5)}  (spatial L1 ${v.l1.toFixed(5)}, frequency amplitude L1 ${v.amp.toFixed(5)})`);
  return v;
};
const outPsnr = async () => {
  const y = tf.tidy(() => tf.clipByValue(model.apply(rain), 0, 1));
  const p = await psnr(y, clean);
  y.dispose();
  return p.map((v) => v.toFixed(2)).join(', ');
};
const psnrBefore = await outPsnr();
const before = await report('before');
const losses = [];
for (let s = 1; s <= steps; s++) {
  const t0 = Date.now();
  const cost = optimizer.minimize(() => fsd.call(model.apply(rain, { training: true }), clean, { degraded: rain }), true, variables());
  const v = (await cost.data())[0];
  cost.dispose();
  losses.push(v);
  console.log(`step ${s}  FSDerain loss ${v.toFixed(5)}  ${Date.now() - t0} ms`);
}
const after = await report('after ');
// The test checkpoint is not a trained derainer: its output starts far from the clean image. With an official
// deraining.pth (createModel('restormer', { preset: 'official', weights })) the same loop fine-tunes a real one.
console.log(`output PSNR against the clean crops: ${psnrBefore} dB before, ${await outPsnr()} dB after`);
fsd.dispose();

const ok = losses.every(Number.isFinite) && losses[losses.length - 1] < losses[0] && after.total < before.total;
console.log(ok ? `OK: the loss went down (${losses[0].toFixed(5)} → ${losses[losses.length - 1].toFixed(5)})` : 'FAIL: the loss did not go down');
process.exit(ok ? 0 : 1);
