import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '@restorekit/core';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkFloat, checkNumber } from './reduction.js';

/** PyTorch `F.pairwise_distance(a, b, p=2, eps=1e-6)` = ‖a − b + eps‖₂ per row (eps added to the difference). */
export function pairwiseDistance(a: tf.Tensor, b: tf.Tensor, eps = 1e-6): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.add(tf.sub(a, b), eps)), -1)) as tf.Tensor1D);
}

/** mean_i max(0, d(a_i, p_i) − d(a_i, n_i) + margin) with PyTorch's pairwise distance (= nn.TripletMarginLoss). */
export function tripletLoss(anchor: tf.Tensor, positive: tf.Tensor, negative: tf.Tensor, margin = 0.3): tf.Scalar {
  check('tripletLoss', anchor, positive, negative);
  return tf.tidy(() => tf.mean(tf.relu(tf.add(tf.sub(pairwiseDistance(anchor, positive), pairwiseDistance(anchor, negative)), margin))) as tf.Scalar);
}

/** F.normalize(x, dim=1): x / max(‖x‖₂, 1e-12). */
function normalizeRows(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x, 2, 1, true), 1e-12));
}

/**
 * InfoNCE of FSDerain: cross-entropy of normalize(a)·normalize(p)ᵀ / τ with targets arange(B) (the
 * other samples' positives are the negatives). Identically 0 for B = 1.
 */
export function infoNCELoss(anchor: tf.Tensor, positive: tf.Tensor, temperature = 0.1): tf.Scalar {
  check('infoNCELoss', anchor, positive);
  return tf.tidy(() => {
    const logits = tf.div(tf.matMul(normalizeRows(anchor), normalizeRows(positive), false, true), temperature);
    const logp = tf.logSoftmax(logits, 1);
    const b = anchor.shape[0];
    return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.eye(b)), 1))) as tf.Scalar;
  });
}

function check(where: string, ...xs: tf.Tensor[]): void {
  xs.forEach((x, i) => {
    checkFloat(where, `feature ${i}`, x);
  });
  const s = xs[0]!.shape;
  if (s.length !== 2) throw new ShapeError(`${where}: features must be [B, D], got ${fmtShape(s)}`);
  for (const x of xs)
    if (x.rank !== 2 || x.shape[0] !== s[0] || x.shape[1] !== s[1])
      throw new ShapeError(`${where}: feature shapes differ: ${xs.map((y) => fmtShape(y.shape)).join(' vs ')}`);
}

export interface ContrastLossOptions extends LossOptions {
  /** InfoNCE temperature τ. Default 0.1. */
  temperature?: number;
  /** Triplet margin. Default 0.3. */
  margin?: number;
  /** Weight of the triplet term. Default 0.1. */
  tripletWeight?: number;
}

/**
 * FSDerain's `MultiLevelContrastLoss` on encoder features: 0.1·Triplet(a, p, n) + InfoNCE(a, p).
 * Call as `loss.call(anchor, positive, { degraded: negative })` with [B, D] features.
 */
export class ContrastLoss extends Loss<ContrastLossOptions> {
  static readonly type = 'ContrastLoss';
  constructor(options: ContrastLossOptions = {}) {
    super(ContrastLoss.type, options);
    checkNumber(this.type, 'temperature', options.temperature, 0.1, { positive: true });
    checkNumber(this.type, 'margin', options.margin, 0.3);
    checkNumber(this.type, 'tripletWeight', options.tripletWeight, 0.1);
    if (this.reduction !== 'mean') throw new ConfigError(`ContrastLoss: only reduction 'mean' is supported (as the official code)`);
  }

  terms(anchor: tf.Tensor, positive: tf.Tensor, negative: tf.Tensor): { total: tf.Scalar; triplet: tf.Scalar; infoNCE: tf.Scalar } {
    const triplet = tripletLoss(anchor, positive, negative, this.options.margin ?? 0.3);
    const infoNCE = infoNCELoss(anchor, positive, this.options.temperature ?? 0.1);
    const total = tf.tidy(() => tf.mul(tf.add(tf.mul(triplet, this.options.tripletWeight ?? 0.1), infoNCE), this.lossWeight) as tf.Scalar);
    return { total, triplet, infoNCE };
  }

  protected compute(anchor: tf.Tensor, positive: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    if (!inputs.degraded) throw new ConfigError(`ContrastLoss: the negative features are required: loss.call(anchor, positive, { degraded: negative })`);
    return tf.add(
      tf.mul(tripletLoss(anchor, positive, inputs.degraded, this.options.margin ?? 0.3), this.options.tripletWeight ?? 0.1),
      infoNCELoss(anchor, positive, this.options.temperature ?? 0.1),
    );
  }
}
registerLoss(ContrastLoss.type, (o) => new ContrastLoss(o));
