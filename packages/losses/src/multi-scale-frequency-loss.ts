import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape } from '@restorekit/core';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkFloat, checkNumber } from './reduction.js';
import { checkNorm, checkTransform, fftLoss, type FFTTransform } from './fft-loss.js';
import type { FFTNorm } from '@restorekit/fft';

export interface MultiScaleFrequencyLossOptions extends LossOptions {
  /** λ of L = L_s + λ·L_f. Default 0.1 (LCDNet). */
  frequencyWeight?: number;
  /** How the target is brought to each output's size: 'bilinear' (PyTorch `interpolate(scale_factor=1/s, mode='bilinear')`, align_corners False; MIMO-UNet family) or 'nearest' (x[::s, ::s]). Default 'bilinear'. */
  downsample?: 'bilinear' | 'nearest';
  /** Average the per-scale terms (¼Σ, LCDNet's formula) or sum them (MIMO-UNet's code). Default 'mean'. */
  scaleReduction?: 'mean' | 'sum';
  /** Spectrum of the frequency term. Default 'fft2' (LCDNet's 𝓕 = FFT). */
  transform?: FFTTransform;
  /** Default 'backward' (unnormalised). */
  norm?: FFTNorm;
}

/**
 * LCDNet's multi-output loss (Gao & Dang, arXiv 2504.10558): L = 1/K Σ_k ‖Î_k − I_k‖₁ + λ·1/K Σ_k
 * ‖𝓕(Î_k) − 𝓕(I_k)‖₁ over the K = 4 outputs, 𝓕 = unnormalised fft2 with real and imaginary parts
 * stacked, λ = 0.1, each norm a mean. Call `loss.call([out8, out4, out2, out1], target)`: the target I_k
 * is the full-resolution target downsampled to each output's size (reconstruction: the paper does not
 * say how; bilinear is the MIMO-UNet training code's choice).
 */
export class MultiScaleFrequencyLoss extends Loss<MultiScaleFrequencyLossOptions> {
  static readonly type = 'MultiScaleFrequencyLoss';
  readonly frequencyWeight: number;
  constructor(options: MultiScaleFrequencyLossOptions = {}) {
    super(MultiScaleFrequencyLoss.type, options);
    this.frequencyWeight = checkNumber(this.type, 'frequencyWeight', options.frequencyWeight, 0.1);
    const d = options.downsample ?? 'bilinear';
    if (d !== 'bilinear' && d !== 'nearest') throw new ConfigError(`${this.type}: downsample must be 'bilinear' or 'nearest', got ${JSON.stringify(d)}`);
    const s = options.scaleReduction ?? 'mean';
    if (s !== 'mean' && s !== 'sum') throw new ConfigError(`${this.type}: scaleReduction must be 'mean' or 'sum', got ${JSON.stringify(s)}`);
    checkTransform(this.type, options.transform ?? 'fft2');
    checkNorm(this.type, options.norm, 'backward');
    if (this.reduction === 'none') throw new ConfigError(`${this.type}: reduction 'none' is not supported; use 'mean' or 'sum'`);
  }

  /** The target at an output's size (integer factor s = H/h = W/w). */
  downsampleTarget(target: tf.Tensor, h: number, w: number): tf.Tensor {
    const [b, H, W, c] = target.shape as [number, number, number, number];
    if (h === H && w === W) return target;
    const s = H / h;
    if (!Number.isInteger(s) || W / w !== s)
      throw new ShapeError(`${this.type}: output size ${h}×${w} is not the target size ${H}×${W} divided by one integer factor`);
    if ((this.options.downsample ?? 'bilinear') === 'nearest') return tf.stridedSlice(target, [0, 0, 0, 0], [b, h * s, w * s, c], [1, s, s, 1]);
    // PyTorch bilinear, align_corners=False, no antialias: source = (dst + 0.5)·s − 0.5 = TF half-pixel centres.
    return tf.image.resizeBilinear(target as tf.Tensor4D, [h, w], false, true);
  }

  /** Per-output unweighted terms `{ spatial: [K], frequency: [K] }` and the weighted total. */
  terms(outputs: tf.Tensor[], target: tf.Tensor): { total: tf.Scalar; spatial: tf.Tensor1D; frequency: tf.Tensor1D } {
    if (!Array.isArray(outputs)) throw new DTypeError(`${this.type}: outputs must be a list of tf.Tensors, got ${outputs === null ? 'null' : typeof outputs}`);
    if (outputs.length === 0) throw new ShapeError(`${this.type}: expected a non-empty list of outputs`);
    checkFloat(this.type, 'target', target);
    if (target.rank !== 4) throw new ShapeError(`${this.type}: target must be rank 4 [B, H, W, C], got ${fmtShape(target.shape)}`);
    outputs.forEach((o, i) => {
      checkFloat(this.type, `output ${i}`, o);
      if (o.rank !== 4 || o.shape[0] !== target.shape[0] || o.shape[3] !== target.shape[3])
        throw new ShapeError(`${this.type}: output ${i} shape ${fmtShape(o.shape)} does not fit target shape ${fmtShape(target.shape)}`);
    });
    const red = this.reduction === 'sum' ? 'sum' : 'mean';
    const transform = this.options.transform ?? 'fft2';
    const norm = this.options.norm ?? 'backward';
    return tf.tidy(() => {
      const sp: tf.Tensor[] = [];
      const fr: tf.Tensor[] = [];
      for (const o of outputs) {
        const t = this.downsampleTarget(target, o.shape[1]!, o.shape[2]!);
        const d = tf.abs(tf.sub(o, t));
        sp.push(red === 'sum' ? tf.sum(d) : tf.mean(d));
        fr.push(fftLoss(o, t, { transform, norm, reduction: red }));
      }
      const spatial = tf.stack(sp) as tf.Tensor1D;
      const frequency = tf.stack(fr) as tf.Tensor1D;
      const total = tf.mul(this.combine(spatial, frequency), this.lossWeight) as tf.Scalar;
      return { total, spatial, frequency };
    });
  }

  private combine(spatial: tf.Tensor, frequency: tf.Tensor): tf.Tensor {
    const agg = (x: tf.Tensor) => ((this.options.scaleReduction ?? 'mean') === 'mean' ? tf.mean(x) : tf.sum(x));
    return tf.add(agg(spatial), tf.mul(agg(frequency), this.frequencyWeight));
  }

  protected compute(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    const { total, spatial, frequency } = this.terms(Array.isArray(pred) ? pred : [pred], target);
    const v = this.combine(spatial, frequency);
    tf.dispose([total, spatial, frequency]);
    return v;
  }
}
registerLoss(MultiScaleFrequencyLoss.type, (o) => new MultiScaleFrequencyLoss(o));
