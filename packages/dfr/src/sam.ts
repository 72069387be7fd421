import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, ConfigError, ShapeError, ensurePositiveInt, fmtShape, registerBlock, type BlockArgs } from '@restorekit/core';

export interface SAMOptions {
  /** Feature channels (official n_feat). */
  channels: number;
  /** Image channels (official: 3, hard-coded). */
  imageChannels?: number;
  /** Conv kernel size (official 3). */
  kernelSize?: number;
  /** Conv biases (official DRCNet: true). */
  bias?: boolean;
}

/**
 * Supervised attention module (MPRNet/HINet `SAM`, as in DRCNet): inputs [F, I];
 * img = conv2(F) + I; f = conv1(F)·sigmoid(conv3(img)) + F; outputs [f, img].
 */
export class SAM extends Block<SAMOptions & Record<string, unknown>> {
  static className = 'restorekit>SAM';
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;

  constructor(opts: SAMOptions & BlockArgs) {
    super(opts as never);
    const c = ensurePositiveInt('SAM', 'channels', this.options.channels);
    const ci = ensurePositiveInt('SAM', 'imageChannels', this.options.imageChannels ?? 3);
    const k = ensurePositiveInt('SAM', 'kernelSize', this.options.kernelSize ?? 3);
    if (k % 2 !== 1) throw new ConfigError(`SAM: option 'kernelSize' must be odd, got ${k}`);
    const conv = (i: number, o: number) => new Conv2d({ inChannels: i, outChannels: o, kernelSize: k, padding: (k - 1) / 2, bias: this.options.bias ?? true });
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
    return [this.options.channels, this.options.imageChannels ?? 3];
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
    const img = tf.add(this.run(this.conv2, x, training), xImg);
    const g = tf.sigmoid(this.run(this.conv3, img, training));
    return [tf.add(tf.mul(this.run(this.conv1, x, training), g), x), img];
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const [s, i] = inputShape as tfl.Shape[];
    return [[...s!], [...i!]];
  }
}
registerBlock(SAM);
