import * as tf from '@tensorflow/tfjs-core';
import { DTypeError, ShapeError, fmtShape } from '@restorekit/core';
import { imageShape, isImageArray, prepareHost, type HostImage, type ImageArray } from './image-array.js';
import { resolveMetricOptions, type MetricOptions } from './options.js';
import { checkPair, checkSize, checkTensorRange } from './tensor-metrics.js';

export interface MetricImpl {
  name: string;
  window: number;
  host: (a: HostImage, b: HostImage) => number;
  tensor: (pred: tf.Tensor, target: tf.Tensor, options?: MetricOptions) => tf.Tensor1D;
}

/** Float64 path for plain images (exact BasicSR / skimage arithmetic). */
export function measureHost(impl: MetricImpl, pred: ImageArray, target: ImageArray, options?: MetricOptions): number {
  const fn = impl.name;
  const o = resolveMetricOptions(fn, options);
  const sp = imageShape(fn, 'prediction', pred);
  const st = imageShape(fn, 'target', target);
  if (sp.some((d, i) => d !== st[i])) throw new ShapeError(`${fn}: prediction shape ${fmtShape(sp)} differs from target shape ${fmtShape(st)}`);
  const h = sp[0] - 2 * o.cropBorder;
  const w = sp[1] - 2 * o.cropBorder;
  if (h >= 1 && w >= 1 && (h < impl.window || w < impl.window))
    throw new ShapeError(
      `${fn}: the ${impl.window}×${impl.window} window does not fit the ${h}×${w} image${o.cropBorder ? ` left after cropBorder ${o.cropBorder}` : ''}`,
    );
  const a = prepareHost(fn, 'prediction', pred, sp, o);
  const b = prepareHost(fn, 'target', target, st, o);
  return impl.host(a, b);
}

/** tf-op path for tensors: validates, checks the value range (reading the data, hence async), one value per image. */
export async function measureTensor(impl: MetricImpl, pred: tf.Tensor, target: tf.Tensor, options?: MetricOptions): Promise<number[]> {
  const fn = impl.name;
  const o = resolveMetricOptions(fn, options);
  checkSize(fn, checkPair(fn, pred, target), o, impl.window);
  await checkTensorRange(
    fn,
    [
      ['prediction', pred],
      ['target', target],
    ],
    o,
  );
  const v = impl.tensor(pred, target, options);
  const out = Array.from(await v.data());
  v.dispose();
  return out;
}

/**
 * The public metric functions: tensors (one value per image) or plain images (one number). Both
 * resolve asynchronously and report every error as a rejection, so that callers handle one
 * return type whatever they pass (reading tensor data is asynchronous on GPU backends).
 */
export async function dispatch(impl: MetricImpl, pred: unknown, target: unknown, options?: MetricOptions): Promise<number | number[]> {
  if (isImageArray(pred) && isImageArray(target)) return measureHost(impl, pred, target, options);
  if (pred instanceof tf.Tensor && target instanceof tf.Tensor) return measureTensor(impl, pred, target, options);
  throw new DTypeError(
    `${impl.name}: prediction and target must both be tf.Tensors or both { data, shape } images, got ${describe(pred)} and ${describe(target)}`,
  );
}

function describe(x: unknown): string {
  if (x instanceof tf.Tensor) return `a tf.Tensor ${fmtShape(x.shape)}`;
  if (isImageArray(x)) return 'an image array';
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
}
