import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Sequential, ShapeError, ensurePositiveInt, fmtShape, registerBlock, type BlockArgs } from '@restorekit/core';

export interface DownsampleOptions {
  /** Input channels n (even): output has 2n channels at half the resolution. */
  channels: number;
}

/**
 * Restormer's `Downsample(n_feat)`: 3×3 conv n → n/2 (no bias), then PixelUnshuffle(2) in PyTorch
 * channel order. [B,H,W,n] → [B,H/2,W/2,2n]; H and W must be even. PyTorch key `body.0.weight`.
 */
export class Downsample extends Block<DownsampleOptions & Record<string, unknown>> {
  static className = 'restorekit>Downsample';
  readonly body: Sequential;

  constructor(opts: DownsampleOptions & BlockArgs) {
    super(opts as never);
    const n = ensurePositiveInt('Downsample', 'channels', this.options.channels);
    if (n % 2) throw new ConfigError(`Downsample: channels must be even (the conv halves them), got ${n}`);
    this.body = this.addChild(
      'body',
      new Sequential({ layers: [{ type: 'Conv2d', inChannels: n, outChannels: n / 2, kernelSize: 3, padding: 1, bias: false }, { type: 'PixelUnshuffle', factor: 2 }] }),
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
    if (x.shape[1]! % 2 || x.shape[2]! % 2) throw new ShapeError(`Downsample '${this.name}': height and width must be even, got shape ${fmtShape(x.shape)}`);
    return this.run(this.body, x, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const half = (v: number | null) => (v == null ? null : v / 2);
    return [s[0]!, half(s[1]!), half(s[2]!), this.options.channels * 2];
  }
}
registerBlock(Downsample);
