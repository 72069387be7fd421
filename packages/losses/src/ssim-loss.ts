import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, conv2d, fmtShape } from '@restorekit/core';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkNumber, checkPair, checkReduction, reduceBatch, type Reduction } from './reduction.js';

export interface SSIMOptions {
  /**
   * 'gaussian': 11×11 Gaussian window, σ 1.5 (Wang et al. 2004; BasicSR `calculate_ssim`);
   * 'uniform': 7×7 box window (skimage `structural_similarity` default). Default 'gaussian'.
   */
  window?: 'gaussian' | 'uniform';
  /** Window size (default 11 gaussian, 7 uniform); odd. */
  windowSize?: number;
  /** Gaussian σ (default 1.5). */
  sigma?: number;
  /** Scale the (co)variances by N/(N−1), N = window pixels (skimage's default). Default: true for 'uniform', false for 'gaussian'. */
  sampleCovariance?: boolean;
  /** Dynamic range L of C1 = (K1·L)², C2 = (K2·L)². Default 1. */
  dataRange?: number;
  k1?: number;
  k2?: number;
  /** Clamp both images to [0, dataRange] first (FSDerain's SSIM does). Default false. */
  clamp?: boolean;
}

interface Resolved {
  kernel: number[];
  n: number;
  cov: number;
  c1: number;
  c2: number;
  range: number;
  clamp: boolean;
}

function resolve(where: string, o: SSIMOptions): Resolved {
  const win = o.window ?? 'gaussian';
  if (win !== 'gaussian' && win !== 'uniform') throw new ConfigError(`${where}: window must be 'gaussian' or 'uniform', got '${String(win)}'`);
  const n = checkNumber(where, 'windowSize', o.windowSize, win === 'gaussian' ? 11 : 7, { positive: true });
  if (!Number.isInteger(n) || n % 2 === 0) throw new ConfigError(`${where}: windowSize must be an odd integer, got ${n}`);
  const sigma = checkNumber(where, 'sigma', o.sigma, 1.5, { positive: true });
  const range = checkNumber(where, 'dataRange', o.dataRange, 1, { positive: true });
  const k1 = checkNumber(where, 'k1', o.k1, 0.01, { min: 0 });
  const k2 = checkNumber(where, 'k2', o.k2, 0.03, { min: 0 });
  let kernel: number[];
  if (win === 'uniform') kernel = Array(n).fill(1 / n);
  else {
    const g = Array.from({ length: n }, (_, i) => Math.exp(-((i - (n - 1) / 2) ** 2) / (2 * sigma * sigma)));
    const s = g.reduce((a, b) => a + b, 0);
    kernel = g.map((v) => v / s);
  }
  const sample = o.sampleCovariance ?? win === 'uniform';
  const np = n * n;
  return { kernel, n, cov: sample ? np / (np - 1) : 1, c1: (k1 * range) ** 2, c2: (k2 * range) ** 2, range, clamp: o.clamp ?? false };
}

/** Separable window filter, valid padding, per channel (depthwise, with gradients on every backend). */
function filter(x: tf.Tensor4D, kernel: number[]): tf.Tensor4D {
  const c = x.shape[3];
  const n = kernel.length;
  const k = tf.tensor1d(kernel);
  const wRow = tf.reshape(tf.tile(tf.reshape(k, [n, 1, 1, 1]), [1, 1, 1, c]), [n, 1, 1, c]) as tf.Tensor4D;
  const wCol = tf.reshape(wRow, [1, n, 1, c]) as tf.Tensor4D;
  return conv2d(conv2d(x, wRow, { groups: c }), wCol, { groups: c });
}

/**
 * SSIM map [B, H−n+1, W−n+1, C] (valid window positions only, i.e. skimage's crop by (n−1)/2,
 * which also makes skimage's reflect padding irrelevant), differentiable.
 */
export function ssimMap(pred: tf.Tensor, target: tf.Tensor, opts: SSIMOptions = {}): tf.Tensor4D {
  const r = resolve('ssim', opts);
  checkPair('ssim', pred, target);
  if (pred.shape[1]! < r.n || pred.shape[2]! < r.n) throw new ShapeError(`ssim: images ${fmtShape(pred.shape)} are smaller than the ${r.n}×${r.n} window`);
  return tf.tidy(() => {
    let x = pred as tf.Tensor4D;
    let y = target as tf.Tensor4D;
    if (r.clamp) {
      // clamp before filtering
      x = tf.clipByValue(x, 0, r.range);
      y = tf.clipByValue(y, 0, r.range);
    }
    const c = x.shape[3];
    const all = filter(tf.concat([x, y, tf.mul(x, x), tf.mul(y, y), tf.mul(x, y)], 3) as tf.Tensor4D, r.kernel);
    const [ux, uy, uxx, uyy, uxy] = tf.split(all, [c, c, c, c, c], 3);
    const vx = tf.mul(tf.sub(uxx!, tf.mul(ux!, ux!)), r.cov);
    const vy = tf.mul(tf.sub(uyy!, tf.mul(uy!, uy!)), r.cov);
    const vxy = tf.mul(tf.sub(uxy!, tf.mul(ux!, uy!)), r.cov);
    const a1 = tf.add(tf.mul(tf.mul(ux!, uy!), 2), r.c1);
    const a2 = tf.add(tf.mul(vxy, 2), r.c2);
    const b1 = tf.add(tf.add(tf.mul(ux!, ux!), tf.mul(uy!, uy!)), r.c1);
    const b2 = tf.add(tf.add(vx, vy), r.c2);
    return tf.div(tf.mul(a1, a2), tf.mul(b1, b2)) as tf.Tensor4D;
  });
}

/** Mean SSIM per sample [B] (mean over channels and valid positions, = skimage's channel average). */
export function ssim(pred: tf.Tensor, target: tf.Tensor, opts: SSIMOptions = {}): tf.Tensor1D {
  return tf.tidy(() => tf.mean(ssimMap(pred, target, opts), [1, 2, 3]) as tf.Tensor1D);
}

/** Differentiable 1 − SSIM, averaged over the batch ('none': per sample [B]). */
export function ssimLoss(pred: tf.Tensor, target: tf.Tensor, opts: SSIMOptions & { reduction?: Reduction } = {}): tf.Tensor {
  const reduction = checkReduction('ssimLoss', opts.reduction);
  return tf.tidy(() => reduceBatch(tf.sub(1, ssim(pred, target, opts)), reduction));
}

export type SSIMLossOptions = LossOptions & Omit<SSIMOptions, never>;

/** Registered SSIM loss: `{ type: 'SSIMLoss', window: 'gaussian' | 'uniform', ... }` → lossWeight · (1 − SSIM). */
export class SSIMLoss extends Loss<SSIMLossOptions> {
  static readonly type = 'SSIMLoss';
  constructor(options: SSIMLossOptions = {}) {
    super(SSIMLoss.type, options);
    resolve(SSIMLoss.type, options);
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    const { lossWeight: _w, reduction: _r, ...o } = this.options;
    return ssimLoss(pred, target, { ...o, reduction: this.reduction });
  }
}
registerLoss(SSIMLoss.type, (o) => new SSIMLoss(o));
