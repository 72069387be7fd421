import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, consume, leakyRelu, opt, registerBlock, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';
import { reluSlope } from './options.js';

const OPTIONS = {
  inChannels: opt.posInt(),
  outChannels: opt.posInt(),
  /** LeakyReLU negative slope (official 0.2). */
  reluSlope: reluSlope(),
};
export type PlainConvBlockOptions = OptionsInput<typeof OPTIONS>;

/**
 * The decoder's plain conv block (official `UNetConvBlock1` with use_HIN off, no downsample):
 * y = LReLU(conv_2(LReLU(conv_1(x)))) + identity(x), 3×3 convs and a 1×1 identity, all with bias.
 */
export class PlainConvBlock extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>PlainConvBlock';
  static override optionsSchema = OPTIONS;
  readonly identity: Conv2d;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;

  constructor(opts: PlainConvBlockOptions & BlockArgs) {
    super(opts as never);
    const { inChannels: cin, outChannels: cout } = this.options;
    this.identity = this.addChild('identity', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 1 }));
    this.conv1 = this.addChild('conv_1', new Conv2d({ inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1 }));
    this.conv2 = this.addChild('conv_2', new Conv2d({ inChannels: cout, outChannels: cout, kernelSize: 3, padding: 1 }));
  }

  override build(s: tfl.Shape): void {
    this.buildChild(this.identity, s);
    this.buildChild(this.conv1, s);
    this.buildChild(this.conv2, [s[0]!, s[1]!, s[2]!, this.options.outChannels]);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const slope = this.options.reluSlope;
    const lrelu = (t: tf.Tensor) => leakyRelu(t, slope);
    const h = consume(this.run(this.conv1, x, training), lrelu);
    const y = consume(
      consume(h, (t) => this.run(this.conv2, t, training)),
      lrelu,
    );
    return consume(y, (t) => consume(this.run(this.identity, x, training), (i) => tf.add(t, i)));
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [s[0]!, s[1]!, s[2]!, this.options.outChannels];
  }
}
registerBlock(PlainConvBlock);
