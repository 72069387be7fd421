import type * as tfl from '@tensorflow/tfjs-layers';
import { registerBlock, type BlockArgs, type OptionsInput } from '@restorekit/core';
import { Resample, resampleOptions } from './resample.js';

const OPTIONS = resampleOptions('PixelShuffle(2) divides the conv output 2n by 4');
/** `channels`: input channels n (even); the output has n/2 channels at twice the resolution. */
export type UpsampleOptions = OptionsInput<typeof OPTIONS>;

/**
 * Restormer's `Upsample(n_feat)`: 3×3 conv n → 2n (no bias), then PixelShuffle(2) in PyTorch
 * channel order. [B,H,W,n] → [B,2H,2W,n/2]. PyTorch key `body.0.weight`.
 */
export class Upsample extends Resample {
  static className = 'restorekit>Upsample';
  static override optionsSchema = OPTIONS;

  constructor(opts: UpsampleOptions & BlockArgs) {
    super(opts, 'Upsample');
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const dbl = (v: number | null) => (v == null ? null : v * 2);
    return [s[0]!, dbl(s[1]!), dbl(s[2]!), this.options.channels / 2];
  }
}
registerBlock(Upsample);
