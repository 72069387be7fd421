import * as tf from '@tensorflow/tfjs-core';
import { resolveSSIMOptions, ssimTensor, type SSIMOptions } from '@restorekit/metrics';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkPair, checkReduction, reduceBatch, type Reduction } from './reduction.js';

/**
 * Differentiable 1 − SSIM, averaged over the batch ('none': per sample [B]). The SSIM is
 * @restorekit/metrics' `ssimTensor`, the one tensor SSIM of restorekit, with its options and
 * defaults: Gaussian 11×11, σ 1.5, population covariance, dataRange 1 (Wang et al.; BasicSR);
 * `window: 'uniform'` for scikit-image's 7×7 with sample covariance (FSDerain); `outOfRange: 'clip'`
 * clamps both images to [0, dataRange] first. Inputs: float32 NHWC.
 */
export function ssimLoss(pred: tf.Tensor, target: tf.Tensor, opts: SSIMOptions & { reduction?: Reduction } = {}): tf.Tensor {
  const { reduction: r, ...o } = opts;
  const reduction = checkReduction('ssimLoss', r);
  checkPair('ssimLoss', pred, target);
  return tf.tidy(() => reduceBatch(tf.sub(1, ssimTensor(pred, target, o)), reduction));
}

export type SSIMLossOptions = LossOptions & SSIMOptions;

/** Registered SSIM loss: `{ type: 'SSIMLoss', window: 'gaussian' | 'uniform', ... }` → lossWeight · (1 − SSIM). */
export class SSIMLoss extends Loss<SSIMLossOptions> {
  static readonly type = 'SSIMLoss';
  constructor(options: SSIMLossOptions = {}) {
    super(SSIMLoss.type, options);
    resolveSSIMOptions(SSIMLoss.type, this.ssimOptions());
  }
  private ssimOptions(): SSIMOptions {
    const { lossWeight: _w, reduction: _r, ...o } = this.options;
    return o;
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    return ssimLoss(pred, target, { ...this.ssimOptions(), reduction: this.reduction });
  }
}
registerLoss(SSIMLoss.type, (o) => new SSIMLoss(o));
