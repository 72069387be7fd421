// Shared helpers of this package's tests (not exported by the package).
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { releaseFFTCache } from '@restorekit/fft';
import { vggLayers, type VGGArch } from './vgg-features.js';

/** Deterministic U[0, 1) stream (mulberry32 on a hashed seed, so nearby seeds give unrelated streams). */
export function uniform(seed: number): () => number {
  let a = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic N(0, 1) stream (Box-Muller on `uniform`). */
export function gaussian(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export function randomArray(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: n }, () => g() * scale + offset);
}

/** Uniform [0, 1) image [B, H, W, C] as a tensor. */
export function randomImage(shape: number[], seed: number): tf.Tensor4D {
  const u = uniform(seed);
  const n = shape.reduce((x, y) => x * y, 1);
  return tf.tensor4d(Float32Array.from({ length: n }, u), shape as [number, number, number, number]);
}

/** torchvision-named VGG weights (features.<i>.weight/bias) up to layer `upTo`, drawn N(0, 2/fan_in), bias 0.1·N. */
export function seededVGGStateDict(arch: VGGArch, upTo: number, seed = 7): Record<string, { shape: number[]; data: Float32Array }> {
  const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const l of vggLayers(arch).slice(0, upTo + 1)) {
    if (l.kind !== 'conv') continue;
    const fan = l.inChannels * 9;
    sd[`features.${l.index}.weight`] = {
      shape: [l.outChannels, l.inChannels, 3, 3],
      data: randomArray(l.outChannels * fan, seed + l.index, Math.sqrt(2 / fan)),
    };
    sd[`features.${l.index}.bias`] = { shape: [l.outChannels], data: randomArray(l.outChannels, seed + 100 + l.index, 0.1) };
  }
  return sd;
}

/**
 * Directional finite difference of a scalar function of x along a ±1 direction v (seeded, or sign(∇f)):
 * returns [⟨∇f(x), v⟩ from tf.grad, (f(x + h v) − f(x − h v)) / 2h].
 */
export async function directionalDerivative(
  f: (x: tf.Tensor) => tf.Scalar,
  x: tf.Tensor,
  h = 1e-3,
  seed: number | 'gradient-sign' = 3,
): Promise<[number, number]> {
  const grad = tf.grad(f)(x);
  // 'gradient-sign': v = sign(∇f), which maximises ⟨∇f, v⟩ against the float32 noise of f
  const g = gaussian(typeof seed === 'number' ? seed : 3);
  const v =
    seed === 'gradient-sign'
      ? tf.sign(grad)
      : tf.tensor(
          Float32Array.from({ length: x.size }, () => (g() > 0 ? 1 : -1)),
          x.shape,
        );
  const dot = tf.tidy(() => tf.sum(tf.mul(grad, v)));
  const analytic = (await dot.data())[0]!;
  dot.dispose();
  const [fp, fm] = tf.tidy(() => [f(tf.add(x, tf.mul(v, h))), f(tf.sub(x, tf.mul(v, h)))]);
  const numeric = ((await fp!.data())[0]! - (await fm!.data())[0]!) / (2 * h);
  tf.dispose([v, grad, fp!, fm!]);
  return [analytic, numeric];
}

/** Max |g| and finiteness of the gradient of f w.r.t. x. */
export async function gradStats(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor): Promise<{ maxAbs: number; finite: boolean }> {
  const g = tf.grad(f)(x);
  const d = await g.data();
  g.dispose();
  let maxAbs = 0;
  let finite = true;
  for (const e of d) {
    if (!Number.isFinite(e)) finite = false;
    else maxAbs = Math.max(maxAbs, Math.abs(e));
  }
  return { maxAbs, finite };
}

export async function scalar(t: tf.Tensor): Promise<number> {
  const v = (await t.data())[0]!;
  return v;
}

/**
 * core's `expectNoLeaks` for code that uses @restorekit/fft: its DFT bases are cached across calls on purpose,
 * so the cache is released before and after `fn` and only tensors outside it count as leaks.
 */
export async function expectNoLeaksBeyondFFTCache<T>(fn: () => T | Promise<T>): Promise<T> {
  releaseFFTCache();
  return expectNoLeaks(async () => {
    const out = await fn();
    releaseFFTCache();
    return out;
  });
}

/** FrequencyEncoder weights (encoder.{0,2,4,8}.*) drawn U(−1/√fan_in, 1/√fan_in) as PyTorch's default, but seeded. */
export function seededEncoderStateDict(seed = 5): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const draw = (n: number, fan: number, s: number) => {
    const u = uniform(s);
    const b = 1 / Math.sqrt(fan);
    return Float32Array.from({ length: n }, () => (2 * u() - 1) * b);
  };
  [
    [3, 32],
    [32, 64],
    [64, 128],
  ].forEach(([i, o], k) => {
    out[`encoder.${2 * k}.weight`] = { shape: [o!, i!, 3, 3], data: draw(o! * i! * 9, i! * 9, seed + k) };
    out[`encoder.${2 * k}.bias`] = { shape: [o!], data: draw(o!, i! * 9, seed + 10 + k) };
  });
  out['encoder.8.weight'] = { shape: [128, 128], data: draw(128 * 128, 128, seed + 20) };
  out['encoder.8.bias'] = { shape: [128], data: draw(128, 128, seed + 21) };
  return out;
}
