import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { opt } from '@restorekit/core';

/** LayerNorm2d epsilon of every LCDNet norm (NAFNet's LayerNorm2d; RECONSTRUCTIONS.md, LCDNet point 3). */
export const LCD_LN_EPS = 1e-6;

/** A list of odd kernel sizes (each branch pads by ⌊k/2⌋ and keeps the spatial size). */
export function kernelSizesOption(dflt: number[], opts: { length?: number; distinct?: boolean } = {}) {
  const what = `${opts.length ? `a list of ${opts.length}` : 'a non-empty list of'}${opts.distinct ? ' distinct' : ''} odd positive integers`;
  return opt.custom<number[]>(
    what,
    (v) => {
      if (!Array.isArray(v) || v.length === 0 || (opts.length !== undefined && v.length !== opts.length)) return `need ${what}`;
      if (!v.every((k) => Number.isInteger(k) && k >= 1 && k % 2 === 1))
        return 'every kernel size must be an odd positive integer (padding ⌊k/2⌋ keeps the size)';
      if (opts.distinct && new Set(v).size !== v.length) return 'the kernel sizes name the weights (dwconv<k>), so they must differ';
      return true;
    },
    dflt,
  );
}

/** A PyTorch `[1, C, 1, 1]` per-channel scale read as `[C]` (broadcasts over NHWC). */
export function channelScale(v: tfl.LayerVariable, channels: number): tf.Tensor {
  return tf.reshape(v.read(), [channels]);
}

/** Same shape with the last axis set to `c`. */
export function withChannels(s: tfl.Shape, c: number): tfl.Shape {
  return [s[0]!, s[1]!, s[2]!, c];
}
