import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { pixelShuffle, pixelUnshuffle } from '../ops/basic.js';

const OPTIONS = {
  /** Upscaling (PixelShuffle) or downscaling (PixelUnshuffle) factor r. */
  factor: opt.posInt(2),
};
export type PixelShuffleOptions = OptionsInput<typeof OPTIONS>;

/** PyTorch `nn.PixelShuffle` channel order (not tf.depthToSpace's), with gradients. */
export class PixelShuffle extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>PixelShuffle';
  static override optionsSchema = OPTIONS;
  constructor(opts: PixelShuffleOptions & BlockArgs = {}) {
    super(opts as never);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return pixelShuffle(x as tf.Tensor4D, this.options.factor);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const r = this.options.factor;
    return [s[0]!, s[1] == null ? null : s[1] * r, s[2] == null ? null : s[2] * r, s[3] == null ? null : s[3] / (r * r)];
  }
}
registerBlock(PixelShuffle);

/** PyTorch `nn.PixelUnshuffle` channel order, with gradients. */
export class PixelUnshuffle extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>PixelUnshuffle';
  static override optionsSchema = OPTIONS;
  constructor(opts: PixelShuffleOptions & BlockArgs = {}) {
    super(opts as never);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return pixelUnshuffle(x as tf.Tensor4D, this.options.factor);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const r = this.options.factor;
    return [s[0]!, s[1] == null ? null : s[1] / r, s[2] == null ? null : s[2] / r, s[3] == null ? null : s[3] * r * r];
  }
}
registerBlock(PixelUnshuffle);
