import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '@restorekit/core';
import { Loss } from './loss.js';

/** A loss as restorekit's plain functions take it: prediction first, then target. */
export type PredTargetLoss = (pred: tf.Tensor, target: tf.Tensor) => tf.Tensor;

/** A loss as tfjs-layers' `model.compile({ loss })` calls it: target first (Keras order). */
export type TfjsLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/**
 * A restorekit loss as a tfjs-layers loss for `model.compile({ optimizer, loss })` and `fit`.
 * restorekit losses take `(pred, target)` (BasicSR's order); tfjs-layers calls `(yTrue, yPred)`
 * (Keras' order): passing a loss straight to `compile` would silently swap prediction and target,
 * which changes every asymmetric loss (SSIM's clamp, PSNR's Y, the detached targets of the VGG
 * losses). The adapter swaps them back and returns what the loss returns, `lossWeight` included,
 * so `fit` reports exactly the restorekit value.
 *
 * Takes a registered loss object (`new SSIMLoss()`, `losses.create({...})`) or a `(pred, target)`
 * function (`l1Loss`). The value must be a scalar: a loss with `reduction: 'none'` is refused (a
 * `ConfigError` here for loss objects, a `ShapeError` at the first call for functions). Losses that
 * need more than (pred, target) — the degraded input of IntraCRLoss, FSDerainLoss, ContrastLoss —
 * cannot be expressed in tfjs' two-argument signature; use a custom training loop for those.
 */
export function toTfjsLoss(loss: Loss | PredTargetLoss): TfjsLoss {
  let run: PredTargetLoss;
  let name: string;
  if (loss instanceof Loss) {
    if (loss.reduction === 'none') throw new ConfigError(`toTfjsLoss: ${loss.type} has reduction 'none'; tfjs-layers needs a scalar loss: use 'mean' or 'sum'`);
    run = (pred, target) => loss.call(pred, target);
    name = loss.type;
  } else if (typeof loss === 'function') {
    run = loss;
    name = loss.name || 'loss';
  } else throw new ConfigError(`toTfjsLoss: expected a restorekit Loss or a (pred, target) => tf.Tensor function, got ${loss === null ? 'null' : typeof loss}`);
  return (yTrue, yPred) => {
    const v = run(yPred, yTrue);
    if (v.rank !== 0) {
      const shape = v.shape;
      v.dispose();
      throw new ShapeError(`toTfjsLoss: ${name} returned shape ${fmtShape(shape)}; tfjs-layers needs a scalar loss (use reduction 'mean' or 'sum')`);
    }
    return v as tf.Scalar;
  };
}
