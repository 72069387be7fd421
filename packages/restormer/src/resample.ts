import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Sequential, type OptionSpec } from '@restorekit/core';

/** The option schema of a resampling block: its input channels n, even (`why` says what needs it). */
export function resampleOptions(why: string) {
  const channels: OptionSpec<number, false> = {
    expects: `an even positive integer (${why})`,
    hasDefault: false,
    parse: (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0 && v % 2 === 0 ? { ok: true, value: v } : { ok: false }),
  };
  return { channels };
}

/**
 * What Restormer's `Downsample` and `Upsample` share: a 3×3 conv n → n/2 or 2n (no bias), then
 * PixelUnshuffle(2) or PixelShuffle(2) in PyTorch channel order; PyTorch key `body.0.weight`.
 */
export abstract class Resample extends Block<{ readonly channels: number }> {
  readonly body: Sequential;

  constructor(opts: { channels: number }, what: 'Downsample' | 'Upsample') {
    super(opts as never);
    const n = this.options.channels;
    const down = what === 'Downsample';
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
