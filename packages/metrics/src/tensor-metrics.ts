import * as tf from '@tensorflow/tfjs-core';
import { DTypeError, ShapeError, depthwiseConv2dValid, fmtShape } from '@restorekit/core';
import { rgbToY } from './color.js';
import { ValueRangeError } from './errors.js';
import {
  rangeSlack,
  resolveMetricOptions,
  resolveSSIMOptions,
  type MetricOptions,
  type ResolvedMetricOptions,
  type ResolvedSSIMOptions,
  type SSIMOptions,
} from './options.js';

/** Checks one input tensor: rank 3 (HWC) or 4 (NHWC), numeric dtype. */
function checkTensor(fn: string, name: string, x: unknown): tf.Tensor {
  if (!(x instanceof tf.Tensor))
    throw new DTypeError(`${fn}: ${name} must be a tf.Tensor (or, for the host functions, an { data, shape } image), got ${x === null ? 'null' : typeof x}`);
  if (x.isDisposed) throw new DTypeError(`${fn}: ${name} is disposed`);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new DTypeError(`${fn}: ${name} must be float32 or int32, got ${x.dtype}`);
  if (x.rank !== 3 && x.rank !== 4) throw new ShapeError(`${fn}: ${name} must be HWC (rank 3) or NHWC (rank 4), got shape ${fmtShape(x.shape)}`);
  return x;
}

/** Validates a prediction/target pair and returns their common NHWC shape. */
export function checkPair(fn: string, pred: unknown, target: unknown): [number, number, number, number] {
  const p = checkTensor(fn, 'prediction', pred);
  const t = checkTensor(fn, 'target', target);
  if (p.rank !== t.rank || p.shape.some((d, i) => d !== t.shape[i]))
    throw new ShapeError(`${fn}: prediction shape ${fmtShape(p.shape)} differs from target shape ${fmtShape(t.shape)}`);
  const s = p.rank === 3 ? [1, ...p.shape] : p.shape;
  return s as [number, number, number, number];
}

export function checkSize(fn: string, shape: readonly number[], o: ResolvedMetricOptions, window: number): void {
  const [, H, W, C] = shape as [number, number, number, number];
  const h = H - 2 * o.cropBorder;
  const w = W - 2 * o.cropBorder;
  if (h < 1 || w < 1) throw new ShapeError(`${fn}: cropBorder ${o.cropBorder} leaves nothing of a ${H}×${W} image`);
  if (h < window || w < window)
    throw new ShapeError(
      `${fn}: the ${window}×${window} window does not fit the ${h}×${w} image${o.cropBorder ? ` left after cropBorder ${o.cropBorder}` : ''}`,
    );
  if (o.testYChannel && C !== 1 && C !== 3) throw new ShapeError(`${fn}: testYChannel needs 1 or 3 channels, got ${C}`);
}

/**
 * Clip (if asked), scale to [0, 255], crop, Y (if asked): float32 NHWC. Every metric works on the
 * [0, 255] scale, as BasicSR does, so that the Y offset 16 and the SSIM constants (K·255)² are the
 * reference's; SSIM with C = (K·L)² is scale invariant, so this equals SSIM on [0, L] values.
 * Call inside tidy.
 */
function prepare(x: tf.Tensor, o: ResolvedMetricOptions): tf.Tensor4D {
  let t = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
  if (t.rank === 3) t = tf.expandDims(t, 0);
  if (o.outOfRange === 'clip') t = tf.clipByValue(t, 0, o.dataRange);
  if (o.dataRange !== 255) t = tf.mul(t, 255 / o.dataRange);
  const cb = o.cropBorder;
  if (cb > 0) {
    const [n, H, W, c] = t.shape as [number, number, number, number];
    t = tf.slice(t, [0, cb, cb, 0], [n, H - 2 * cb, W - 2 * cb, c]);
  }
  if (o.testYChannel && t.shape[3] === 3) t = rgbToY(t, { dataRange: 255 });
  return t as tf.Tensor4D;
}

/**
 * PSNR of every image of an NHWC (or HWC) batch with tf ops (float32): BasicSR `calculate_psnr`,
 * 10·log10(255² / MSE) on the [0, 255] scale (Infinity for identical images). Differentiable.
 * Does not check the value range (`outOfRange: 'clip'` clamps; other values are ignored).
 */
export function psnrTensor(pred: tf.Tensor, target: tf.Tensor, options?: MetricOptions): tf.Tensor1D {
  const o = resolveMetricOptions('psnrTensor', options);
  const shape = checkPair('psnrTensor', pred, target);
  checkSize('psnrTensor', shape, o, 1);
  return tf.tidy(() => {
    const a = prepare(pred, o);
    const b = prepare(target, o);
    const mse = tf.mean(tf.reshape(tf.squaredDifference(a, b), [shape[0], -1]), 1);
    return tf.mul(tf.log(tf.div(255 * 255, mse)), 10 / Math.LN10) as tf.Tensor1D;
  });
}

/** Valid separable filtering of every channel with k⊗k. */
function sepFilter(x: tf.Tensor4D, k: Float64Array): tf.Tensor4D {
  const n = k.length;
  const c = x.shape[3];
  const kf = Float32Array.from(k);
  const col = tf.tile(tf.tensor4d(kf, [n, 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
  const row = tf.tile(tf.tensor4d(kf, [1, n, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
  return depthwiseConv2dValid(depthwiseConv2dValid(x, col), row);
}

/**
 * The SSIM map of prepared ([0, 255]) images at the valid window positions. The (co)variances are
 * computed on values shifted by the per-image, per-channel mean of (pred + target)/2: the same
 * numbers in exact arithmetic, far less float32 cancellation in E[x²] − E[x]² (this is what keeps
 * webgl/webgpu within 3e-6 of the float64 references).
 */
function ssimMapCore(a: tf.Tensor4D, b: tf.Tensor4D, o: ResolvedSSIMOptions): tf.Tensor4D {
  const c = a.shape[3];
  const shift = tf.mul(tf.mean(tf.add(a, b), [1, 2], true), 0.5);
  const x = tf.sub(a, shift) as tf.Tensor4D;
  const y = tf.sub(b, shift) as tf.Tensor4D;
  const f = sepFilter(tf.concat([x, y, tf.mul(x, x), tf.mul(y, y), tf.mul(x, y)], 3) as tf.Tensor4D, o.kernel);
  const [m1, m2, e11, e22, e12] = tf.split(f, [c, c, c, c, c], 3) as tf.Tensor4D[];
  const mu1 = tf.add(m1!, shift);
  const mu2 = tf.add(m2!, shift);
  const s1 = tf.mul(tf.sub(e11!, tf.square(m1!)), o.covNorm);
  const s2 = tf.mul(tf.sub(e22!, tf.square(m2!)), o.covNorm);
  const s12 = tf.mul(tf.sub(e12!, tf.mul(m1!, m2!)), o.covNorm);
  // The data are on the [0, 255] scale here (see prepare), so L = 255.
  const C1 = (o.k1 * 255) ** 2;
  const C2 = (o.k2 * 255) ** 2;
  const num = tf.mul(tf.add(tf.mul(tf.mul(mu1, mu2), 2), C1), tf.add(tf.mul(s12, 2), C2));
  const den = tf.mul(tf.add(tf.add(tf.square(mu1), tf.square(mu2)), C1), tf.add(tf.add(s1, s2), C2));
  return tf.div(num, den) as tf.Tensor4D;
}

function ssimMapOf(fn: string, pred: tf.Tensor, target: tf.Tensor, o: ResolvedSSIMOptions): tf.Tensor4D {
  const shape = checkPair(fn, pred, target);
  checkSize(fn, shape, o, o.windowSize);
  return tf.tidy(() => ssimMapCore(prepare(pred, o), prepare(target, o), o));
}

/**
 * The SSIM map [N, H', W', C'] of an NHWC (or HWC) pair with tf ops (float32): the local SSIM at
 * every valid window position (H' = H − 2·cropBorder − windowSize + 1; C' = 1 with `testYChannel`
 * on RGB). Valid positions only is what BasicSR does, and equals scikit-image's crop of
 * (windowSize − 1)/2 (which also makes skimage's reflect padding irrelevant). Differentiable;
 * no value-range check (`outOfRange: 'clip'` clamps). Defaults: BasicSR's Gaussian 11×11, σ 1.5;
 * `window: 'uniform'` gives scikit-image's 7×7 with sample covariance.
 */
export function ssimMap(pred: tf.Tensor, target: tf.Tensor, options?: SSIMOptions): tf.Tensor4D {
  return ssimMapOf('ssimMap', pred, target, resolveSSIMOptions('ssimMap', options));
}

/**
 * SSIM per image [N] with tf ops (float32): the mean of `ssimMap` over positions and channels.
 * With the defaults this is BasicSR's `calculate_ssim` (the MATLAB `ssim_index` of Wang et al.;
 * Restormer protocol): 11×11 Gaussian window σ 1.5, valid region, C1 = (0.01·L)², C2 = (0.03·L)².
 * `window: 'uniform'` is scikit-image's `structural_similarity` (= `ssimSkimageTensor`); the
 * window, σ, K1, K2 and the covariance normalisation are options. Differentiable (it is the SSIM
 * of @restorekit/losses' `SSIMLoss`). No value-range check.
 */
export function ssimTensor(pred: tf.Tensor, target: tf.Tensor, options?: SSIMOptions): tf.Tensor1D {
  const o = resolveSSIMOptions('ssimTensor', options);
  return tf.tidy(() => tf.mean(ssimMapOf('ssimTensor', pred, target, o), [1, 2, 3]) as tf.Tensor1D);
}

/**
 * scikit-image `structural_similarity` (AnyIR / FSDerain protocol) per image with tf ops
 * (float32): `ssimTensor` with `window: 'uniform'` — 7×7 uniform window, sample covariance
 * (×49/48), mean over the interior (3 px cropped from each border), per-channel mean
 * (`channel_axis=2`). Takes the metric options only (the window is the protocol). Differentiable.
 * No range check.
 */
export function ssimSkimageTensor(pred: tf.Tensor, target: tf.Tensor, options?: MetricOptions): tf.Tensor1D {
  const o = resolveSSIMOptions('ssimSkimageTensor', { ...resolveMetricOptions('ssimSkimageTensor', options), window: 'uniform' });
  return tf.tidy(() => tf.mean(ssimMapOf('ssimSkimageTensor', pred, target, o), [1, 2, 3]) as tf.Tensor1D);
}

/**
 * Throws `ValueRangeError` when a tensor has values outside [0, dataRange] (or NaN). Only float tensors can hold NaN,
 * and only they are asked (TensorFlow's IsNan, under tfjs-node, rejects integer inputs).
 */
export async function checkTensorRange(fn: string, tensors: [string, tf.Tensor][], o: ResolvedMetricOptions): Promise<void> {
  if (o.outOfRange !== 'error') return;
  const stats = tf.tidy(() =>
    tf.stack(
      tensors
        .flatMap(([, t]) => [tf.min(t), tf.max(t), t.dtype === 'float32' ? tf.sum(tf.cast(tf.isNaN(t), 'float32')) : tf.scalar(0)])
        .map((s) => tf.cast(s, 'float32')),
    ),
  );
  const v = (await stats.data()) as Float32Array;
  stats.dispose();
  const slack = rangeSlack(o.dataRange);
  tensors.forEach(([name], i) => {
    const lo = v[3 * i]!;
    const hi = v[3 * i + 1]!;
    if (v[3 * i + 2]! > 0 || Number.isNaN(lo) || Number.isNaN(hi)) throw new ValueRangeError(`${fn}: ${name} contains NaN`);
    if (lo < -slack || hi > o.dataRange + slack)
      throw new ValueRangeError(
        `${fn}: ${name} has values in [${lo}, ${hi}] but dataRange is ${o.dataRange}` +
          (hi > 1 + slack && o.dataRange === 1 ? ' (pass dataRange: 255 for images in [0, 255])' : '') +
          "; pass outOfRange: 'clip' to clamp them",
      );
  });
}
