// Shared pieces of the training / evaluation scripts: backend choice, image I/O, the data split, the model config.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..');
export const DATASETS = process.env.RESTOREKIT_DATASETS ?? path.resolve(ROOT, '..', 'shared', 'datasets');

if (!fs.existsSync(path.join(HERE, '.build', 'rk.mjs'))) throw new Error('training/.build/rk.mjs is missing: run `node training/build.mjs` first');
export const rk = await import('./.build/rk.mjs');

const requireHere = createRequire(import.meta.url);

/**
 * The fastest backend available: 'tensorflow' (tfjs-node, the locally built one of scripts/tfjs-node.sh in .tfjs-node/,
 * or any `@tensorflow/tfjs-node` that resolves), else wasm, else cpu. `RESTOREKIT_BACKEND` forces one.
 */
export async function pickBackend(want = process.env.RESTOREKIT_BACKEND) {
  const tryNode = () => {
    for (const spec of [path.join(ROOT, '.tfjs-node', 'node_modules', '@tensorflow', 'tfjs-node'), '@tensorflow/tfjs-node']) {
      try {
        requireHere(spec);
        return spec;
      } catch {
        /* next */
      }
    }
    return null;
  };
  if (!want || want === 'tensorflow') {
    const where = tryNode();
    if (where && tf.findBackendFactory('tensorflow')) {
      await rk.core.useBackend('tensorflow');
      return { backend: 'tensorflow', from: where };
    }
    if (want === 'tensorflow') throw new Error('RESTOREKIT_BACKEND=tensorflow but @tensorflow/tfjs-node does not load (run scripts/tfjs-node.sh)');
  }
  const name = want ?? 'wasm';
  await rk.core.useBackend(name);
  return { backend: name, from: null };
}

const sharp = createRequire(path.join(ROOT, 'packages', 'runtime', 'package.json'))('sharp');

/** A PNG as an HWC float32 image in [0, 1] with `channels` channels (grey is replicated to RGB). */
export async function readImage(file, channels = 3) {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h, channels: c } = info;
  const out = new Float32Array(h * w * channels);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < channels; k++) out[i * channels + k] = data[i * c + (c === 1 ? 0 : Math.min(k, c - 1))] / 255;
  return { data: out, shape: [h, w, channels] };
}

export const listPng = (dir) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => path.join(dir, f));

/**
 * The data split. Training: all 400 BSD400 images (greyscale, replicated to RGB) and Kodak images 1–20; validation
 * (model selection): Kodak 21–24, never trained on. CBSD68 and BSD68-grey are evaluation sets and never read here.
 */
export const VAL_KODAK = ['kodim21.png', 'kodim22.png', 'kodim23.png', 'kodim24.png'];
export function trainFiles() {
  const kodak = listPng(path.join(DATASETS, 'kodak24')).filter((f) => !VAL_KODAK.includes(path.basename(f)));
  const bsd = listPng(path.join(DATASETS, 'bsd400'));
  for (const f of [...kodak, ...bsd]) if (/cbsd68|bsd68-gray/.test(f)) throw new Error(`evaluation image in the training set: ${f}`);
  return { kodak, bsd };
}
export const valFiles = () => VAL_KODAK.map((f) => path.join(DATASETS, 'kodak24', f));

/** The preset being trained (packages/models/src/compact.ts `compactPresets`); COMPACT_PRESET overrides. */
export const PRESET = process.env.COMPACT_PRESET ?? 'default';
export function makeModel(preset = PRESET) {
  const m = new rk.Compact({ ...rk.compactPresets[preset].config });
  m.buildFromOptions();
  return m;
}

/** Seeded AWGN on the whole image in float32 (N(0, σ²) from the project's Rng, so identical everywhere). */
export function addNoise(img, sigma255, seed) {
  const rng = new rk.train.Rng(seed);
  const out = new Float32Array(img.data.length);
  const s = sigma255 / 255;
  for (let i = 0; i < out.length; i++) out[i] = img.data[i] + s * rng.normal();
  return { data: out, shape: img.shape };
}

/** Runs the model on one HWC image; returns the output tensor [1, H, W, C] (caller disposes). */
export function restore(model, img) {
  return tf.tidy(() => model.apply(tf.tensor4d(img.data, [1, ...img.shape]), { training: false }));
}

export { jsonl } from './jsonl.mjs';
