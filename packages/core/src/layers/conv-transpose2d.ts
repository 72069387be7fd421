import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, ensurePositiveInt, type BlockArgs } from '../block.js';
import { convTranspose2d } from '../ops/conv.js';
import { torchUniform } from './init.js';

export interface ConvTranspose2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  padding?: number;
  bias?: boolean;
  seed?: number;
}

/** PyTorch `nn.ConvTranspose2d` (groups 1) in NHWC; weight [in, out, k, k] ↔ tfjs [k, k, out, in]. */
export class ConvTranspose2d extends Block<ConvTranspose2dOptions & Record<string, unknown>> {
  static className = 'restorekit>ConvTranspose2d';
  kernel!: tfl.LayerVariable;
  biasVar: tfl.LayerVariable | null = null;

  constructor(opts: ConvTranspose2dOptions & BlockArgs) {
    super(opts as never);
    ensurePositiveInt('ConvTranspose2d', 'inChannels', this.options.inChannels);
    ensurePositiveInt('ConvTranspose2d', 'outChannels', this.options.outChannels);
    ensurePositiveInt('ConvTranspose2d', 'kernelSize', this.options.kernelSize);
  }

  override build(_inputShape?: unknown): void {
    const o = this.options;
    const k = o.kernelSize;
    // PyTorch computes fan_in from weight.size(1) · k² = out · k² for transposed convs.
    const fanIn = o.outChannels * k * k;
    this.kernel = this.addTorchWeight('weight', [k, k, o.outChannels, o.inChannels], torchUniform(fanIn, o.seed), { layout: 'convTranspose' });
    if (o.bias ?? true) this.biasVar = this.addTorchWeight('bias', [o.outChannels], torchUniform(fanIn));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(x: tf.Tensor): tf.Tensor {
    const y = convTranspose2d(x as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, { stride: this.options.stride ?? 1, padding: this.options.padding ?? 0 });
    return this.biasVar ? tf.add(y, this.biasVar.read()) : y;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const { kernelSize: k, stride = 1, padding = 0 } = this.options;
    const out = (n: number | null) => (n == null ? null : (n - 1) * stride + k - 2 * padding);
    return [s[0]!, out(s[1]!), out(s[2]!), this.options.outChannels];
  }
}
registerBlock(ConvTranspose2d);
