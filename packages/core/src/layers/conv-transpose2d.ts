import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { convTranspose2d } from '../ops/conv.js';
import { torchUniform } from './init.js';

const OPTIONS = {
  inChannels: opt.posInt(),
  outChannels: opt.posInt(),
  kernelSize: opt.posInt(),
  stride: opt.posInt(1),
  padding: opt.int({ min: 0 }, 0),
  bias: opt.bool(true),
  /** Seed of the PyTorch-default uniform init. */
  seed: opt.optional(opt.int({})),
};
export type ConvTranspose2dOptions = OptionsInput<typeof OPTIONS>;

/** PyTorch `nn.ConvTranspose2d` (groups 1) in NHWC; weight [in, out, k, k] ↔ tfjs [k, k, out, in]. */
export class ConvTranspose2d extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>ConvTranspose2d';
  static override optionsSchema = OPTIONS;
  kernel!: tfl.LayerVariable;
  biasVar: tfl.LayerVariable | null = null;

  constructor(opts: ConvTranspose2dOptions & BlockArgs) {
    super(opts as never);
  }

  override build(_inputShape?: unknown): void {
    const o = this.options;
    const k = o.kernelSize;
    // PyTorch computes fan_in from weight.size(1) · k² = out · k² for transposed convs.
    const fanIn = o.outChannels * k * k;
    this.kernel = this.addTorchWeight('weight', [k, k, o.outChannels, o.inChannels], torchUniform(fanIn, o.seed), { layout: 'convTranspose' });
    if (o.bias) this.biasVar = this.addTorchWeight('bias', [o.outChannels], torchUniform(fanIn));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(x: tf.Tensor): tf.Tensor {
    const y = convTranspose2d(x as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, { stride: this.options.stride, padding: this.options.padding });
    return this.biasVar ? tf.add(y, this.biasVar.read()) : y;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const { kernelSize: k, stride, padding } = this.options;
    const out = (n: number | null) => (n == null ? null : (n - 1) * stride + k - 2 * padding);
    return [s[0]!, out(s[1]!), out(s[2]!), this.options.outChannels];
  }
}
registerBlock(ConvTranspose2d);
