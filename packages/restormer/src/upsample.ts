import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Sequential, ensurePositiveInt, registerBlock, type BlockArgs } from '@restorekit/core';

export interface UpsampleOptions {
  /** Input channels n (even): output has n/2 channels at twice the resolution. */
  channels: number;
}

/**
 * Restormer's `Upsample(n_feat)`: 3×3 conv n → 2n (no bias), then PixelShuffle(2) in PyTorch
 * channel order. [B,H,W,n] → [B,2H,2W,n/2]. PyTorch key `body.0.weight`.
 */
export class Upsample extends Block<UpsampleOptions & Record<string, unknown>> {
  static className = 'restorekit>Upsample';
  readonly body: Sequential;

  constructor(opts: UpsampleOptions & BlockArgs) {
    super(opts as never);
    const n = ensurePositiveInt('Upsample', 'channels', this.options.channels);
    if (n % 2) throw new ConfigError(`Upsample: channels must be even (PixelShuffle(2) divides 2n by 4), got ${n}`);
    this.body = this.addChild(
      'body',
      new Sequential({ layers: [{ type: 'Conv2d', inChannels: n, outChannels: 2 * n, kernelSize: 3, padding: 1, bias: false }, { type: 'PixelShuffle', factor: 2 }] }),
    );
  }

  override build(s: tfl.Shape): void {
    this.buildChild(this.body, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.run(this.body, x, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const dbl = (v: number | null) => (v == null ? null : v * 2);
    return [s[0]!, dbl(s[1]!), dbl(s[2]!), this.options.channels / 2];
  }
}
registerBlock(Upsample);
