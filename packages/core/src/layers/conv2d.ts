import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { ConfigError } from '../errors.js';
import { DerivedWeights } from '../derived.js';
import { conv2d } from '../ops/conv.js';
import { torchUniform } from './init.js';

const OPTIONS = {
  inChannels: opt.posInt(),
  outChannels: opt.posInt(),
  kernelSize: opt.intOrPair({ min: 1 }),
  stride: opt.intOrPair({ min: 1 }, 1),
  /** Symmetric zero padding per side, as PyTorch's `padding` (so stride 2 matches PyTorch). 'same' = k//2. */
  padding: opt.custom<number | [number, number] | 'same'>(
    "an integer ≥ 0, an [h, w] pair of them, or 'same'",
    (v) =>
      v === 'same' ||
      (Number.isInteger(v) && (v as number) >= 0) ||
      (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 0)) ||
      'not a valid padding',
    0,
  ),
  groups: opt.posInt(1),
  bias: opt.bool(true),
  /** Seed of the PyTorch-default uniform init. */
  seed: opt.optional(opt.int({})),
};
export type Conv2dOptions = OptionsInput<typeof OPTIONS>;

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** PyTorch `nn.Conv2d` in NHWC: explicit symmetric padding, groups (depthwise included), PyTorch init, trainable on every backend. */
export class Conv2d extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>Conv2d';
  static override optionsSchema = OPTIONS;
  kernel!: tfl.LayerVariable;
  biasVar: tfl.LayerVariable | null = null;
  /** Rearranged forms of the kernel some backends run faster (see conv2d's `derived`), kept between inference calls. */
  private readonly derived = new DerivedWeights();

  constructor(opts: Conv2dOptions & BlockArgs) {
    super(opts as never);
    const { inChannels, outChannels, groups } = this.options;
    if (inChannels % groups || outChannels % groups)
      throw new ConfigError(`Conv2d: groups=${groups} must divide inChannels=${inChannels} and outChannels=${outChannels}`);
  }

  get padding(): [number, number] {
    const p = this.options.padding;
    if (p === 'same') {
      const [kh, kw] = pair(this.options.kernelSize);
      return [Math.floor(kh / 2), Math.floor(kw / 2)];
    }
    return pair(p);
  }

  override build(_inputShape?: unknown): void {
    const o = this.options;
    const [kh, kw] = pair(o.kernelSize);
    const g = o.groups;
    const fanIn = (o.inChannels / g) * kh * kw;
    this.kernel = this.addTorchWeight('weight', [kh, kw, o.inChannels / g, o.outChannels], torchUniform(fanIn, o.seed), { layout: 'conv' });
    if (o.bias) this.biasVar = this.addTorchWeight('bias', [o.outChannels], torchUniform(fanIn, o.seed === undefined ? undefined : o.seed + 1));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(x: tf.Tensor): tf.Tensor {
    return conv2d(x as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, {
      stride: this.options.stride,
      padding: this.padding,
      groups: this.options.groups,
      derived: this.derived,
      bias: this.biasVar ? (this.biasVar.read() as tf.Tensor1D) : undefined,
    });
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const [kh, kw] = pair(this.options.kernelSize);
    const [sh, sw] = pair(this.options.stride);
    const [ph, pw] = this.padding;
    const out = (n: number | null, k: number, st: number, p: number) => (n == null ? null : Math.floor((n + 2 * p - k) / st) + 1);
    return [s[0]!, out(s[1]!, kh, sh, ph), out(s[2]!, kw, sw, pw), this.options.outChannels];
  }
}
registerBlock(Conv2d);
