import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { prefers } from '../settings.js';
import { LAYER_NORM_KERNEL, gateKernel, kernelGelu, useWasmKernels } from '../wasm/kernels.js';
import {
  WEBGPU_LAYER_NORM_GRAD_KERNEL,
  WEBGPU_ROW_DOT_KERNEL,
  WEBGPU_SOFTMAX_GRAD_KERNEL,
  WEBGPU_SOFTMAX_KERNEL,
  useWebGpuKernels,
} from '../webgpu/kernels.js';
import { splitChannels } from './channels.js';

/** What a value that should have been a tensor is, for an error message. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'no prototype'})`;
  return `${typeof v} ${String(v).slice(0, 40)}`;
}

/**
 * Throws a DTypeError naming `op` and the argument unless `x` is a tensor (duck-typed: a second copy of tfjs-core makes
 * instanceof unreliable) of dtype float32 (`anyDtype`: any dtype, for ops that only move data).
 */
export function needTensor(op: string, name: string, x: unknown, anyDtype = false): asserts x is tf.Tensor {
  const t = x as tf.Tensor | null;
  if (t === null || typeof t !== 'object' || !('dataId' in t) || !Array.isArray(t.shape) || typeof t.dtype !== 'string')
    throw new DTypeError(`${op}: ${name} must be a tf.Tensor${anyDtype ? '' : ' of dtype float32'}, got ${describe(x)}`);
  if (t.isDisposed) throw new DTypeError(`${op}: ${name} is a disposed tensor`);
  if (!anyDtype && t.dtype !== 'float32') throw new DTypeError(`${op}: ${name} must be float32, got ${t.dtype} (shape ${fmtShape(t.shape)})`);
}

function need4(op: string, x: tf.Tensor, anyDtype = false): asserts x is tf.Tensor4D {
  needTensor(op, 'the input', x, anyDtype);
  if (x.rank !== 4) throw new ShapeError(`${op}: input must be rank 4 [B, H, W, C] (NHWC), got shape ${fmtShape(x.shape)}`);
}

/**
 * Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch's default, not the tanh approximation).
 *
 * On tfjs-backend-wasm, with settings `wasmKernels` on (the default), one pass of restorekit's WebAssembly SIMD kernel
 * (wasm/kernels.ts: erfc from Abramowitz–Stegun 7.1.26 and a vectorised exp, ~2 ns an element whatever the data; its
 * gradient one pass too). Max |error| against float64 on [−10, 10]: 4.2e-7.
 *
 * Otherwise, where core `prefers('scalarErf')` (wasm) the form depends on the data. tfjs-backend-wasm's Erf is a scalar libm
 * call: ~4 ns an element while |x/√2| < 1.25, 17–19 ns beyond, plus branch misses where both occur; on activations
 * of spread ~1 (trained weights) that made the exact GELU 2–4× slower than on the small activations of untrained
 * weights. When more than 2 % of a strided sample of x (≤ 4096 values) lies beyond, GELU is computed as
 * relu(x) − ½|x|·erfc(|x|/√2) (the same function: x·sign(x) = |x|) with erfc from Abramowitz–Stegun 7.1.26
 * (|error| ≤ 1.5e-7, the formula tfjs-backend-cpu's Erf uses), 17 element-wise ops that wasm vectorises: ~5 ns an
 * element whatever the data. Max |error| against float64 on [−10, 10]: 3.5e-7 (the erf form: 4.5e-7). The gradient
 * is the exact Φ(x) + x·φ(x) either way.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  needTensor('gelu', 'the input', x);
  if (useWasmKernels(x)) return geluKernel(x) as T;
  if (!prefers('scalarErf')) return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))) as T;
  return geluWasm(x) as T;
}

/** restorekit's one-pass wasm SIMD kernels (see wasm/kernels.ts; settings `wasmKernels`). */
const geluKernel = kernelGelu(0.5, Math.SQRT1_2);
const geluOfHalvedKernel = kernelGelu(1, 1);

/**
 * ½·t·(a₁ + a₂t + … + a₅t⁴) of A–S 7.1.26 with t = 1/(1 + p·|x|/√2), as s·((s−α₁)² + β₁)·((s−α₂)² + β₂) with
 * s = κt, κ = (a₅/2)^(1/5), and αⱼ ± i·√βⱼ the quartic's two pairs of complex roots times κ (a squaredDifference and
 * an add per quadratic: two passes where Horner takes four). s = (κ/c) / (|x| + 1/c) with c = p/√2. Float64 values.
 */
const ERFC = {
  kappaOverC: 3.8032350369962558,
  invC: 4.317008497401471,
  a1: 0.6107150137489908,
  b1: 0.5238157583527667,
  a2: -0.007641835647016958,
  b2: 0.1612138093043211,
};
/** |x| from which wasm's erf(x/√2) takes its slow branch (|x/√2| ≥ 1.25). */
const ERF_SLOW_FROM = 1.25 * Math.SQRT2;

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
/** Whether more than 2 % of a strided sample of x (≤ 4096 values, stride coprime to the last axis) has |x| ≥ `from`. */
function wideSpread(x: tf.Tensor, from = ERF_SLOW_FROM): boolean {
  const n = x.size;
  const last = x.shape[x.rank - 1] ?? 1;
  let stride = Math.max(1, Math.floor(n / 4096));
  while (gcd(stride, last) !== 1) stride++;
  const sample = tf.tidy(() => tf.stridedSlice(tf.reshape(x, [n]), [0], [n], [stride]));
  const v = sample.dataSync();
  sample.dispose();
  let wide = 0;
  for (let i = 0; i < v.length; i++) if (Math.abs(v[i]!) >= from) wide++;
  return wide > 0.02 * v.length;
}

const geluWasm = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  const value = tf.tidy(() => {
    if (!wideSpread(x)) return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    const ax = tf.abs(x);
    const s = tf.div(ERFC.kappaOverC, tf.add(ax, ERFC.invC));
    const poly = tf.mul(tf.mul(tf.add(tf.squaredDifference(s, ERFC.a1), ERFC.b1), tf.add(tf.squaredDifference(s, ERFC.a2), ERFC.b2)), s);
    const expm1 = tf.elu(tf.mul(tf.square(x), -0.5)); // e^(−x²/2) − 1
    const r = tf.mul(poly, ax); // ½|x|·erfc(|x|/√2) = r·e^(−x²/2) = r·expm1 + r
    return tf.sub(tf.relu(x), tf.add(tf.mul(r, expm1), r));
  });
  return {
    value,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const xs = saved[0]!;
        const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(xs, Math.SQRT1_2))), 0.5);
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return tf.mul(dy as tf.Tensor, tf.add(cdf, tf.mul(xs, pdf)));
      }),
  };
}) as never) as (x: tf.Tensor) => tf.Tensor;

/**
 * H(h) = h·(1 + erf(h)) = √2·gelu(√2·h): the exact GELU of x = √2·h, times √2. A block whose GELU input comes from a
 * linear op and whose output goes into one (GDFN: a depth-wise conv before, project_out after) folds both factors into
 * those weights and saves the two scalings of `gelu`'s ½·x·(1 + erf(x/√2)): 3 element-wise passes instead of 5.
 * On tfjs-backend-wasm with settings `wasmKernels` on: one pass of the kernel `gelu` uses (a = 1, b = 1). Otherwise, where core `prefers('scalarErf')` (wasm) the form depends on the data as `gelu`'s does: with more than 2 % of a sample
 * at |h| ≥ 1.25 (wasm's slow erf branch), H = (h + |h|) − |h|·erfc(|h|) with erfc from A–S 7.1.26 in 17 passes
 * (`gelu`'s erf-free form with its constants rescaled for h, the factor 2 folded into them and 2·relu(h) = h + |h|).
 * The gradient is the exact 1 + erf(h) + (2/√π)·h·e^(−h²).
 */
export function geluOfHalved<T extends tf.Tensor>(h: T): T {
  needTensor('geluOfHalved', 'the input', h);
  if (useWasmKernels(h)) return geluOfHalvedKernel(h) as T;
  if (!prefers('scalarErf')) return tf.tidy(() => tf.mul(h, tf.add(1, tf.erf(h)))) as T;
  return geluOfHalvedWasm(h) as T;
}

/** `ERFC` for the argument |h| instead of |x|/√2, with the overall factor 2 folded in (see `geluOfHalved`). */
const ERFC_H = (() => {
  const c = 1 / ERFC.invC; // p/√2 (A–S 7.1.26's p = 0.3275911)
  const kappa = ERFC.kappaOverC * c;
  const p = c * Math.SQRT2;
  // |h|·erfc(|h|) = |h|·t·A(t)·e^(−h²) = 2·|h|·s·Q₁(s)·Q₂(s)·e^(−h²) (s = κt, Qᵢ(s) = (s − αᵢ)² + βᵢ: ERFC's factored
  // ½·t·A(t)), t = 1/(1 + p|h|). With s′ = μs, αᵢ′ = μαᵢ, βᵢ′ = μ²βᵢ: s′·Q₁′(s′)·Q₂′(s′) = μ⁵·s·Q₁(s)·Q₂(s), so μ = 2^(1/5)
  // folds the 2 in.
  const mu = 2 ** 0.2;
  return { kappaOverP: (mu * kappa) / p, invP: 1 / p, a1: mu * ERFC.a1, b1: mu ** 2 * ERFC.b1, a2: mu * ERFC.a2, b2: mu ** 2 * ERFC.b2 };
})();

const geluOfHalvedWasm = tf.customGrad(((h: tf.Tensor, save: tf.GradSaveFunc) => {
  save([h]);
  const value = tf.tidy(() => {
    if (!wideSpread(h, ERF_SLOW_FROM / Math.SQRT2)) return tf.mul(h, tf.add(1, tf.erf(h)));
    const ah = tf.abs(h);
    const s = tf.div(ERFC_H.kappaOverP, tf.add(ah, ERFC_H.invP));
    const poly = tf.mul(tf.mul(tf.add(tf.squaredDifference(s, ERFC_H.a1), ERFC_H.b1), tf.add(tf.squaredDifference(s, ERFC_H.a2), ERFC_H.b2)), s);
    const expm1 = tf.elu(tf.neg(tf.square(h))); // e^(−h²) − 1
    const r = tf.mul(poly, ah); // |h|·erfc(|h|) = r·e^(−h²) = r·expm1 + r
    return tf.sub(tf.add(h, ah), tf.add(tf.mul(r, expm1), r));
  });
  return {
    value,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const hs = saved[0]!;
        const pdf = tf.mul(tf.exp(tf.neg(tf.square(hs))), 2 / Math.sqrt(Math.PI));
        return tf.mul(dy as tf.Tensor, tf.add(tf.add(1, tf.erf(hs)), tf.mul(hs, pdf)));
      }),
  };
}) as never) as (h: tf.Tensor) => tf.Tensor;

/**
 * Leaky ReLU, x for x > 0 else slope·x (tf.leakyRelu). Where core `prefers('preluForLeakyRelu')` (wasm) as tf.prelu
 * with a scalar slope: the same values, and tfjs-backend-wasm runs its PReLU 2.4× faster than its LeakyRelu (15 vs 36
 * ms for 256² × 112; DRCNet had 136 ms of LeakyRelu at 256²).
 */
export function leakyRelu<T extends tf.Tensor>(x: T, slope: number): T {
  needTensor('leakyRelu', 'the input', x);
  if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new ConfigError(`leakyRelu: the slope must be a finite number, got ${describe(slope)}`);
  if (!prefers('preluForLeakyRelu')) return tf.leakyRelu(x, slope);
  return tf.tidy(() => prelu(x, tf.scalar(slope))) as T;
}

/**
 * PReLU, x for x > 0 else α·x (tf.prelu), with α one shared slope (size 1: PyTorch's `nn.PReLU()`) or one per channel
 * (size C, the last axis). Where core `prefers('channelPrelu')` (wasm) a shared slope is first broadcast to one per
 * channel: tfjs-backend-wasm's PReLU (XNNPACK) takes α's size as its channel count, so a scalar α ran it over H·W·C
 * rows of one channel (DRCNet's 128² forward: 127 ms in 8 PReLUs over 128² × 64, its whole forward 1.36× faster with
 * the broadcast). The same values; the gradient of α sums back over the broadcast.
 */
export function prelu<T extends tf.Tensor>(x: T, alpha: tf.Tensor): T {
  needTensor('prelu', 'the input', x);
  needTensor('prelu', 'the slope α', alpha);
  const c = x.rank > 0 ? x.shape[x.rank - 1]! : 1;
  if (alpha.size !== 1 && !(alpha.size === c && alpha.shape[alpha.rank - 1] === c))
    throw new ShapeError(
      `prelu: the slope α must have 1 value or one per channel (${c}), got shape ${fmtShape(alpha.shape)} for an input of shape ${fmtShape(x.shape)}`,
    );
  if (alpha.size === 1 && c > 1 && prefers('channelPrelu')) return tf.tidy(() => tf.prelu(x, tf.broadcastTo(tf.reshape(alpha, [1]), [c]) as T));
  return tf.prelu(x, alpha as T);
}

/**
 * NAFNet SimpleGate: split channels in halves and multiply. On tfjs-backend-wasm (settings `wasmKernels`, ≥ 8
 * channels) one pass of restorekit's kernel, and its gradient one more (tfjs copies each half value by value in
 * JavaScript: 23 ms of LCDNet's 256² forward for two 128-channel gates).
 */
export function simpleGate(x: tf.Tensor4D): tf.Tensor4D {
  need4('simpleGate', x);
  if (x.shape[3] % 2) throw new ShapeError(`simpleGate: channel count must be even, got shape ${fmtShape(x.shape)}`);
  const fused = gateKernel(x);
  if (fused) return fused as tf.Tensor4D;
  return tf.tidy(() => {
    const [a, b] = splitChannels(x, 2);
    return tf.mul(a!, b!);
  });
}

/** PyTorch PixelUnshuffle(r) in NHWC: output channel c·r² + r·i + j holds input channel c at offset (i, j). */
export function pixelUnshuffle(x: tf.Tensor4D, r = 2): tf.Tensor4D {
  need4('pixelUnshuffle', x, true);
  const [b, h, w, c] = x.shape;
  if (h % r || w % r) throw new ShapeError(`pixelUnshuffle: height and width must be multiples of ${r}, got shape ${fmtShape(x.shape)}`);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [b, h / r, r, w / r, r, c]), [0, 1, 3, 5, 2, 4]), [b, h / r, w / r, c * r * r]));
}

/** PyTorch PixelShuffle(r) in NHWC: input channel c·r² + r·i + j goes to output channel c, pixel (r·h + i, r·w + j). */
export function pixelShuffle(x: tf.Tensor4D, r = 2): tf.Tensor4D {
  need4('pixelShuffle', x, true);
  const [b, h, w, c] = x.shape;
  if (c % (r * r)) throw new ShapeError(`pixelShuffle: channels must be a multiple of ${r * r}, got shape ${fmtShape(x.shape)}`);
  const co = c / (r * r);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [b, h, w, co, r, r]), [0, 1, 4, 2, 5, 3]), [b, h * r, w * r, co]));
}

/**
 * The mean over H and W of an NHWC tensor, [B, 1, 1, C] (`tf.mean(x, [1, 2], true)`). Where core
 * `prefers('poolForSpatialMean')` (wasm, tensorflow) a global average pool, with the gradient dy/(H·W) at every pixel
 * (tfjs-backend-wasm reduces over non-innermost axes by transposing first; its AvgPool is XNNPACK's: 15× faster at
 * 256² × 28; tfjs-node's AvgPool 1.6× faster than its Mean). Same values to float rounding.
 */
export function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  need4('spatialMean', x);
  if (!prefers('poolForSpatialMean')) return tf.mean(x, [1, 2], true);
  return spatialMeanPool(x) as tf.Tensor4D;
}

/**
 * The max over the channels (last axis) of a tensor, keeping that axis as 1 (`tf.max(x, -1, true)`), with tfjs's
 * gradient (dy to every channel equal to the max) computed as dy·[x − max = 0]: tfjs's own compares x with the max
 * through a broadcasting Equal, which tfjs-backend-wasm runs on a slow generic path (34 ms at 128² × 32 against 2 ms;
 * in DRCNet's RegionNorm). For finite values x − m = 0 exactly when x = m.
 */
export function channelMax(x: tf.Tensor): tf.Tensor {
  needTensor('channelMax', 'the input', x);
  if (x.rank < 1) throw new ShapeError(`channelMax: expects a tensor with a channel axis, got shape ${fmtShape(x.shape)}`);
  return channelMaxOp(x);
}

const channelMaxOp = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const m = tf.max(x, -1, true);
  save([x, m]);
  return {
    value: m,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => tf.mul(dy as tf.Tensor, tf.cast(tf.equal(tf.sub(saved[0]!, saved[1]!), 0), saved[0]!.dtype))),
  };
}) as never) as (x: tf.Tensor) => tf.Tensor;

/** The sum over H and W of an NHWC tensor, [B, 1, 1, C]: `spatialMean` times H·W (an average pool where core prefers it). */
export function spatialSum(x: tf.Tensor4D): tf.Tensor4D {
  need4('spatialSum', x);
  return tf.tidy(() => tf.mul(spatialMean(x), x.shape[1] * x.shape[2]));
}

const spatialMeanPool = tf.customGrad(((x: tf.Tensor) => {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  return {
    value: tf.avgPool(x as tf.Tensor4D, [h, w], 1, 'valid'),
    // dy/(H·W) at every pixel, as a product with ones: tfjs-backend-wasm's Tile (broadcastTo) is a JavaScript loop, 14×
    // slower at 128² × 64
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.tidy(() => tf.mul(tf.ones([b, h, w, c]), tf.div(dy as tf.Tensor, h * w))),
  };
}) as never) as (x: tf.Tensor) => tf.Tensor;

/** (x − μ)² with μ [B, 1, 1, C] broadcast over H, W, as one SquaredDifference; gradients 2(x − μ)·dy and its −Σ over H, W. */
const squaredDeviation = tf.customGrad(((x: tf.Tensor, mu: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, mu]);
  return {
    value: tf.squaredDifference(x, mu),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const g = tf.mul(tf.mul(dy as tf.Tensor, 2), tf.sub(saved[0]!, saved[1]!));
        return [g, tf.neg(spatialSum(g as tf.Tensor4D))]; // −Σ over H, W
      }),
  };
}) as never) as (x: tf.Tensor, mu: tf.Tensor) => tf.Tensor;

/**
 * SimAM energy attention (parameter-free): x · sigmoid((x−μ)² / (4·(Σ(x−μ)²/(n−1) + λ)) + 0.5)
 * with μ and the sum over H·W per sample and channel, n = H·W (as the official simam_module).
 */
export function simam(x: tf.Tensor4D, lambda = 1e-4): tf.Tensor4D {
  need4('simam', x);
  const n = x.shape[1] * x.shape[2] - 1;
  if (n < 1) throw new ShapeError(`simam: needs at least 2 pixels, got shape ${fmtShape(x.shape)}`);
  // Full-size intermediates are freed as soon as consumed (at most three of x's size live at once). (x − μ)² in one
  // pass (SquaredDifference) instead of a subtraction and a square, always the same op (a recompute re-run must round
  // as its forward did), with its own gradient: tfjs-core 4.22's does not sum over broadcast axes.
  const d = tf.tidy(() => squaredDeviation(x, spatialMean(x)));
  // Σd/n with n = H·W − 1, as the spatial mean of d times (n + 1)/n
  const e = tf.tidy(() => tf.sigmoid(tf.add(tf.div(d, tf.mul(tf.add(tf.mul(spatialMean(d as tf.Tensor4D), (n + 1) / n), lambda), 4)), 0.5)));
  d.dispose();
  const y = tf.mul(x, e);
  e.dispose();
  return y as tf.Tensor4D;
}

/**
 * Channel LayerNorm (Restormer): normalise over C per pixel, biased variance. BiasFree does not centre the numerator.
 * Written out instead of `tf.moments` (which casts x, a full copy, and subtracts the mean twice with the line below):
 * x − μ is made once and serves both the variance and the output, 7 passes over x instead of 9 (WithBias). On wasm with
 * settings `wasmKernels` on, and on webgpu with `webgpuKernels` on: one pass of restorekit's kernel, the same ops per
 * pixel (its gradient written out below).
 */
export function channelLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, eps = 1e-5): tf.Tensor {
  needTensor('channelLayerNorm', 'the input', x);
  needTensor('channelLayerNorm', 'the weight', weight);
  if (bias !== null) needTensor('channelLayerNorm', 'the bias', bias);
  const c = x.shape[x.rank - 1];
  if ((useWasmKernels(x) || useWebGpuKernels(x)) && weight.size === c && (bias === null || bias.size === c)) return layerNormKernel(x, weight, bias, eps);
  return layerNormOps(x, weight, bias, eps);
}

/** x − mean(x) and 1/√(mean((x − mean(x))²) + eps) over the last axis: the layer norm's statistics. */
function centredAndInverseStd(x: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor] {
  const xc = tf.sub(x, tf.mean(x, -1, true));
  return [xc, tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps))];
}

function layerNormOps(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const [xc, inv] = centredAndInverseStd(x, eps);
    const y = bias ? tf.mul(xc, inv) : tf.mul(x, inv);
    return bias ? tf.add(tf.mul(y, weight), bias) : tf.mul(y, weight);
  });
}

/**
 * The layer norm as one pass of restorekit's wasm or WebGPU kernel (wasm/kernels.ts, webgpu/kernels.ts; the op order
 * above, per pixel), with its gradient written out (tfjs cannot nest tf.grads in a gradient): g = dy·w,
 * x̂ = (x − μ)·inv; WithBias dx = inv·(g − mean(g) − x̂·mean(g·x̂)), BiasFree dx = inv·g − inv³·(x − μ)·mean(g·x)
 * (means over C); dw = Σ dy·x̂ (BiasFree: dy·x·inv), db = Σ dy, sums over every axis but C. On webgpu dx is one pass of
 * restorekit's gradient kernel and x̂ the forward kernel with w = 1, b = 0 (no reductions over C as ops).
 */
function layerNormKernel(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null, eps: number): tf.Tensor {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, wi, bi] = args as tf.Tensor[];
    save([xi!, wi!]);
    const value = tf.engine().runKernel(LAYER_NORM_KERNEL, bi ? { x: xi!, weight: wi!, bias: bi } : { x: xi!, weight: wi! }, { eps } as never) as tf.Tensor;
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ws] = saved as [tf.Tensor, tf.Tensor];
          const d = dy as tf.Tensor;
          const outer = Array.from({ length: xs.rank - 1 }, (_, i) => i);
          // sums over every axis but C (NHWC: spatial sums, average pools where core prefers them, then over B)
          const sumOuter = (t: tf.Tensor) =>
            tf.reshape(t.rank === 4 ? tf.sum(spatialSum(t as tf.Tensor4D), [0, 1, 2]) : outer.length ? tf.sum(t, outer) : t, ws.shape);
          if (useWebGpuKernels(xs)) {
            const dx = tf.engine().runKernel(WEBGPU_LAYER_NORM_GRAD_KERNEL, { x: xs, weight: ws, dy: d }, { eps, withBias: bias !== null } as never);
            const one = tf.onesLike(ws);
            const normed = tf.engine().runKernel(LAYER_NORM_KERNEL, bias ? { x: xs, weight: one, bias: tf.zerosLike(ws) } : { x: xs, weight: one }, {
              eps,
            } as never) as tf.Tensor;
            const dw = sumOuter(tf.mul(d, normed));
            return bias ? [dx as tf.Tensor, dw, sumOuter(d)] : [dx as tf.Tensor, dw];
          }
          const [xc, inv] = centredAndInverseStd(xs, eps);
          const g = tf.mul(d, ws);
          if (bias) {
            const xhat = tf.mul(xc, inv);
            const dx = tf.mul(inv, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
            return [dx, sumOuter(tf.mul(d, xhat)), sumOuter(d)];
          }
          const dx = tf.sub(tf.mul(inv, g), tf.mul(tf.mul(tf.pow(inv, 3), xc), tf.mean(tf.mul(g, xs), -1, true)));
          return [dx, sumOuter(tf.mul(d, tf.mul(xs, inv)))];
        }),
    };
  }) as never) as (...t: tf.Tensor[]) => tf.Tensor;
  return bias ? f(x, weight, bias) : f(x, weight);
}

/** Rows up to this long take restorekit's WebGPU softmax (one invocation per row); longer ones tfjs's (64 per row). */
const SHORT_SOFTMAX_ROW = 64;

/**
 * Softmax over the last axis (`tf.softmax(x, -1)`). On webgpu with settings `webgpuKernels` on and rows of at most 64
 * values — a filter's k² taps, a head's d × d attention — one invocation per row of restorekit's kernel, forward and
 * gradient (dx = y·(dy − Σ dy·y)), where tfjs-backend-webgpu runs a 64-thread workgroup per row (webgpu/kernels.ts).
 */
export function softmax(x: tf.Tensor): tf.Tensor {
  needTensor('softmax', 'the input', x);
  if (x.rank === 0) throw new ShapeError('softmax: the input must have at least one axis, got a scalar');
  if (!useWebGpuKernels(x) || x.shape[x.rank - 1]! > SHORT_SOFTMAX_ROW) return tf.softmax(x, -1);
  return softmaxWebGpu(x);
}

const softmaxWebGpu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const value = tf.engine().runKernel(WEBGPU_SOFTMAX_KERNEL, { x }, {}) as tf.Tensor;
  save([value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.engine().runKernel(WEBGPU_SOFTMAX_GRAD_KERNEL, { y: saved[0]!, dy: dy as tf.Tensor }, {}) as tf.Tensor,
  };
}) as never) as (x: tf.Tensor) => tf.Tensor;

/**
 * Σ over the last axis of a·b (`tf.sum(tf.mul(a, b), -1)`) for a and b of one shape [..., n]: shape [...]. On webgpu with
 * settings `webgpuKernels` on, one invocation per row of restorekit's kernel (no a·b tensor, no 64-thread reduction per
 * row); its gradients ∂a = dy·b, ∂b = dy·a are element-wise ops.
 */
export function dotLastAxis(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  needTensor('dotLastAxis', 'the first input', a);
  needTensor('dotLastAxis', 'the second input', b);
  if (a.rank === 0 || !tf.util.arraysEqual(a.shape, b.shape))
    throw new ShapeError(`dotLastAxis: the inputs must have one shape with at least one axis, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (!useWebGpuKernels(a)) return tf.tidy(() => tf.sum(tf.mul(a, b), -1));
  return dotLastAxisWebGpu(a, b);
}

const dotLastAxisWebGpu = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  const flat = tf.engine().runKernel(WEBGPU_ROW_DOT_KERNEL, { a, b }, {}) as tf.Tensor;
  const value = tf.reshape(flat, a.shape.slice(0, -1));
  flat.dispose();
  return {
    value,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const d = tf.expandDims(dy as tf.Tensor, -1);
        return [tf.mul(d, saved[1]!), tf.mul(d, saved[0]!)];
      }),
  };
}) as never) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

export type PadMode = 'reflect' | 'symmetric' | 'zeros';

export interface PaddedToMultiple {
  x: tf.Tensor4D;
  /** Original height and width, for `cropTo`. */
  height: number;
  width: number;
}

/**
 * Pads the bottom and right edges so H and W become multiples of `multiple` (reflect by
 * default, like the official Restormer test code). Use `cropTo` to undo.
 */
export function padToMultiple(x: tf.Tensor4D, multiple: number, mode: PadMode = 'reflect'): PaddedToMultiple {
  need4('padToMultiple', x, true);
  if (!Number.isInteger(multiple) || multiple < 1) throw new ConfigError(`padToMultiple: multiple must be a positive integer, got ${multiple}`);
  const [, h, w] = x.shape;
  const ph = (multiple - (h % multiple)) % multiple;
  const pw = (multiple - (w % multiple)) % multiple;
  if (mode === 'reflect' && (ph >= h || pw >= w))
    throw new ShapeError(`padToMultiple: reflect padding of ${ph}×${pw} needs an input larger than that, got shape ${fmtShape(x.shape)}`);
  if (ph === 0 && pw === 0) return { x: tf.clone(x), height: h, width: w };
  const y =
    mode === 'zeros'
      ? (tf.pad(x, [
          [0, 0],
          [0, ph],
          [0, pw],
          [0, 0],
        ]) as tf.Tensor4D)
      : mirrorPad2d(x, [0, ph], [0, pw], mode);
  return { x: y, height: h, width: w };
}

/**
 * Mirror padding of H and W (NHWC), PyTorch `F.pad(..., mode='reflect')` (edge not repeated) or 'symmetric' (edge
 * repeated), with the right gradient. tfjs's `mirrorPad` computes the same values, but its gradient (tfjs-core 4.22
 * `MirrorPad_grad`) only slices the centre out of dy and drops what the mirrored borders received; built from slices,
 * reversals and concats, every pixel gets its full gradient. Each pad must be smaller than the side ('reflect') or at
 * most the side ('symmetric').
 */
export function mirrorPad2d(
  x: tf.Tensor4D,
  [top, bottom]: [number, number],
  [left, right]: [number, number],
  mode: 'reflect' | 'symmetric' = 'reflect',
): tf.Tensor4D {
  need4('mirrorPad2d', x, true);
  const e = mode === 'reflect' ? 1 : 0;
  const [, h, w] = x.shape;
  if (Math.max(top, bottom) > h - e || Math.max(left, right) > w - e)
    throw new ShapeError(`mirrorPad2d: ${mode} padding of (${top}, ${bottom}) × (${left}, ${right}) does not fit shape ${fmtShape(x.shape)}`);
  if (top + bottom + left + right === 0) return tf.clone(x);
  return tf.tidy(() => {
    const mirrored = (t: tf.Tensor4D, axis: 1 | 2, start: number, n: number) => {
      const begin = [0, 0, 0, 0];
      const size = [...t.shape];
      begin[axis] = start;
      size[axis] = n;
      return tf.reverse(tf.slice(t, begin, size), axis);
    };
    const rowParts = [top ? mirrored(x, 1, e, top) : null, x, bottom ? mirrored(x, 1, h - e - bottom, bottom) : null].filter(
      (t): t is tf.Tensor4D => t !== null,
    );
    const rows = rowParts.length > 1 ? (tf.concat(rowParts, 1) as tf.Tensor4D) : x;
    const colParts = [left ? mirrored(rows, 2, e, left) : null, rows, right ? mirrored(rows, 2, w - e - right, right) : null].filter(
      (t): t is tf.Tensor4D => t !== null,
    );
    return (colParts.length > 1 ? tf.concat(colParts, 2) : tf.clone(rows)) as tf.Tensor4D;
  });
}

/** Crops the top-left H×W window (undoes `padToMultiple`). */
export function cropTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  need4('cropTo', x, true);
  if (height > x.shape[1] || width > x.shape[2]) throw new ShapeError(`cropTo: cannot crop ${height}×${width} from shape ${fmtShape(x.shape)}`);
  return tf.slice(x, [0, 0, 0, 0], [x.shape[0], height, width, x.shape[3]]);
}
