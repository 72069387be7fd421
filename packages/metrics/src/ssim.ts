import type * as tf from '@tensorflow/tfjs-core';
import { GAUSSIAN_WINDOW, SKIMAGE_WINDOW, ssimHost, ssimSkimageHost } from './host-metrics.js';
import type { ImageArray } from './image-array.js';
import { dispatch, type MetricImpl } from './measure.js';
import type { MetricOptions } from './options.js';
import { ssimSkimageTensor, ssimTensor } from './tensor-metrics.js';

export const SSIM_IMPL: MetricImpl = { name: 'ssim', window: GAUSSIAN_WINDOW, host: ssimHost, tensor: ssimTensor };
export const SSIM_SKIMAGE_IMPL: MetricImpl = { name: 'ssimSkimage', window: SKIMAGE_WINDOW, host: ssimSkimageHost, tensor: ssimSkimageTensor };

/**
 * SSIM as BasicSR's `calculate_ssim` (MATLAB `ssim_index` of Wang et al. 2004; the Restormer
 * protocol): 11×11 Gaussian window σ 1.5, valid region only, C1 = (0.01·255)², C2 = (0.03·255)²,
 * mean over pixels, then over channels; after `cropBorder` and optionally on Y.
 * Tensors → tf ops (float32), one value per image; `{ data, shape }` images → a float64 number.
 * Always a Promise; bad input rejects with a typed error.
 */
export function ssim(pred: tf.Tensor, target: tf.Tensor, options?: MetricOptions): Promise<number[]>;
export function ssim(pred: ImageArray, target: ImageArray, options?: MetricOptions): Promise<number>;
export function ssim(pred: tf.Tensor | ImageArray, target: tf.Tensor | ImageArray, options?: MetricOptions): Promise<number | number[]> {
  return dispatch(SSIM_IMPL, pred, target, options);
}

/**
 * SSIM as scikit-image's `structural_similarity(pred, target, data_range=dataRange,
 * channel_axis=2)` with its defaults (the AnyIR / FSDerain protocol): 7×7 uniform window,
 * K1 0.01, K2 0.03, sample covariance (N/(N−1)), mean over the interior ((7−1)/2 = 3 px cropped
 * from each border), then over channels. `cropBorder` / `testYChannel` are applied first when given.
 * Tensors → tf ops (float32), one value per image; `{ data, shape }` images → a float64 number.
 * Always a Promise; bad input rejects with a typed error.
 */
export function ssimSkimage(pred: tf.Tensor, target: tf.Tensor, options?: MetricOptions): Promise<number[]>;
export function ssimSkimage(pred: ImageArray, target: ImageArray, options?: MetricOptions): Promise<number>;
export function ssimSkimage(pred: tf.Tensor | ImageArray, target: tf.Tensor | ImageArray, options?: MetricOptions): Promise<number | number[]> {
  return dispatch(SSIM_SKIMAGE_IMPL, pred, target, options);
}
