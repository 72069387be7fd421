import type * as tf from '@tensorflow/tfjs-core';
import { psnrHost } from './host-metrics.js';
import type { ImageArray } from './image-array.js';
import { dispatch, type MetricImpl } from './measure.js';
import type { MetricOptions } from './options.js';
import { psnrTensor } from './tensor-metrics.js';

export const PSNR_IMPL: MetricImpl = { name: 'psnr', window: 1, host: psnrHost, tensor: psnrTensor };

/**
 * Peak signal-to-noise ratio as BasicSR's `calculate_psnr`: 10·log10(255² / MSE) on the
 * [0, 255] scale after `cropBorder` and (optionally) the BT.601 Y conversion; +Infinity for
 * identical images.
 * - Tensors (HWC or NHWC, values in [0, dataRange]): tf ops in float32, resolves to one value per image.
 * - `{ data, shape }` images: float64 on the host (the reference arithmetic), resolves to a number.
 * Always a Promise; bad input rejects with a typed error.
 */
export function psnr(pred: tf.Tensor, target: tf.Tensor, options?: MetricOptions): Promise<number[]>;
export function psnr(pred: ImageArray, target: ImageArray, options?: MetricOptions): Promise<number>;
export function psnr(pred: tf.Tensor | ImageArray, target: tf.Tensor | ImageArray, options?: MetricOptions): Promise<number | number[]> {
  return dispatch(PSNR_IMPL, pred, target, options);
}
