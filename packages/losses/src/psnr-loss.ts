import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@restorekit/core';
import { rgbToY } from '@restorekit/metrics';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkPair, checkReduction, reduceBatch, type Reduction } from './reduction.js';

const SCALE = 10 / Math.log(10);

export interface PSNRLossOptions {
  /** Compare the BT.601 luma Y of RGB inputs in [0, 1] (@restorekit/metrics' `rgbToY`: 16/255 … 235/255), as BasicSR's `toY`. Default false. */
  toY?: boolean;
  reduction?: Reduction;
}

/**
 * PSNR loss of HINet/NAFNet's BasicSR (`PSNRLoss`): (10/ln 10)·log(mean_{C,H,W}(pred − target)² + 1e-8),
 * averaged over the batch; i.e. −PSNR up to a constant. Reduction 'none' gives the per-sample values [B].
 */
export function psnrLoss(pred: tf.Tensor, target: tf.Tensor, opts: PSNRLossOptions = {}): tf.Tensor {
  const reduction = checkReduction('psnrLoss', opts.reduction);
  checkPair('psnrLoss', pred, target);
  if (opts.toY && pred.shape[3] !== 3) throw new ShapeError(`psnrLoss: toY needs 3-channel RGB inputs, got ${pred.shape[3]} channels`);
  return tf.tidy(() => {
    const p = opts.toY ? rgbToY(pred) : pred;
    const t = opts.toY ? rgbToY(target) : target;
    const perSample = tf.mul(tf.log(tf.add(tf.mean(tf.squaredDifference(p, t), [1, 2, 3]), 1e-8)), SCALE);
    return reduceBatch(perSample, reduction);
  });
}

/** Registered PSNR loss (`{ type: 'PSNRLoss', toY, lossWeight }`). */
export class PSNRLoss extends Loss<LossOptions & { toY?: boolean }> {
  static readonly type = 'PSNRLoss';
  constructor(options: LossOptions & { toY?: boolean } = {}) {
    super(PSNRLoss.type, options);
    if (options.toY !== undefined && typeof options.toY !== 'boolean') throw new ConfigError(`PSNRLoss: toY must be a boolean`);
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    return psnrLoss(pred, target, { toY: this.options.toY, reduction: this.reduction });
  }
}
registerLoss(PSNRLoss.type, (o) => new PSNRLoss(o));
