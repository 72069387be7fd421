import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ShapeError, fmtShape, registerBlock, type BlockArgs, type OptionsInput } from '@restorekit/core';
import { Resample, resampleOptions } from './resample.js';

const OPTIONS = resampleOptions('the conv halves them');
/** `channels`: input channels n (even); the output has 2n channels at half the resolution. */
export type DownsampleOptions = OptionsInput<typeof OPTIONS>;

/**
 * Restormer's `Downsample(n_feat)`: 3×3 conv n → n/2 (no bias), then PixelUnshuffle(2) in PyTorch
 * channel order. [B,H,W,n] → [B,H/2,W/2,2n]; H and W must be even. PyTorch key `body.0.weight`.
 */
export class Downsample extends Resample {
  static className = 'restorekit>Downsample';
  static override optionsSchema = OPTIONS;

  constructor(opts: DownsampleOptions & BlockArgs) {
    super(opts, 'Downsample');
  }

  override forward(x: tf.Tensor, training: boolean): tf.Tensor {
    if (x.shape[1]! % 2 || x.shape[2]! % 2) throw new ShapeError(`Downsample '${this.name}': height and width must be even, got shape ${fmtShape(x.shape)}`);
    return super.forward(x, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const half = (v: number | null) => (v == null ? null : v / 2);
    return [s[0]!, half(s[1]!), half(s[2]!), this.options.channels * 2];
  }
}
registerBlock(Downsample);
