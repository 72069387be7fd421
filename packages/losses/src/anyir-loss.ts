import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@restorekit/core';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkNumber, checkPair } from './reduction.js';
import { fftLoss } from './fft-loss.js';

export interface AnyIRLossOptions extends LossOptions {
  /** Weight of the FFT term (AnyIR `--fft_loss_weight`, 0.1 in every script). */
  fftWeight?: number;
}

/**
 * AnyIR's training objective (train.py): L1(pred, target) + 0.1·FFTLoss, FFTLoss = mean |stack(re, im)
 * of the unnormalised rfft2(pred) − same of rfft2(target)| (utils/loss_utils.py). Because the DFT is
 * not normalised the FFT term grows like √(HW): keep the patch size in mind when changing fftWeight.
 */
export class AnyIRLoss extends Loss<AnyIRLossOptions> {
  static readonly type = 'AnyIRLoss';
  readonly fftWeight: number;
  constructor(options: AnyIRLossOptions = {}) {
    super(AnyIRLoss.type, options);
    this.fftWeight = checkNumber(this.type, 'fftWeight', options.fftWeight, 0.1);
    if (this.reduction === 'none')
      throw new ConfigError(`AnyIRLoss: reduction 'none' is not supported (L1 and FFT terms have different shapes); use 'mean' or 'sum'`);
  }

  /** `{ total, l1, fft }` with `fft` already multiplied by fftWeight (as the official `aux_loss`), total = lossWeight·(l1 + fft). */
  terms(pred: tf.Tensor, target: tf.Tensor): { total: tf.Scalar; l1: tf.Scalar; fft: tf.Scalar } {
    checkPair(this.type, pred, target);
    return tf.tidy(() => {
      const red = this.reduction === 'sum' ? 'sum' : 'mean';
      const l1 = (red === 'sum' ? tf.sum(tf.abs(tf.sub(pred, target))) : tf.mean(tf.abs(tf.sub(pred, target)))) as tf.Scalar;
      const fft = tf.mul(fftLoss(pred, target, { reduction: red }), this.fftWeight) as tf.Scalar;
      return { total: tf.mul(tf.add(l1, fft), this.lossWeight) as tf.Scalar, l1, fft };
    });
  }

  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    const { total, l1, fft } = this.terms(pred, target);
    const v = tf.add(l1, fft);
    tf.dispose([total, l1, fft]);
    return v;
  }
}
registerLoss(AnyIRLoss.type, (o) => new AnyIRLoss(o));
