// The trainer's denoising recipe, small: a tiny residual CNN from restorekit blocks trained for a few dozen AdamW steps
// on BSD400 crops with seeded Gaussian noise (σ = 25), then PSNR on two BSD400 images it never saw (noisy input, the
// untrained net, the trained net). The weights are saved as PyTorch-named safetensors with the net's config.
//   node index.mjs [--steps 50] [--backend cpu|wasm] [--out train-denoiser-out]
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend, Sequential, countParams, exportTorchStateDict, serializeSafetensors } from '@restorekit/core';
import { AdamW, Trainer, PatchSampler, Rng, gaussianNoise, cosineAnnealingRestartCyclicLR } from '@restorekit/train';
import { psnr } from '@restorekit/metrics';
import { readImage } from '@restorekit/runtime/node';

const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const steps = Number(arg('steps', '50'));
const backend = arg('backend', 'wasm');
const out = resolve(arg('out', 'train-denoiser-out'));
const trainCount = Number(arg('images', '48'));
const shared = resolve(process.env.RESTOREKIT_SHARED ?? new URL('../../../shared', import.meta.url).pathname);
const sigma = 25 / 255;
mkdirSync(out, { recursive: true });
await useBackend(backend);
console.log(`backend: ${tf.getBackend()}`);

// Data: BSD400 (grayscale training images). The last two files are held out for evaluation; never cbsd68 / bsd68-gray.
const dir = join(shared, 'datasets/bsd400');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.png'))
  .sort();
const heldOut = files.slice(-2);
const toHost = async (f) => {
  const im = await readImage(join(dir, f));
  if (im.channels !== 1) throw new Error(`${f}: expected a grayscale PNG`);
  return { data: Float32Array.from(im.data, (v) => v / 255), shape: [im.height, im.width, 1] };
};
const train = await Promise.all(files.slice(0, trainCount).map(async (f) => ({ gt: await toHost(f) })));
console.log(`train: ${train.length} BSD400 images (${files[0]} … ${files[trainCount - 1]}), held out: ${heldOut.join(', ')}`);

// The net (config is data: the browser demo rebuilds it from denoiser.json): a 4-layer residual CNN.
export const config = {
  name: 'body',
  layers: [
    { type: 'Conv2d', inChannels: 1, outChannels: 16, kernelSize: 3, padding: 1, seed: 1 },
    { type: 'GELU' },
    { type: 'Conv2d', inChannels: 16, outChannels: 16, kernelSize: 3, padding: 1, seed: 2 },
    { type: 'GELU' },
    { type: 'Conv2d', inChannels: 16, outChannels: 16, kernelSize: 3, padding: 1, seed: 3 },
    { type: 'GELU' },
    { type: 'Conv2d', inChannels: 16, outChannels: 1, kernelSize: 3, padding: 1, seed: 4 },
  ],
};
const body = new Sequential(config);
const x = tfl.input({ shape: [null, null, 1] });
const model = tfl.model({ inputs: x, outputs: tfl.layers.add().apply([x, body.apply(x)]) }); // predicts the noise residual
console.log(`net: ${countParams(body)} parameters`);

// Evaluation images: seeded noise, the same for every run.
const evalSet = await Promise.all(
  heldOut.map(async (f, i) => {
    const gt = await toHost(f);
    const noisy = gaussianNoise({ sigma, clip: true })(gt, new Rng(1000 + i)).image;
    return { name: f, clean: tf.tensor4d(gt.data, [1, ...gt.shape]), noisy: tf.tensor4d(noisy.data, [1, ...noisy.shape]) };
  }),
);
const measure = async () =>
  Promise.all(
    evalSet.map(async (e) => {
      const y = tf.tidy(() => tf.clipByValue(model.predict(e.noisy), 0, 1));
      const [p] = await psnr(y, e.clean);
      y.dispose();
      return p;
    }),
  );
const noisyPsnr = await Promise.all(evalSet.map(async (e) => (await psnr(e.noisy, e.clean))[0]));
const before = await measure();

// Training: BasicSR's paired sampler (random crops, flips, transposes) with σ = 25 noise drawn per patch from its seed.
const sampler = new PatchSampler({ images: train, degrade: gaussianNoise({ sigma, clip: true }), patchSize: 40, batchSize: 8, seed: 1 });
const lr = Number(arg('lr', '5e-3'));
const trainer = new Trainer({
  model,
  data: sampler,
  loss: (pred, gt) => tf.mean(tf.abs(tf.sub(pred, gt))),
  optimizer: new AdamW({ lr, betas: [0.9, 0.999], weightDecay: 1e-4 }),
  schedule: cosineAnnealingRestartCyclicLR({ lr, periods: [steps], restartWeights: [1], etaMins: [lr / 10] }),
  clipGradNorm: 1,
});
const t0 = Date.now();
for (let s = 1; s <= steps; s++) {
  const r = await trainer.step();
  if (s === 1 || s % 10 === 0 || s === steps)
    console.log(`step ${String(r.step).padStart(4)}  L1 ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${((Date.now() - t0) / s).toFixed(0)} ms/step`);
}
const after = await measure();

console.log('\nPSNR (dB) on held-out BSD400, σ = 25');
console.log('image          noisy   untrained   trained');
for (let i = 0; i < evalSet.length; i++)
  console.log(`${evalSet[i].name.padEnd(12)} ${noisyPsnr[i].toFixed(2).padStart(7)} ${before[i].toFixed(2).padStart(11)} ${after[i].toFixed(2).padStart(9)}`);
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
console.log(`${'mean'.padEnd(12)} ${mean(noisyPsnr).toFixed(2).padStart(7)} ${mean(before).toFixed(2).padStart(11)} ${mean(after).toFixed(2).padStart(9)}`);

writeFileSync(join(out, 'denoiser.safetensors'), serializeSafetensors(await exportTorchStateDict(body)));
writeFileSync(join(out, 'denoiser.json'), JSON.stringify({ config, residual: true, trainedOn: 'BSD400 σ=25', steps, heldOutPsnr: mean(after) }, null, 1));
console.log(`\nwrote ${out}/{denoiser.safetensors, denoiser.json}`);
if (!(mean(after) > mean(noisyPsnr))) {
  console.error('FAIL: the trained net does not beat the noisy input');
  process.exit(1);
}
console.log('OK: the trained net beats the noisy input');
