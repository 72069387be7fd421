import * as tf from '@tensorflow/tfjs-core';
import { Loss, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkNumber, checkPair, checkReduction, weightReduceLoss, type Reduction } from './reduction.js';

export interface CharbonnierOptions {
  /** ε of sqrt(d² + ε²). Default 1e-3 (Restormer/HINet/DRCNet `CharbonnierLoss`). */
  eps?: number;
  weight?: tf.Tensor;
  reduction?: Reduction;
}

/**
 * Charbonnier loss sqrt((pred − target)² + ε²), ε = 1e-3, as the `CharbonnierLoss` of the
 * Restormer / HINet / DRCNet copies of BasicSR (`torch.sqrt(diff*diff + eps*eps)`). Upstream BasicSR
 * writes sqrt(d² + eps) with eps = 1e-12 instead: pass `eps: 1e-6` for that.
 */
export function charbonnierLoss(pred: tf.Tensor, target: tf.Tensor, opts: CharbonnierOptions = {}): tf.Tensor {
  const eps = checkNumber('charbonnierLoss', 'eps', opts.eps, 1e-3, { positive: true });
  const reduction = checkReduction('charbonnierLoss', opts.reduction);
  checkPair('charbonnierLoss', pred, target, { anyRank: !opts.weight });
  return tf.tidy(() => weightReduceLoss(tf.sqrt(tf.add(tf.squaredDifference(pred, target), eps * eps)), opts.weight, reduction, 'charbonnierLoss'));
}

/** Registered Charbonnier loss (`{ type: 'CharbonnierLoss', eps: 1e-3, lossWeight, reduction }`). */
export class CharbonnierLoss extends Loss<LossOptions & { eps?: number }> {
  static readonly type = 'CharbonnierLoss';
  readonly eps: number;
  constructor(options: LossOptions & { eps?: number } = {}) {
    super(CharbonnierLoss.type, options);
    this.eps = checkNumber(CharbonnierLoss.type, 'eps', options.eps, 1e-3, { positive: true });
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    return charbonnierLoss(pred, target, { eps: this.eps, weight: inputs.weight, reduction: this.reduction });
  }
}
registerLoss(CharbonnierLoss.type, (o) => new CharbonnierLoss(o));
