import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, ensurePositiveInt, type BlockArgs } from '../block.js';
import { ConfigError } from '../errors.js';
import { conv2d } from '../ops/conv.js';
import { torchUniform } from './init.js';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number | [number, number];
  stride?: number | [number, number];
  /** Symmetric zero padding per side, as PyTorch's `padding` (so stride 2 matches PyTorch). 'same' = k//2. */
  padding?: number | [number, number] | 'same';
  groups?: number;
  bias?: boolean;
  /** Seed of the PyTorch-default uniform init. */
  seed?: number;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** PyTorch `nn.Conv2d` in NHWC: explicit symmetric padding, groups (depthwise included), PyTorch init, trainable on every backend. */
export class Conv2d extends Block<Conv2dOptions & Record<string, unknown>> {
  static className = 'restorekit>Conv2d';
  kernel!: tfl.LayerVariable;
  biasVar: tfl.LayerVariable | null = null;

  constructor(opts: Conv2dOptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    ensurePositiveInt('Conv2d', 'inChannels', o.inChannels);
    ensurePositiveInt('Conv2d', 'outChannels', o.outChannels);
    const [kh, kw] = pair(o.kernelSize);
    ensurePositiveInt('Conv2d', 'kernelSize', kh);
    ensurePositiveInt('Conv2d', 'kernelSize', kw);
    const g = o.groups ?? 1;
    if (!Number.isInteger(g) || g < 1 || o.inChannels % g || o.outChannels % g)
      throw new ConfigError(`Conv2d: groups=${g} must divide inChannels=${o.inChannels} and outChannels=${o.outChannels}`);
  }

  get padding(): [number, number] {
    const p = this.options.padding ?? 0;
    if (p === 'same') {
      const [kh, kw] = pair(this.options.kernelSize);
      return [Math.floor(kh / 2), Math.floor(kw / 2)];
    }
    return pair(p);
  }

  override build(_inputShape?: unknown): void {
    const o = this.options;
    const [kh, kw] = pair(o.kernelSize);
    const g = o.groups ?? 1;
    const fanIn = (o.inChannels / g) * kh * kw;
    this.kernel = this.addTorchWeight('weight', [kh, kw, o.inChannels / g, o.outChannels], torchUniform(fanIn, o.seed), { layout: 'conv' });
    if (o.bias ?? true) this.biasVar = this.addTorchWeight('bias', [o.outChannels], torchUniform(fanIn, o.seed === undefined ? undefined : o.seed + 1));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(x: tf.Tensor): tf.Tensor {
    const y = conv2d(x as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, { stride: this.options.stride, padding: this.padding, groups: this.options.groups });
    return this.biasVar ? tf.add(y, this.biasVar.read()) : y;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    const [kh, kw] = pair(this.options.kernelSize);
    const [sh, sw] = pair(this.options.stride ?? 1);
    const [ph, pw] = this.padding;
    const out = (n: number | null, k: number, st: number, p: number) => (n == null ? null : Math.floor((n + 2 * p - k) / st) + 1);
    return [s[0]!, out(s[1]!, kh, sh, ph), out(s[2]!, kw, sw, pw), this.options.outChannels];
  }
}
registerBlock(Conv2d);
