import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, opt, registerBlock, torchUniform, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';

const OPTIONS = {
  /** Input channels (3: one amplitude spectrum per RGB channel). */
  inChannels: opt.posInt(3),
  /** Feature size (128). */
  outDim: opt.posInt(128),
};
export type FrequencyEncoderOptions = OptionsInput<typeof OPTIONS>;

/**
 * FSDerain's training-only `FrequencyEncoder` (new-dual.py): `encoder` = Conv3×3 s2 p1 (C→32) → ReLU →
 * Conv3×3 s2 p1 (32→64) → ReLU → Conv3×3 s2 p1 (64→128) → ReLU → global average pool → Flatten →
 * Linear 128→outDim, under the PyTorch keys `encoder.{0,2,4,8}.weight/bias` (109,760 parameters for 3→128).
 * Input NHWC [B, H, W, C], output [B, outDim].
 */
export class FrequencyEncoder extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>FrequencyEncoder';
  static override optionsSchema = OPTIONS;
  private readonly convs: Conv2d[];
  private linW!: tfl.LayerVariable;
  private linB!: tfl.LayerVariable;

  constructor(opts: FrequencyEncoderOptions & BlockArgs = {}) {
    super(opts as never);
    const widths = [this.options.inChannels, 32, 64, 128];
    // PyTorch pads 1 on every side for the stride-2 convs; core's Conv2d pads explicitly (TF 'same' would pad asymmetrically).
    this.convs = [0, 1, 2].map((i) =>
      this.addChild(`encoder.${2 * i}`, new Conv2d({ inChannels: widths[i]!, outChannels: widths[i + 1]!, kernelSize: 3, stride: 2, padding: 1 })),
    );
  }

  get inChannels(): number {
    return this.options.inChannels;
  }
  get outDim(): number {
    return this.options.outDim;
  }

  override build(s: tfl.Shape): void {
    let shape = s;
    for (const c of this.convs) {
      this.buildChild(c, shape);
      shape = c.computeOutputShape(shape) as tfl.Shape;
    }
    this.linW = this.addTorchWeight('encoder.8.weight', [128, this.outDim], torchUniform(128), { layout: 'linear' });
    this.linB = this.addTorchWeight('encoder.8.bias', [this.outDim], torchUniform(128));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.inChannels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    let h = x;
    for (const c of this.convs) h = tf.relu(this.run(c, h, training));
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, this.linW.read() as tf.Tensor2D), this.linB.read());
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [s[0]!, this.outDim];
  }
}
registerBlock(FrequencyEncoder);
