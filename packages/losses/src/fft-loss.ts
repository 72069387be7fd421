import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@restorekit/core';
import { fft2, rfft2, type Complex, type FFTNorm } from '@restorekit/fft';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkPair, checkReduction, type Reduction } from './reduction.js';

export type FFTTransform = 'rfft2' | 'fft2';

export interface FFTLossOptions {
  /** 'rfft2' (AnyIR: W/2+1 bins) or 'fft2' (full two-sided spectrum, MIMO-UNet / LCDNet). Default 'rfft2'. */
  transform?: FFTTransform;
  /** torch.fft norm. Default 'backward' (unnormalised forward DFT, as AnyIR and MIMO-UNet). */
  norm?: FFTNorm;
  reduction?: Reduction;
}

export function checkTransform(where: string, t: unknown): FFTTransform {
  if (t === undefined) return 'rfft2';
  if (t !== 'rfft2' && t !== 'fft2') throw new ConfigError(`${where}: transform must be 'rfft2' or 'fft2', got ${JSON.stringify(t)}`);
  return t;
}
export function checkNorm(where: string, n: unknown, def: FFTNorm): FFTNorm {
  if (n === undefined) return def;
  if (n !== 'backward' && n !== 'ortho' && n !== 'forward')
    throw new ConfigError(`${where}: norm must be 'backward', 'ortho' or 'forward', got ${JSON.stringify(n)}`);
  return n;
}

/**
 * L1 distance of spectra with real and imaginary parts stacked (AnyIR `FFTLoss`):
 * mean over B·H·(W/2+1)·C·2 of |stack(re, im)(F(pred)) − stack(re, im)(F(target))|, F = rfft2 over H, W
 * (unnormalised by default). 'none' gives the stacked differences [B, H, bins, C, 2].
 */
export function fftLoss(pred: tf.Tensor, target: tf.Tensor, opts: FFTLossOptions = {}): tf.Tensor {
  const where = 'fftLoss';
  const transform = checkTransform(where, opts.transform);
  const norm = checkNorm(where, opts.norm, 'backward');
  const reduction = checkReduction(where, opts.reduction);
  checkPair(where, pred, target);
  return tf.tidy(() => {
    const f = (x: tf.Tensor): Complex => (transform === 'rfft2' ? rfft2(x, { norm }) : fft2(x, { norm }));
    const a = f(pred);
    const b = f(target);
    const d = tf.stack([tf.abs(tf.sub(a.re, b.re)), tf.abs(tf.sub(a.im, b.im))], -1);
    if (reduction === 'none') return d;
    return reduction === 'sum' ? tf.sum(d) : tf.mean(d);
  });
}

/** Registered frequency L1 loss (`{ type: 'FFTLoss', lossWeight: 0.1 }` is AnyIR's auxiliary loss). */
export class FFTLoss extends Loss<LossOptions & Omit<FFTLossOptions, 'reduction'>> {
  static readonly type = 'FFTLoss';
  constructor(options: LossOptions & Omit<FFTLossOptions, 'reduction'> = {}) {
    super(FFTLoss.type, options);
    checkTransform(this.type, options.transform);
    checkNorm(this.type, options.norm, 'backward');
  }
  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    return fftLoss(pred, target, { transform: this.options.transform, norm: this.options.norm, reduction: this.reduction });
  }
}
registerLoss(FFTLoss.type, (o) => new FFTLoss(o));
