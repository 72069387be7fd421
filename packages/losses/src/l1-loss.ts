import * as tf from '@tensorflow/tfjs-core';
import { Loss, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkPair, checkReduction, weightReduceLoss, type Reduction } from './reduction.js';

/** Mean (or sum / elementwise) absolute error, optionally weighted (BasicSR `l1_loss`). */
export function l1Loss(pred: tf.Tensor, target: tf.Tensor, opts: { weight?: tf.Tensor; reduction?: Reduction } = {}): tf.Tensor {
  const reduction = checkReduction('l1Loss', opts.reduction);
  checkPair('l1Loss', pred, target, { anyRank: !opts.weight });
  return tf.tidy(() => weightReduceLoss(tf.abs(tf.sub(pred, target)), opts.weight, reduction, 'l1Loss'));
}

/** BasicSR `L1Loss` (PyTorch `nn.L1Loss`): lossWeight · mean |pred − target|. */
export class L1Loss extends Loss {
  static readonly type = 'L1Loss';
  constructor(options: LossOptions = {}) {
    super(L1Loss.type, options);
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    return l1Loss(pred, target, { weight: inputs.weight, reduction: this.reduction });
  }
}
registerLoss(L1Loss.type, (o) => new L1Loss(o));
