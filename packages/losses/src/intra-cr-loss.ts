import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, detach, fmtShape } from '@restorekit/core';
import { registerLoss, type LossInputs } from './loss.js';
import { checkFloat, checkNumber, checkPair, weightReduceLoss } from './reduction.js';
import { VGGFeatures } from './vgg-features.js';
import { VGGFeatureLoss, type VGGLossOptions } from './vgg-loss.js';

export interface IntraCRLossOptions extends VGGLossOptions {
  /** Mixup coefficients of the three negatives λ·degraded + (1 − λ)·target. Default [1, 0.95, 0.9]. */
  lambdas?: [number, number, number];
  /** Weights of the VGG-19 slices relu1_1, relu2_1, relu3_1. Default [1/16, 1/8, 1/4]. */
  sliceWeights?: [number, number, number];
  /** Weight of the contrastive sum relative to L1. Default 0.05. */
  crWeight?: number;
  /** Added to the denominator. Default 1e-7. */
  eps?: number;
}

/** The parts of one Intra-CR evaluation (all include nothing of lossWeight except `total`). */
export interface IntraCRTerms {
  /** lossWeight · (L1 + crWeight · Σ ω_i CR_i) */
  total: tf.Scalar;
  /** L1(pred, target) (BasicSR `l1_loss` with the optional weight mask) */
  l1: tf.Scalar;
  /** [CR_1, CR_2, CR_3] */
  cr: tf.Tensor1D;
  /** [3, 4]: d(a, p), d(a, n1), d(a, n2), d(a, n3) per slice */
  dists: tf.Tensor2D;
}

/**
 * DRCNet's intra-class contrastive regularisation (`IntraCRLoss`, Li et al. ECCV 2022):
 * w·L1(pred, target) + w·0.05·Σ_i ω_i · d(φ_i(pred), φ_i(target)) /
 * (d(φ_i(pred), φ_i(n1)) + λ2·d(φ_i(pred), φ_i(n2)) + λ3·d(φ_i(pred), φ_i(n3)) + 1e-7),
 * n_k = λ_k·degraded + (1 − λ_k)·target, φ = VGG-19 relu1_1 / relu2_1 / relu3_1 (features[0:2], [2:7],
 * [7:12]) without ImageNet normalisation, d = mean |·|, positives and negatives detached.
 * Follows the code: λ on the degraded image (the paper figure names it the other way round), the
 * denominator weights are λ2, λ3, and the negative is passed explicitly (`{ degraded }`), as the
 * released training code intended (its call omits it and raises a TypeError).
 */
export class IntraCRLoss extends VGGFeatureLoss<IntraCRLossOptions> {
  static readonly type = 'IntraCRLoss';
  readonly vgg: VGGFeatures;
  readonly lambdas: number[];
  readonly sliceWeights: number[];

  constructor(options: IntraCRLossOptions = {}) {
    super(IntraCRLoss.type, options);
    const arr = (name: string, v: unknown, def: number[]) => {
      if (v === undefined) return def;
      if (!Array.isArray(v) || v.length !== 3) throw new ConfigError(`IntraCRLoss: ${name} must be an array of 3 numbers, got ${JSON.stringify(v)}`);
      return v.map((x, i) => checkNumber('IntraCRLoss', `${name}[${i}]`, x, 0));
    };
    this.lambdas = arr('lambdas', options.lambdas, [1, 0.95, 0.9]);
    this.sliceWeights = arr('sliceWeights', options.sliceWeights, [1 / 16, 1 / 8, 1 / 4]);
    checkNumber('IntraCRLoss', 'crWeight', options.crWeight, 0.05);
    checkNumber('IntraCRLoss', 'eps', options.eps, 1e-7, { min: 0 });
    if (this.reduction === 'none')
      throw new ConfigError(`IntraCRLoss: reduction 'none' is not supported (the contrastive ratio is a scalar); use 'mean' or 'sum'`);
    this.vgg = new VGGFeatures({ arch: 'vgg19', layers: ['relu1_1', 'relu2_1', 'relu3_1'], inputNorm: false });
    this.vgg.trainable = false;
  }

  protected weightsHint(): string {
    return 'torchvision vgg19 weights (features.0/2/5/7/10)';
  }

  terms(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): IntraCRTerms {
    checkPair(this.type, pred, target);
    const neg = inputs.degraded;
    if (!neg) throw new ConfigError(`IntraCRLoss: the degraded input is required: loss.call(pred, target, { degraded })`);
    checkFloat(this.type, 'degraded', neg);
    if (neg.rank !== 4 || neg.shape.some((d, i) => d !== pred.shape[i]))
      throw new ShapeError(`IntraCRLoss: degraded shape ${fmtShape(neg.shape)} does not match prediction shape ${fmtShape(pred.shape)}`);
    const crW = this.options.crWeight ?? 0.05;
    const eps = this.options.eps ?? 1e-7;
    const [l1, cr, dists] = tf.tidy(() => {
      const n = pred.shape[0];
      const t = detach(target);
      const ng = detach(neg);
      const negs = this.lambdas.map((lam) => tf.add(tf.mul(ng, lam), tf.mul(t, 1 - lam)));
      const feats = this.features(tf.concat([pred, t, ...negs], 0));
      const rows: tf.Tensor[] = [];
      const crs: tf.Tensor[] = [];
      for (const f of feats) {
        const [a, p, n1, n2, n3] = tf.split(f, [n, n, n, n, n], 0);
        const d = [p, n1, n2, n3].map((x) => tf.mean(tf.abs(tf.sub(a!, detach(x!)))));
        rows.push(tf.stack(d));
        crs.push(tf.div(d[0]!, tf.add(tf.add(tf.add(d[1]!, tf.mul(d[2]!, this.lambdas[1]!)), tf.mul(d[3]!, this.lambdas[2]!)), eps)));
      }
      const l1v = weightReduceLoss(tf.abs(tf.sub(pred, t)), inputs.weight, this.reduction, this.type);
      return [l1v as tf.Scalar, tf.stack(crs) as tf.Tensor1D, tf.stack(rows) as tf.Tensor2D];
    });
    const total = tf.tidy(() => tf.mul(this.combine(l1, cr, crW), this.lossWeight) as tf.Scalar);
    return { total, l1, cr, dists };
  }

  private combine(l1: tf.Tensor, cr: tf.Tensor, crW: number): tf.Tensor {
    return tf.add(l1, tf.mul(tf.sum(tf.mul(cr, tf.tensor1d(this.sliceWeights))), crW));
  }

  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    const { total, l1, cr, dists } = this.terms(pred, target, inputs);
    const v = this.combine(l1, cr, this.options.crWeight ?? 0.05);
    tf.dispose([total, l1, cr, dists]);
    return v;
  }
}
registerLoss(IntraCRLoss.type, (o) => new IntraCRLoss(o));
