import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Sequential, ensurePositiveInt, type BlockArgs } from '@restorekit/core';

export interface ResampleOptions {
  /** Input channels n (even). */
  channels: number;
}

/**
 * What Restormer's `Downsample` and `Upsample` share: a 3×3 conv n → `outChannels(n)` (no bias), then
 * PixelUnshuffle(2) or PixelShuffle(2) in PyTorch channel order; PyTorch key `body.0.weight`.
 */
export abstract class Resample extends Block<ResampleOptions & Record<string, unknown>> {
  readonly body: Sequential;

  constructor(opts: ResampleOptions & BlockArgs, what: 'Downsample' | 'Upsample') {
    super(opts as never);
    const n = ensurePositiveInt(what, 'channels', this.options.channels);
    const down = what === 'Downsample';
    if (n % 2) throw new ConfigError(`${what}: channels must be even (${down ? 'the conv halves them' : 'PixelShuffle(2) divides 2n by 4'}), got ${n}`);
    this.body = this.addChild(
      'body',
      new Sequential({
        layers: [
          { type: 'Conv2d', inChannels: n, outChannels: down ? n / 2 : 2 * n, kernelSize: 3, padding: 1, bias: false },
          { type: down ? 'PixelUnshuffle' : 'PixelShuffle', factor: 2 },
        ],
      }),
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
}
