import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  ShapeError,
  consume,
  fmtShape,
  free,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { oddKernelSize } from './options.js';

const OPTIONS = {
  /** Feature channels (official n_feat). */
  channels: opt.posInt(),
  /** Image channels (official: 3, hard-coded). */
  imageChannels: opt.posInt(3),
  /** Conv kernel size, odd (official 3). */
  kernelSize: oddKernelSize(3),
  /** Conv biases (official DRCNet: true). */
  bias: opt.bool(true),
};
export type SAMOptions = OptionsInput<typeof OPTIONS>;

/**
 * Supervised attention module (MPRNet/HINet `SAM`, as in DRCNet): inputs [F, I];
 * img = conv2(F) + I; f = conv1(F)·sigmoid(conv3(img)) + F; outputs [f, img].
 */
export class SAM extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>SAM';
  static override optionsSchema = OPTIONS;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;

  constructor(opts: SAMOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, imageChannels: ci, kernelSize: k, bias } = this.options;
    const conv = (i: number, o: number) => new Conv2d({ inChannels: i, outChannels: o, kernelSize: k, padding: (k - 1) / 2, bias });
    this.conv1 = this.addChild('conv1', conv(c, c));
    this.conv2 = this.addChild('conv2', conv(c, ci));
    this.conv3 = this.addChild('conv3', conv(ci, c));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [s, i] = inputShape as tfl.Shape[];
    this.buildChild(this.conv1, s!);
    this.buildChild(this.conv2, s!);
    this.buildChild(this.conv3, i!);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels, this.options.imageChannels];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    if (!Array.isArray(xs) || xs.length !== 2) throw new ShapeError(`SAM '${this.name}': expects 2 inputs [features, image]`);
    super.validateInputs(xs);
    const [x, i] = xs as [tf.Tensor, tf.Tensor];
    if (i.shape[0] !== x.shape[0] || i.shape[1] !== x.shape[1] || i.shape[2] !== x.shape[2])
      throw new ShapeError(`SAM '${this.name}': image must have the batch and spatial size of the features ${fmtShape(x.shape)}, got ${fmtShape(i.shape)}`);
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor[] {
    const [x, xImg] = inputs as [tf.Tensor, tf.Tensor];
    const img = consume(this.run(this.conv2, x, training), (t) => tf.add(t, xImg));
    const g = consume(this.run(this.conv3, img, training), (t) => tf.sigmoid(t));
    const f = consume(this.run(this.conv1, x, training), (c) => free(tf.mul(c, g), g));
    return [consume(f, (t) => tf.add(t, x)), img];
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const [s, i] = inputShape as tfl.Shape[];
    return [[...s!], [...i!]];
  }
}
registerBlock(SAM);
