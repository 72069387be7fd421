/**
 * The degradations give the same bits in Node and in browsers: FNV-1a hashes of the output bytes (float32) and of the
 * label's JSON for a fixed image and seed, compared with constants. This file is not `.node.test.ts`, so it runs in
 * every project, Chromium (--project webgl / webgpu) included; the backends do not matter (no tensors), the engines do.
 */
import { describe, expect, it } from 'vitest';
import { compose, gaussianBlur, gaussianNoise, poissonGaussianNoise, type Degradation, type HostImage } from './degrade.js';
import { defocusBlur, motionBlur } from './degrade-kernels.js';
import { jpegCompression } from './degrade-jpeg.js';
import { maybe, oneOf, shuffled } from './degrade-random.js';
import { haze, lowLight, rainStreaks } from './degrade-scene.js';
import { Rng } from './rng.js';

/** 32-bit FNV-1a of bytes. */
function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
const hashFloats = (a: Float32Array) => fnv1a(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
const hashLabel = (l: unknown) => fnv1a(new TextEncoder().encode(JSON.stringify(l)));

/** A fixed 13×11 RGB image with values in [0.05, 0.95] (no transcendental math, so the same everywhere). */
const image: HostImage = {
  data: Float32Array.from({ length: 13 * 11 * 3 }, (_, i) => 0.05 + (0.9 * ((i * 7919 + 13) % 101)) / 100),
  shape: [13, 11, 3],
};

const cases: Record<string, Degradation> = {
  gaussianNoise: gaussianNoise({ sigma: [0.01, 0.1], range: true, perChannel: true }),
  poissonGaussianNoise: poissonGaussianNoise({ a: [0.005, 0.02], b: [0, 0.03] }),
  gaussianBlur: gaussianBlur({ kernelSize: 5, sigmaX: [0.5, 2], sigmaY: [0.5, 2], theta: [0, 3] }),
  defocusBlur: defocusBlur({ radius: [1, 3] }),
  motionBlur: motionBlur({ kernelSize: 9, iters: 400, expl: [0.002, 0.01] }),
  rain: rainStreaks({ density: [0.01, 0.03], length: [4, 8], angle: [-30, 30], width: [1, 2], intensity: [0.3, 0.7] }),
  haze: haze({ beta: [0.5, 2], airlight: [0.7, 1] }),
  lowLight: lowLight({ gamma: [1.5, 3], scale: [0.1, 0.5], noise: { a: [0.001, 0.01], b: [0, 0.02] } }),
  jpeg: jpegCompression({ quality: [10, 90] }),
  random: shuffled(
    oneOf([defocusBlur({ radius: 1.5 }), motionBlur({ kernelSize: 7, iters: 200 })], { weights: [1, 2] }),
    maybe(0.7, haze({ beta: 1, airlight: 0.9 })),
    compose(lowLight({ gamma: 2, scale: 0.6 }), gaussianNoise({ sigma: 0.02 })),
    jpegCompression({ quality: 50 }),
  ),
};

// Made once in Node 20 with `PRINT_HASHES=1 npx vitest run --project node-cpu src/degrade-hashes.test.ts`, which prints
// [hashFloats(output), hashLabel(label)] of each case for seed 2024. A change means the degradation changed (then
// remake them, and say so in a changeset: seeded data sets change) or an engine computes differently (a bug).
const WANT: Record<string, [string, string]> = {
  gaussianNoise: ['1d8d496b', '6d7a1cde'],
  poissonGaussianNoise: ['7e58ee8f', 'a26f8cf7'],
  gaussianBlur: ['8954d7cb', 'bf32f5d2'],
  defocusBlur: ['9d88046e', '4b65dcf0'],
  motionBlur: ['9bbcc404', '4603d14b'],
  rain: ['e8d58c7e', '493e15d5'],
  haze: ['3262a46a', 'a0bcae48'],
  lowLight: ['eb884bf8', '3c107cee'],
  jpeg: ['553bcb7e', 'f690723e'],
  random: ['887ab3e8', '6edfa41b'],
};

describe('degradations are bit-identical across engines', () => {
  it.each(Object.keys(cases))('%s', (name) => {
    const bufferBefore = typeof (globalThis as { Buffer?: unknown }).Buffer;
    const r = cases[name]!(image, new Rng(2024));
    // jpeg-js is lent a Buffer where there is none (browsers) and it is taken back.
    expect(typeof (globalThis as { Buffer?: unknown }).Buffer).toBe(bufferBefore);
    const got: [string, string] = [hashFloats(r.image.data), hashLabel(r.label)];
    if ((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.PRINT_HASHES)
      console.log(`  ${name}: ['${got[0]}', '${got[1]}'],`);
    expect(got, name).toEqual(WANT[name]);
  });
});
