import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, ConfigError, ensurePositiveInt, registerBlock, type BlockArgs } from '@restorekit/core';

export interface PlainConvBlockOptions {
  inChannels: number;
  outChannels: number;
  /** LeakyReLU negative slope (official 0.2). */
  reluSlope?: number;
}

/**
 * The decoder's plain conv block (official `UNetConvBlock1` with use_HIN off, no downsample):
 * y = LReLU(conv_2(LReLU(conv_1(x)))) + identity(x), 3×3 convs and a 1×1 identity, all with bias.
 */
export class PlainConvBlock extends Block<PlainConvBlockOptions & Record<string, unknown>> {
  static className = 'restorekit>PlainConvBlock';
  readonly identity: Conv2d;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;

  constructor(opts: PlainConvBlockOptions & BlockArgs) {
    super(opts as never);
    const cin = ensurePositiveInt('PlainConvBlock', 'inChannels', this.options.inChannels);
    const cout = ensurePositiveInt('PlainConvBlock', 'outChannels', this.options.outChannels);
    const slope = this.options.reluSlope ?? 0.2;
    if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new ConfigError(`PlainConvBlock: option 'reluSlope' must be a finite number, got ${JSON.stringify(slope)}`);
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
    const slope = this.options.reluSlope ?? 0.2;
    const h = tf.leakyRelu(this.run(this.conv1, x, training), slope);
    return tf.add(tf.leakyRelu(this.run(this.conv2, h, training), slope), this.run(this.identity, x, training));
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [s[0]!, s[1]!, s[2]!, this.options.outChannels];
  }
}
registerBlock(PlainConvBlock);
