import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, detach, fmtShape, loadTorchStateDict, type LoadReport } from '@restorekit/core';
import { ssimTensor } from '@restorekit/metrics';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkFloat, checkNumber, checkPair } from './reduction.js';
import { PerceptualLoss } from './perceptual-loss.js';
import { FrequencyEncoder } from './frequency-encoder.js';
import { infoNCELoss, tripletLoss } from './contrast-loss.js';
import { extractHighFrequency, fftAmplitude, fsderainHighFrequencyMask, type FSDerainMaskMode } from './fsderain-amplitude-loss.js';
import { notKeyOf, stateDictOf, type WeightSource } from './weight-source.js';

export interface FSDerainLossWeights {
  l1?: number;
  ssim?: number;
  percep?: number;
  contrast?: number;
  fft?: number;
}

export interface FSDerainLossOptions extends LossOptions {
  /** Term weights, default { l1: 1, ssim: 0.5, percep: 0.1, contrast: 0.1, fft: 0.05 } (new-dual.py). */
  weights?: FSDerainLossWeights;
  /** Mask of the encoder inputs: 'official-unshifted' (default, what new-dual.py trains with) or 'shifted' (the intended high-pass). */
  mask?: Exclude<FSDerainMaskMode, 'none'>;
  /** Mask radius in units of H. Default 0.1. */
  radius?: number;
  /** InfoNCE temperature (0.1), triplet margin (0.3) and triplet weight inside the contrast term (0.1). */
  temperature?: number;
  margin?: number;
  tripletWeight?: number;
  /**
   * 'official-nograd' (default): skimage SSIM on detached, clamped images, so the term shifts the
   * value but carries no gradient, as in new-dual.py; 'differentiable': the same SSIM with gradients
   * (changes training behaviour).
   */
  ssim?: 'official-nograd' | 'differentiable';
  /** FrequencyEncoder input channels / feature size (3 / 128). */
  encoderInChannels?: number;
  encoderOutDim?: number;
  /** Allow the randomly initialised VGG-16 (tests only). Default false. */
  allowRandomWeights?: boolean;
}

/** Every part of one FSDerain loss evaluation (names as the fixture's outputs). */
export interface FSDerainTerms {
  total: tf.Scalar;
  l1: tf.Scalar;
  /** 1 − mean SSIM */
  ssim: tf.Scalar;
  percep: tf.Scalar;
  /** tripletWeight·triplet + InfoNCE */
  contrast: tf.Scalar;
  triplet: tf.Scalar;
  infoNCE: tf.Scalar;
  /** mean | |fft2(out)| − |fft2(clean)| | (full spectrum) */
  fftAmp: tf.Scalar;
  /** masked amplitude of the output (the encoder's anchor input) [B, H, W, C] */
  hfAnchor: tf.Tensor4D;
  /** [H, W] mask, 1 = kept (in the layout the spectrum has when it is applied) */
  hfMask: tf.Tensor2D;
  featAnchor: tf.Tensor2D;
  featPos: tf.Tensor2D;
  featNeg: tf.Tensor2D;
}

const DEFAULT_WEIGHTS: Required<FSDerainLossWeights> = { l1: 1, ssim: 0.5, percep: 0.1, contrast: 0.1, fft: 0.05 };

/**
 * The whole FSDerain fine-tuning objective (Kallyelish/2025-DIP-PJ new-dual.py):
 * 1.0·L1 + 0.5·(1 − SSIM) + 0.1·Perc + 0.1·(0.1·Triplet + InfoNCE) + 0.05·AmpL1, with
 * Perc = L1 of VGG-16 features[0:17] (pool3) on raw [0, 1] inputs, amplitudes |fft2(·, ortho)|,
 * the FrequencyEncoder on the masked amplitudes of output (anchor), clean (positive) and rainy input
 * (negative), Triplet with PyTorch's pairwise distance (margin 0.3) and InfoNCE (τ 0.1).
 * Call `loss.call(output, clean, { degraded: rain })`. The encoder is trained with the restorer: add
 * `loss.trainableVariables` to the optimizer. VGG-16 weights come from the user (`loadWeights`).
 */
export class FSDerainLoss extends Loss<FSDerainLossOptions> {
  static readonly type = 'FSDerainLoss';
  readonly perceptual: PerceptualLoss;
  readonly encoder: FrequencyEncoder;
  readonly weights: Required<FSDerainLossWeights>;

  constructor(options: FSDerainLossOptions = {}) {
    super(FSDerainLoss.type, options);
    const w = options.weights ?? {};
    if (w === null || typeof w !== 'object') throw new ConfigError(`FSDerainLoss: weights must be an object`);
    for (const k of Object.keys(w)) if (!(k in DEFAULT_WEIGHTS)) throw new ConfigError(`FSDerainLoss: unknown weight '${k}' (l1, ssim, percep, contrast, fft)`);
    this.weights = Object.fromEntries(
      Object.entries(DEFAULT_WEIGHTS).map(([k, d]) => [k, checkNumber(this.type, `weights.${k}`, (w as Record<string, unknown>)[k], d)]),
    ) as Required<FSDerainLossWeights>;
    const mask = options.mask ?? 'official-unshifted';
    if (mask !== 'official-unshifted' && mask !== 'shifted')
      throw new ConfigError(`FSDerainLoss: mask must be 'official-unshifted' or 'shifted', got ${JSON.stringify(mask)}`);
    const s = options.ssim ?? 'official-nograd';
    if (s !== 'official-nograd' && s !== 'differentiable')
      throw new ConfigError(`FSDerainLoss: ssim must be 'official-nograd' or 'differentiable', got ${JSON.stringify(s)}`);
    checkNumber(this.type, 'radius', options.radius, 0.1, { min: 0 });
    checkNumber(this.type, 'temperature', options.temperature, 0.1, { positive: true });
    checkNumber(this.type, 'margin', options.margin, 0.3);
    checkNumber(this.type, 'tripletWeight', options.tripletWeight, 0.1);
    if (this.reduction !== 'mean') throw new ConfigError(`FSDerainLoss: only reduction 'mean' is supported (as the official code)`);
    this.perceptual = new PerceptualLoss({ arch: 'vgg16', layerWeights: { pool3: 1 }, inputNorm: false, allowRandomWeights: options.allowRandomWeights });
    this.encoder = new FrequencyEncoder({ inChannels: options.encoderInChannels ?? 3, outDim: options.encoderOutDim ?? 128 });
  }

  /** Loads VGG-16 weights (`features.{0,2,5,7,10,12,14}.*`) and, when the source has them, FrequencyEncoder weights (`encoder.*`). */
  async loadWeights(src: WeightSource, opts: { encoderPrefix?: string } = {}): Promise<{ vgg: LoadReport; encoder: LoadReport | null }> {
    const sd = stateDictOf(src, 'FSDerainLoss weights');
    const vgg = await this.perceptual.loadWeights(sd);
    const prefix = opts.encoderPrefix ?? '';
    const hasEncoder = Object.keys(sd).some((k) => k.startsWith(`${prefix}encoder.`));
    return { vgg, encoder: hasEncoder ? await this.loadEncoderWeights(sd, { prefix }) : null };
  }

  /**
   * Loads a trained FrequencyEncoder (`encoder.{0,2,4,8}.weight/bias`, e.g. `freq_encoder_state_dict`) with
   * core's `loadTorchStateDict`; other keys (VGG, the restorer) are ignored, a missing encoder key throws `WeightsError`.
   */
  async loadEncoderWeights(src: WeightSource, opts: { prefix?: string } = {}): Promise<LoadReport> {
    this.buildEncoder();
    const prefix = opts.prefix ?? '';
    return loadTorchStateDict(this.encoder, stateDictOf(src, 'FrequencyEncoder weights'), { prefix, strict: true, ignore: notKeyOf(this.encoder, prefix) });
  }

  private buildEncoder(): void {
    if (!this.encoder.built) this.encoder.build([null, null, null, this.encoder.inChannels]);
  }

  /** The FrequencyEncoder's variables (train them with the restorer, as FSDerain does). */
  get trainableVariables(): tf.Variable[] {
    this.buildEncoder();
    return this.encoder.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** Every part of the objective (all terms computed, whatever their weight). */
  terms(output: tf.Tensor, clean: tf.Tensor, rain: tf.Tensor): FSDerainTerms {
    return this.evaluate(output, clean, rain, true);
  }

  /** Computes the terms; with `all` false, terms of weight 0 are skipped (reported as 0; no VGG needed when percep is 0). */
  private evaluate(output: tf.Tensor, clean: tf.Tensor, rain: tf.Tensor, all: boolean): FSDerainTerms {
    checkPair(this.type, output, clean);
    checkFloat(this.type, 'the rainy input (degraded)', rain);
    if (rain.rank !== 4 || rain.shape.some((d, i) => d !== output.shape[i]))
      throw new ShapeError(`FSDerainLoss: the rainy input (degraded) must have the output's shape ${fmtShape(output.shape)}, got ${fmtShape(rain.shape)}`);
    this.buildEncoder();
    const o = this.options;
    const W = this.weights;
    const need = (w: number) => all || w !== 0;
    const mask = o.mask ?? 'official-unshifted';
    const radius = o.radius ?? 0.1;
    let percep: tf.Scalar;
    if (need(W.percep)) {
      const p = this.perceptual.terms(output, clean);
      tf.dispose(p.layers);
      percep = p.total;
    } else percep = tf.scalar(0);
    const r = tf.tidy(() => {
      const [b, h, w] = output.shape as number[];
      const zero = () => tf.scalar(0);
      const l1 = (need(W.l1) ? tf.mean(tf.abs(tf.sub(output, clean))) : zero()) as tf.Scalar;
      const differentiable = (o.ssim ?? 'official-nograd') === 'differentiable';
      // skimage's structural_similarity on images clamped to [0, 1] (new-dual.py clamps before .numpy())
      const ssimLoss = (
        need(W.ssim)
          ? tf.sub(1, tf.mean(ssimTensor(differentiable ? output : detach(output), detach(clean), { window: 'uniform', outOfRange: 'clip' })))
          : zero()
      ) as tf.Scalar;
      const ampOut = fftAmplitude(output);
      const ampClean = fftAmplitude(clean);
      const fftAmp = (need(W.fft) ? tf.mean(tf.abs(tf.sub(ampOut, ampClean))) : zero()) as tf.Scalar;
      const hf = [ampOut, ampClean, fftAmplitude(rain)].map((a) => extractHighFrequency(a, { mask, radius }));
      let featAnchor: tf.Tensor2D, featPos: tf.Tensor2D, featNeg: tf.Tensor2D, triplet: tf.Scalar, infoNCE: tf.Scalar, contrast: tf.Scalar;
      if (need(W.contrast)) {
        const feats = this.encoder.apply(tf.concat(hf, 0)) as tf.Tensor2D;
        [featAnchor, featPos, featNeg] = tf.split(feats, [b!, b!, b!], 0) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        triplet = tripletLoss(featAnchor, featPos, featNeg, o.margin ?? 0.3);
        infoNCE = infoNCELoss(featAnchor, featPos, o.temperature ?? 0.1);
        contrast = tf.add(tf.mul(triplet, o.tripletWeight ?? 0.1), infoNCE) as tf.Scalar;
      } else {
        [featAnchor, featPos, featNeg] = [0, 1, 2].map(() => tf.zeros([b!, this.encoder.outDim])) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        [triplet, infoNCE, contrast] = [zero(), zero(), zero()] as tf.Scalar[] as [tf.Scalar, tf.Scalar, tf.Scalar];
      }
      const value = tf.addN([tf.mul(l1, W.l1), tf.mul(ssimLoss, W.ssim), tf.mul(percep, W.percep), tf.mul(contrast, W.contrast), tf.mul(fftAmp, W.fft)]);
      const total = tf.mul(value, this.lossWeight) as tf.Scalar;
      // the same geometric mask in both modes; with 'shifted' it is applied to the centred spectrum
      const hfMask = fsderainHighFrequencyMask(h!, w!, radius);
      return {
        total,
        l1,
        ssim: ssimLoss,
        percep: tf.clone(percep),
        contrast,
        triplet,
        infoNCE,
        fftAmp,
        hfAnchor: hf[0]!,
        hfMask,
        featAnchor,
        featPos,
        featNeg,
      };
    });
    percep.dispose();
    return r;
  }

  protected compute(output: tf.Tensor, clean: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    if (!inputs.degraded) throw new ConfigError(`FSDerainLoss: the rainy input is required: loss.call(output, clean, { degraded: rain })`);
    const t = this.evaluate(output, clean, inputs.degraded, false);
    const W = this.weights;
    const v = tf.addN([tf.mul(t.l1, W.l1), tf.mul(t.ssim, W.ssim), tf.mul(t.percep, W.percep), tf.mul(t.contrast, W.contrast), tf.mul(t.fftAmp, W.fft)]);
    tf.dispose(Object.values(t));
    return v;
  }

  override dispose(): void {
    this.perceptual.dispose();
    this.encoder.dispose();
  }
}
registerLoss(FSDerainLoss.type, (o) => new FSDerainLoss(o));
