import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, losses } from '@restorekit/core';
import { checkNumber, checkReduction, type Reduction } from './reduction.js';

/** Options every loss accepts (BasicSR names in camelCase). */
export interface LossOptions {
  /** Multiplies the loss (BasicSR `loss_weight`). Default 1. */
  lossWeight?: number;
  /** 'mean' (default), 'sum' or 'none' (elementwise / per-sample values). */
  reduction?: Reduction;
}

/** Extra inputs of a loss call. */
export interface LossInputs {
  /** Spatial weight mask [B, H, W, 1] or [B, H, W, C] (elementwise losses only). */
  weight?: tf.Tensor;
  /** The degraded input (DRCNet Intra-CR negative, FSDerain rainy image). */
  degraded?: tf.Tensor;
}

/**
 * Base of the registered loss objects. A loss is created from a `{ type, ...options }` config
 * (`losses.create(...)`), is called on NHWC tensors as `loss.call(pred, target, { weight })`
 * and returns `lossWeight · value` (a scalar unless reduction is 'none'). Losses holding weights
 * (VGG, FrequencyEncoder) release them with `dispose()`.
 */
export abstract class Loss<O extends LossOptions = LossOptions> {
  readonly options: O;
  readonly lossWeight: number;
  readonly reduction: Reduction;

  constructor(
    readonly type: string,
    options: O,
  ) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConfigError(`${type}: options must be an object`);
    this.options = { ...options };
    this.lossWeight = checkNumber(type, 'lossWeight', options.lossWeight, 1);
    this.reduction = checkReduction(type, options.reduction);
  }

  /** The unweighted loss (before `lossWeight`). */
  protected abstract compute(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor, inputs: LossInputs): tf.Tensor;

  /** `lossWeight · loss(pred, target)`. */
  call(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor, inputs: LossInputs = {}): tf.Tensor {
    return tf.tidy(() => {
      const v = this.compute(pred, target, inputs);
      return this.lossWeight === 1 ? v : tf.mul(v, this.lossWeight);
    });
  }

  /** `{ type, ...options }`: `losses.create(loss.getConfig())` rebuilds an equal loss. */
  getConfig(): { type: string; [option: string]: unknown } & O {
    return JSON.parse(JSON.stringify({ type: this.type, ...this.options }));
  }

  /** Releases held weights (no-op for weight-free losses). */
  dispose(): void {}
}

/** Registers a loss class in the core `losses` registry under `type`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerLoss(type: string, create: (o: Record<string, unknown>) => Loss<any>): void {
  if (!losses.has(type))
    losses.register(type, {
      create,
      toOptions: (l) => {
        const { type: _t, ...o } = (l as Loss).getConfig();
        return o;
      },
    });
}

/** Rejects a weight mask for losses that are not elementwise. */
export function noWeight(type: string, inputs: LossInputs): void {
  if (inputs.weight) throw new ConfigError(`${type}: a spatial weight mask is only supported by elementwise losses (L1Loss, MSELoss, CharbonnierLoss)`);
}
