// restorekit showcase (the README's main job until @restorekit/runtime lands):
// compose a small residual denoiser from restorekit blocks, train it on the wasm backend on BSD400
// crops with synthetic Gaussian noise (sigma 25), evaluate PSNR on BSD68-gray (never trained on), save
// the weights in PyTorch naming as safetensors and the model in tfjs format, and write one restored image.
//   node src/showcase.mjs [--steps 200] [--backend wasm|cpu] [--out showcase-out]
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend, Sequential, exportTorchStateDict, serializeSafetensors, countParams } from '@restorekit/core';
import { readPng, writePng } from './png.mjs';

const arg = (k, d) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const steps = Number(arg('steps', '200'));
const backend = arg('backend', 'wasm');
const out = resolve(arg('out', 'showcase-out'));
const shared = resolve(process.env.RESTOREKIT_SHARED ?? new URL('../../../shared', import.meta.url).pathname);
const sigma = 25 / 255, patch = 48, batch = 8;
mkdirSync(out, { recursive: true });
await useBackend(backend);
console.log(`backend: ${tf.getBackend()}`);

const gray = (p) => { const im = readPng(p); if (im.channels !== 1) throw new Error(`${p}: expected a grayscale PNG`); return im; };
const train = readdirSync(join(shared, 'datasets/bsd400')).filter((f) => f.endsWith('.png')).sort().slice(0, 200).map((f) => gray(join(shared, 'datasets/bsd400', f)));
const evalFiles = readdirSync(join(shared, 'datasets/bsd68-gray')).filter((f) => f.endsWith('.png')).sort().slice(0, 4);

// 1. Compose a net from registered blocks (all JSON: it saves, reloads and round-trips).
const body = new Sequential({ name: 'body', layers: [
  { type: 'Conv2d', inChannels: 1, outChannels: 24, kernelSize: 3, padding: 1 },
  { type: 'LayerNorm2d', channels: 24 },
  { type: 'Conv2d', inChannels: 24, outChannels: 48, kernelSize: 1 },
  { type: 'Conv2d', inChannels: 48, outChannels: 48, kernelSize: 3, padding: 1, groups: 48 },
  { type: 'SimpleGate' },
  { type: 'Conv2d', inChannels: 24, outChannels: 24, kernelSize: 3, padding: 1 },
  { type: 'GELU' },
  { type: 'Conv2d', inChannels: 24, outChannels: 1, kernelSize: 3, padding: 1 },
] });
const input = tfl.input({ shape: [null, null, 1] });
const model = tfl.model({ inputs: input, outputs: tfl.layers.add().apply([input, body.apply(input)]) });
console.log(`model: ${countParams(body)} parameters`);

// 2. Train on random crops (deterministic seed), Adam 1e-3, L1 loss.
let seed = 7;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
function batchOf() {
  const clean = new Float32Array(batch * patch * patch);
  for (let b = 0; b < batch; b++) {
    const im = train[Math.floor(rand() * train.length)];
    const y0 = Math.floor(rand() * (im.height - patch)), x0 = Math.floor(rand() * (im.width - patch));
    for (let y = 0; y < patch; y++) for (let x = 0; x < patch; x++) clean[(b * patch + y) * patch + x] = im.data[(y0 + y) * im.width + x0 + x] / 255;
  }
  return tf.tidy(() => {
    const c = tf.tensor4d(clean, [batch, patch, patch, 1]);
    return { clean: c, noisy: tf.add(c, tf.randomNormal(c.shape, 0, sigma, 'float32', Math.floor(rand() * 1e9))) };
  });
}
const opt = tf.train.adam(1e-3);
const t0 = Date.now();
for (let s = 1; s <= steps; s++) {
  const { clean, noisy } = batchOf();
  const loss = opt.minimize(() => tf.mean(tf.abs(tf.sub(model.apply(noisy, { training: true }), clean))), true);
  if (s % 50 === 0 || s === 1) console.log(`step ${String(s).padStart(4)}  L1 ${(await loss.data())[0].toFixed(4)}  ${((Date.now() - t0) / s).toFixed(0)} ms/step`);
  tf.dispose([clean, noisy, loss]);
}

// 3. Evaluate on BSD68-gray (held out): PSNR of the noisy input and of the restored output.
const psnr = (a, b) => tf.tidy(() => -10 * Math.log10(tf.mean(tf.square(tf.sub(tf.clipByValue(a, 0, 1), b))).dataSync()[0]));
console.log('\nimage            noisy PSNR   restored PSNR');
let sumN = 0, sumR = 0;
for (const f of evalFiles) {
  const im = gray(join(shared, 'datasets/bsd68-gray', f));
  const [n, r, restored] = tf.tidy(() => {
    const clean = tf.tensor4d(Float32Array.from(im.data, (v) => v / 255), [1, im.height, im.width, 1]);
    const noisy = tf.add(clean, tf.randomNormal(clean.shape, 0, sigma, 'float32', 1234));
    const y = model.predict(noisy);
    return [psnr(noisy, clean), psnr(y, clean), tf.keep(tf.clipByValue(y, 0, 1))];
  });
  sumN += n; sumR += r;
  console.log(`${f.padEnd(16)} ${n.toFixed(2).padStart(10)} ${r.toFixed(2).padStart(15)}`);
  if (f === evalFiles[0]) writePng(join(out, `restored-${f}`), { width: im.width, height: im.height, channels: 1, data: Uint8Array.from(await restored.data(), (v) => Math.round(v * 255)) });
  restored.dispose();
}
console.log(`${'mean'.padEnd(16)} ${(sumN / evalFiles.length).toFixed(2).padStart(10)} ${(sumR / evalFiles.length).toFixed(2).padStart(15)}`);

// 4. Save: PyTorch-named safetensors (continue training in PyTorch) and the tfjs model (reload with tf.loadLayersModel).
writeFileSync(join(out, 'denoiser.safetensors'), serializeSafetensors(await exportTorchStateDict(body, { prefix: 'body.' })));
await model.save(tf.io.withSaveHandler(async (a) => {
  writeFileSync(join(out, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
  writeFileSync(join(out, 'weights.bin'), Buffer.from(a.weightData));
  return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
}));
console.log(`\nwrote ${out}/{denoiser.safetensors, model.json, weights.bin, restored-${evalFiles[0]}}`);
