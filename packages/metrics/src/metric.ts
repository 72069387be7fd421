import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@restorekit/core';
import type { ImageArray } from './image-array.js';
import { measureHost, measureTensor, type MetricImpl } from './measure.js';
import { resolveMetricOptions, type MetricOptions } from './options.js';
import { PSNR_IMPL } from './psnr.js';
import { SSIM_IMPL, SSIM_SKIMAGE_IMPL } from './ssim.js';

/** The registry names of the metrics (`metrics.create({ type, ...options })`). */
export type MetricType = 'psnr' | 'ssim' | 'ssim_skimage';

const IMPLS: Record<MetricType, MetricImpl> = { psnr: PSNR_IMPL, ssim: SSIM_IMPL, ssim_skimage: SSIM_SKIMAGE_IMPL };

/** A metric with fixed options, as created by core's `metrics` registry. */
export class Metric {
  readonly options: MetricOptions;
  private readonly impl: MetricImpl;
  constructor(
    readonly type: MetricType,
    options: MetricOptions = {},
  ) {
    const impl = IMPLS[type];
    if (!impl) throw new ConfigError(`Metric: unknown type '${String(type)}' (${Object.keys(IMPLS).join(', ')})`);
    resolveMetricOptions(type, options);
    this.impl = impl;
    this.options = { ...options };
  }
  /** One value per image of an HWC / NHWC pair (tf ops, float32); rejects on bad input. */
  compute(pred: tf.Tensor, target: tf.Tensor): Promise<number[]> {
    return measureTensor(this.impl, pred, target, this.options);
  }
  /**
   * The value for two `{ data, shape }` images (float64, reference arithmetic). Synchronous: it takes
   * no tensors, so it reads no tensor data (the async rule is for what can take a tensor).
   */
  computeImage(pred: ImageArray, target: ImageArray): number {
    return measureHost(this.impl, pred, target, this.options);
  }
  /** The per-image values as a tensor (tf ops, differentiable, no value-range check). */
  tensor(pred: tf.Tensor, target: tf.Tensor): tf.Tensor1D {
    return this.impl.tensor(pred, target, this.options);
  }
}
