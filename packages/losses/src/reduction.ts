import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape } from '@restorekit/core';

/** BasicSR reductions: 'none' keeps the elementwise loss, 'mean' and 'sum' reduce to a scalar. */
export type Reduction = 'none' | 'mean' | 'sum';
export const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];

export function checkReduction(where: string, r: unknown): Reduction {
  if (r === undefined) return 'mean';
  if (!REDUCTIONS.includes(r as Reduction)) throw new ConfigError(`${where}: unknown reduction '${String(r)}' (none | mean | sum)`);
  return r as Reduction;
}

export function checkNumber(where: string, name: string, v: unknown, def: number, opts: { min?: number; positive?: boolean } = {}): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where}: ${name} must be a finite number, got ${JSON.stringify(v)}`);
  if (opts.positive && !(v > 0)) throw new ConfigError(`${where}: ${name} must be > 0, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new ConfigError(`${where}: ${name} must be >= ${opts.min}, got ${v}`);
  return v;
}

/** A float32 tensor; anything else (not a tensor at all, or another dtype) is a `DTypeError`. */
export function checkFloat(where: string, name: string, t: unknown): asserts t is tf.Tensor {
  if (!(t instanceof tf.Tensor))
    throw new DTypeError(`${where}: ${name} must be a tf.Tensor, got ${t === null ? 'null' : Array.isArray(t) ? 'an array' : typeof t}`);
  if (t.dtype !== 'float32') throw new DTypeError(`${where}: ${name} must be float32, got ${t.dtype}`);
}

/** Prediction and target must be float32 tensors of one shape (rank 4 NHWC unless `anyRank`). */
export function checkPair(where: string, pred: tf.Tensor, target: tf.Tensor, opts: { anyRank?: boolean } = {}): void {
  checkFloat(where, 'prediction', pred);
  checkFloat(where, 'target', target);
  if (!opts.anyRank && pred.rank !== 4) throw new ShapeError(`${where}: prediction must be rank 4 [B, H, W, C] (NHWC), got shape ${fmtShape(pred.shape)}`);
  if (pred.rank !== target.rank || pred.shape.some((d, i) => d !== target.shape[i]))
    throw new ShapeError(`${where}: prediction shape ${fmtShape(pred.shape)} does not match target shape ${fmtShape(target.shape)}`);
}

/** A spatial weight mask for an NHWC loss map: [B, H, W, 1] (shared by all channels) or [B, H, W, C]. */
export function checkWeight(where: string, loss: tf.Tensor, weight: tf.Tensor): void {
  checkFloat(where, 'weight', weight);
  const s = loss.shape;
  const w = weight.shape;
  const ok = w.length === s.length && w.every((d, i) => (i === s.length - 1 ? d === 1 || d === s[i] : d === s[i]));
  if (!ok)
    throw new ShapeError(
      `${where}: weight shape ${fmtShape(w)} must be ${fmtShape([...s.slice(0, -1), 1])} or ${fmtShape(s)} for a loss of shape ${fmtShape(s)}`,
    );
}

/**
 * BasicSR's `weight_reduce_loss` (basicsr/losses/loss_util.py) in NHWC: the elementwise loss is
 * multiplied by the weight; 'sum' sums; weighted 'mean' divides the weighted sum by the weight sum,
 * where a one-channel weight counts once per channel (sum(w)·C), as BasicSR does. Without a weight,
 * 'mean' is the plain mean.
 */
export function weightReduceLoss(loss: tf.Tensor, weight: tf.Tensor | undefined, reduction: Reduction, where = 'loss'): tf.Tensor {
  return tf.tidy(() => {
    let l = loss;
    if (weight) {
      checkWeight(where, loss, weight);
      l = tf.mul(l, weight);
    }
    if (reduction === 'none') return l;
    if (reduction === 'sum') return tf.sum(l);
    if (!weight) return tf.mean(l);
    const c = loss.shape[loss.rank - 1]!;
    const wsum = weight.shape[weight.rank - 1] === 1 && c > 1 ? tf.mul(tf.sum(weight), c) : tf.sum(weight);
    return tf.div(tf.sum(l), wsum);
  });
}

/** `reduction` of a per-sample loss vector [B] (losses that are not elementwise: PSNR, SSIM). */
export function reduceBatch(perSample: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === 'none') return perSample;
  return reduction === 'sum' ? tf.sum(perSample) : tf.mean(perSample);
}
