import * as tf from '@tensorflow/tfjs-core';
import { Loss, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkPair, checkReduction, weightReduceLoss, type Reduction } from './reduction.js';

/** Mean (or sum / elementwise) squared error, optionally weighted (BasicSR `mse_loss`). */
export function mseLoss(pred: tf.Tensor, target: tf.Tensor, opts: { weight?: tf.Tensor; reduction?: Reduction } = {}): tf.Tensor {
  const reduction = checkReduction('mseLoss', opts.reduction);
  checkPair('mseLoss', pred, target, { anyRank: !opts.weight });
  return tf.tidy(() => weightReduceLoss(tf.squaredDifference(pred, target), opts.weight, reduction, 'mseLoss'));
}

/** BasicSR `MSELoss` (PyTorch `nn.MSELoss`): lossWeight · mean (pred − target)². */
export class MSELoss extends Loss {
  static readonly type = 'MSELoss';
  constructor(options: LossOptions = {}) {
    super(MSELoss.type, options);
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    return mseLoss(pred, target, { weight: inputs.weight, reduction: this.reduction });
  }
}
registerLoss(MSELoss.type, (o) => new MSELoss(o));
