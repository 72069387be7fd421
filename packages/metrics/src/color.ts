import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape } from '@restorekit/core';

/**
 * ITU-R BT.601 luma as MATLAB's `rgb2ycbcr` and BasicSR's `bgr2ycbcr(y_only=True)` write it:
 * Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1], Y on the [0, 255] scale
 * (16–235). The host (float64) path uses these constants too, in BasicSR's order of operations.
 */
export const BT601_Y_WEIGHTS: readonly [number, number, number] = [65.481, 128.553, 24.966];
export const BT601_Y_OFFSET = 16;

export interface RgbToYOptions {
  /** The input lies in `[0, dataRange]`; Y is returned on the same scale (16/255·dataRange … 235/255·dataRange). Default 1. */
  dataRange?: number;
}

/**
 * BT.601 luma Y of an RGB tensor (channels last, any rank ≥ 1, last dimension 3): the same
 * shape with a last dimension of 1, on the input's scale — Y = (16·L + 65.481 R + 128.553 G +
 * 24.966 B) / 255 for R, G, B in [0, L], L = `dataRange`. This is BasicSR's `to_y_channel` (L = 255
 * in `calculate_psnr`/`calculate_ssim`) and the `toY` of HINet/NAFNet's `PSNRLoss` (L = 1).
 * A pure tf op: synchronous, differentiable, no value-range check.
 */
export function rgbToY(x: tf.Tensor, options: RgbToYOptions = {}): tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new DTypeError(`rgbToY: input must be a tf.Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new DTypeError(`rgbToY: input must be float32 or int32, got ${x.dtype}`);
  if (x.rank < 1 || x.shape[x.rank - 1] !== 3) throw new ShapeError(`rgbToY: input must have 3 (RGB) channels last, got shape ${fmtShape(x.shape)}`);
  if (options === null || typeof options !== 'object') throw new ConfigError(`rgbToY: options must be an object, got ${JSON.stringify(options)}`);
  for (const k of Object.keys(options)) if (k !== 'dataRange') throw new ConfigError(`rgbToY: unknown option '${k}'; known options: dataRange`);
  const L = options.dataRange ?? 1;
  if (typeof L !== 'number' || !Number.isFinite(L) || L <= 0)
    throw new ConfigError(`rgbToY: dataRange must be a positive number, got ${JSON.stringify(options.dataRange)}`);
  return tf.tidy(() => {
    const f = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    const w = tf.tensor1d(BT601_Y_WEIGHTS.map((c) => c / 255));
    return tf.add(tf.sum(tf.mul(f, w), -1, true), (BT601_Y_OFFSET * L) / 255);
  });
}
