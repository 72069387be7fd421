import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ShapeError, fmtShape, opt, type OptionSpec } from '@restorekit/core';

/** Same shape with the last (channel) axis set to `c`. */
export function withChannels(s: tfl.Shape, c: number): tfl.Shape {
  return [s[0]!, s[1]!, s[2]!, c];
}

/** The first shape of a layer's input shape(s). */
export function firstShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
}

/** A floor in (0, 1]: the smallest value a sigmoid map may take before something divides by it. */
export const floorOption = (dflt: number): OptionSpec<number, true> => opt.number({ min: 0, max: 1, exclusiveMin: true }, dflt);

/** An odd kernel size ≥ 1 (the K filter pads by ⌊k/2⌋ on each side and keeps the size). */
export const oddKernelSize = (dflt: number): OptionSpec<number, true> =>
  opt.custom<number>(
    'an odd positive integer',
    (v) =>
      (Number.isInteger(v) && (v as number) >= 1 && (v as number) % 2 === 1) || 'the per-pixel kernel is centred: padding ⌊k/2⌋ keeps the size only for odd k',
    dflt,
  ) as OptionSpec<number, true>;

/** Checks that every input after the first has the first's batch and spatial size (`what` names them in the error). */
export function sameGrid(owner: string, list: tf.Tensor[], what: string[]): void {
  const x = list[0]!;
  list.slice(1).forEach((t, i) => {
    if (t.rank !== 4 || t.shape[0] !== x.shape[0] || t.shape[1] !== x.shape[1] || t.shape[2] !== x.shape[2])
      throw new ShapeError(`${owner}: ${what[i]} must have the batch and spatial size of x ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
  });
}

/** A `[1, C, 1, 1]` PyTorch per-channel parameter read as `[C]` (broadcasts over NHWC). */
export function perChannel(v: tfl.LayerVariable): tf.Tensor {
  return tf.reshape(v.read(), [v.shape[1]!]);
}
