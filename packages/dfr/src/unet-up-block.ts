import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  ConvTranspose2d,
  ShapeError,
  consume,
  fmtShape,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  concatChannels,
} from '@restorekit/core';
import { PlainConvBlock } from './plain-conv-block.js';
import { reluSlope } from './options.js';

const OPTIONS = {
  /** Channels of the decoder input x (official in_size). */
  inChannels: opt.posInt(),
  /** Channels after the transposed conv and of the output (official out_size); the bridge has inChannels − outChannels. */
  outChannels: opt.posInt(),
  /** LeakyReLU negative slope (official 0.2). */
  reluSlope: reluSlope(),
};
export type UNetUpBlockOptions = OptionsInput<typeof OPTIONS>;

/**
 * DRCNet decoder block (official `UNetUpBlock`): u = ConvTranspose2d(k 2, s 2, bias)(x),
 * y = PlainConvBlock(cat[u, bridge]). Inputs [x, bridge] with bridge at twice x's resolution.
 */
export class UNetUpBlock extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>UNetUpBlock';
  /** A repeated unit: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = OPTIONS;
  readonly up: ConvTranspose2d;
  readonly convBlock: PlainConvBlock;

  constructor(opts: UNetUpBlockOptions & BlockArgs) {
    super(opts as never);
    const { inChannels: cin, outChannels: cout, reluSlope: slope } = this.options;
    if (cout >= cin)
      throw new ConfigError(
        `UNetUpBlock: 'outChannels' (${cout}) must be smaller than 'inChannels' (${cin}); the bridge brings the other inChannels − outChannels`,
      );
    this.up = this.addChild('up', new ConvTranspose2d({ inChannels: cin, outChannels: cout, kernelSize: 2, stride: 2, bias: true }));
    this.convBlock = this.addChild('conv_block', new PlainConvBlock({ inChannels: cin, outChannels: cout, reluSlope: slope }));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [s, b] = inputShape as tfl.Shape[];
    this.buildChild(this.up, s!);
    this.buildChild(this.convBlock, [b![0]!, b![1]!, b![2]!, this.options.inChannels]);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels, this.options.inChannels - this.options.outChannels];
  }

  protected override validateInputs(xs: tf.Tensor | tf.Tensor[]): void {
    if (!Array.isArray(xs) || xs.length !== 2) throw new ShapeError(`UNetUpBlock '${this.name}': expects 2 inputs [x, bridge]`);
    super.validateInputs(xs);
    const [x, b] = xs as [tf.Tensor, tf.Tensor];
    if (b.shape[0] !== x.shape[0] || b.shape[1] !== 2 * x.shape[1]! || b.shape[2] !== 2 * x.shape[2]!)
      throw new ShapeError(`UNetUpBlock '${this.name}': bridge must be [B, 2H, 2W, C] for x ${fmtShape(x.shape)}, got ${fmtShape(b.shape)}`);
  }

  forward(inputs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor {
    const [x, bridge] = inputs as [tf.Tensor, tf.Tensor];
    const cat = consume(this.run(this.up, x, training), (u) => concatChannels([u, bridge]));
    return consume(cat, (t) => this.run(this.convBlock, t, training));
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const [s] = inputShape as tfl.Shape[];
    const dbl = (n: number | null) => (n == null ? null : 2 * n);
    return [s![0]!, dbl(s![1]!), dbl(s![2]!), this.options.outChannels];
  }
}
registerBlock(UNetUpBlock);
