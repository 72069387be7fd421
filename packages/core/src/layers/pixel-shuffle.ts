import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, ensurePositiveInt, type BlockArgs } from '../block.js';
import { pixelShuffle, pixelUnshuffle } from '../ops/basic.js';

export interface PixelShuffleOptions {
  factor?: number;
}

/** PyTorch `nn.PixelShuffle` channel order (not tf.depthToSpace's), with gradients. */
export class PixelShuffle extends Block<PixelShuffleOptions & Record<string, unknown>> {
  static className = 'restorekit>PixelShuffle';
  constructor(opts: PixelShuffleOptions & BlockArgs = {}) {
    super(opts as never);
    ensurePositiveInt('PixelShuffle', 'factor', this.options.factor ?? 2);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return pixelShuffle(x as tf.Tensor4D, this.options.factor ?? 2);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const r = this.options.factor ?? 2;
    return [s[0]!, s[1] == null ? null : s[1] * r, s[2] == null ? null : s[2] * r, s[3] == null ? null : s[3] / (r * r)];
  }
}
registerBlock(PixelShuffle);

/** PyTorch `nn.PixelUnshuffle` channel order, with gradients. */
export class PixelUnshuffle extends Block<PixelShuffleOptions & Record<string, unknown>> {
  static className = 'restorekit>PixelUnshuffle';
  constructor(opts: PixelShuffleOptions & BlockArgs = {}) {
    super(opts as never);
    ensurePositiveInt('PixelUnshuffle', 'factor', this.options.factor ?? 2);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return pixelUnshuffle(x as tf.Tensor4D, this.options.factor ?? 2);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const r = this.options.factor ?? 2;
    return [s[0]!, s[1] == null ? null : s[1] / r, s[2] == null ? null : s[2] / r, s[3] == null ? null : s[3] * r * r];
  }
}
registerBlock(PixelUnshuffle);
