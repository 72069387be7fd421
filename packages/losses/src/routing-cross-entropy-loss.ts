import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape } from '@restorekit/core';
import { Loss, noWeight, registerLoss, type LossInputs, type LossOptions } from './loss.js';
import { checkFloat, checkNumber, reduceBatch } from './reduction.js';

/** The FSDRNet reconstruction's degradation types (spec §3.4) in selector order. */
export const FSDRNET_TYPES = ['S', 'Mix', 'I', 'K'] as const;
/** Task → type of the reconstruction: denoise/derain → S (superposition), dehaze → Mix, low-light → I, deblur → K. */
export const FSDRNET_TASK_TYPE: Record<string, (typeof FSDRNET_TYPES)[number]> = { denoise: 'S', derain: 'S', dehaze: 'Mix', lowlight: 'I', deblur: 'K' };

/** Class indices [B] (int32) for a batch of task names, e.g. ['derain', 'dehaze'] → [0, 1]. */
export function fsdrnetRoutingLabels(tasks: string[], classes: readonly string[] = FSDRNET_TYPES): tf.Tensor1D {
  return tf.tensor1d(
    tasks.map((t) => {
      const type = FSDRNET_TASK_TYPE[t] ?? t;
      const i = classes.indexOf(type);
      if (i < 0)
        throw new ConfigError(
          `fsdrnetRoutingLabels: unknown task or type '${t}' (tasks ${Object.keys(FSDRNET_TASK_TYPE).join(', ')}; types ${classes.join(', ')})`,
        );
      return i;
    }),
    'int32',
  );
}

export interface RoutingCrossEntropyOptions extends LossOptions {
  /** PyTorch `label_smoothing` ε: target (1 − ε)·onehot + ε/K. Default 0.1 (IDR `label_smooth`). */
  labelSmoothing?: number;
  /** What the selector gives: 'probabilities' (softmax output p, the reconstruction's DPS) or 'logits'. Default 'probabilities'. */
  from?: 'probabilities' | 'logits';
}

/**
 * FSDRNet routing loss (reconstruction, spec §3.4 — FSDRNet's code is unreleased; this follows IDR's
 * protocol): Σ_l CE_ε(p_l, y) over the selector outputs p_l [B, K] of every level, label smoothing ε
 * as PyTorch's `cross_entropy(label_smoothing=ε)`, mean over the batch. Use `lossWeight: 0.01` for the
 * IDR weighting. Call `loss.call([p0, p1, p2], labels)` with int32 labels [B].
 */
export class RoutingCrossEntropyLoss extends Loss<RoutingCrossEntropyOptions> {
  static readonly type = 'RoutingCrossEntropyLoss';
  readonly labelSmoothing: number;
  constructor(options: RoutingCrossEntropyOptions = {}) {
    super(RoutingCrossEntropyLoss.type, options);
    this.labelSmoothing = checkNumber(this.type, 'labelSmoothing', options.labelSmoothing, 0.1, { min: 0 });
    if (this.labelSmoothing > 1) throw new ConfigError(`${this.type}: labelSmoothing must be in [0, 1], got ${this.labelSmoothing}`);
    const from = options.from ?? 'probabilities';
    if (from !== 'probabilities' && from !== 'logits')
      throw new ConfigError(`${this.type}: from must be 'probabilities' or 'logits', got ${JSON.stringify(from)}`);
  }

  protected compute(pred: tf.Tensor | tf.Tensor[], labels: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    const ps = Array.isArray(pred) ? pred : [pred];
    if (ps.length === 0) throw new ShapeError(`${this.type}: no selector outputs given`);
    if (!(labels instanceof tf.Tensor))
      throw new DTypeError(`${this.type}: labels must be an int32 tf.Tensor of class indices, got ${labels === null ? 'null' : typeof labels}`);
    if (labels.dtype !== 'int32') throw new DTypeError(`${this.type}: labels must be int32 class indices, got ${labels.dtype}`);
    ps.forEach((p, l) => {
      checkFloat(this.type, `selector output ${l}`, p);
      if (p.rank !== 2) throw new ShapeError(`${this.type}: selector output ${l} must be [B, K], got ${fmtShape(p.shape)}`);
    });
    const [b, k] = ps[0]!.shape as [number, number];
    if (ps.some((p) => p.shape[0] !== b || p.shape[1] !== k))
      throw new ShapeError(`${this.type}: selector outputs have different shapes: ${ps.map((p) => fmtShape(p.shape)).join(', ')}`);
    if (labels.rank !== 1 || labels.shape[0] !== b) throw new ShapeError(`${this.type}: labels must be [${b}], got ${fmtShape(labels.shape)}`);
    const eps = this.labelSmoothing;
    const target = tf.add(tf.mul(tf.oneHot(labels as tf.Tensor1D, k), 1 - eps), eps / k);
    const perSample = tf.addN(
      ps.map((p) => {
        const logp = (this.options.from ?? 'probabilities') === 'logits' ? tf.logSoftmax(p, 1) : tf.log(tf.maximum(p, 1e-12));
        return tf.neg(tf.sum(tf.mul(target, logp), 1));
      }),
    );
    return reduceBatch(perSample, this.reduction);
  }
}
registerLoss(RoutingCrossEntropyLoss.type, (o) => new RoutingCrossEntropyLoss(o));
