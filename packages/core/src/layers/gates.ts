import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { gelu, simam, simpleGate } from '../ops/basic.js';
import { Conv2d } from './conv2d.js';

/** Exact (erf) GELU as a layer. */
export class GELU extends Block {
  static className = 'restorekit>GELU';
  static override optionsSchema = {};
  constructor(opts: BlockArgs = {}) {
    super(opts as never);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return gelu(x);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(GELU);

/** NAFNet SimpleGate: x1 · x2 for the two channel halves. */
export class SimpleGate extends Block {
  static className = 'restorekit>SimpleGate';
  static override optionsSchema = {};
  constructor(opts: BlockArgs = {}) {
    super(opts as never);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return simpleGate(x as tf.Tensor4D);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return [s[0]!, s[1]!, s[2]!, s[3] == null ? null : s[3] / 2];
  }
}
registerBlock(SimpleGate);

const SIMAM_OPTIONS = {
  /** λ in the energy denominator (official default 1e-4). */
  lambda: opt.number({ min: 0, exclusiveMin: true }, 1e-4),
};
export type SimAMOptions = OptionsInput<typeof SIMAM_OPTIONS>;
/** SimAM parameter-free energy attention (Yang et al., ICML 2021), as DRCNet's `simam_module`. */
export class SimAM extends Block<ResolvedOptions<typeof SIMAM_OPTIONS>> {
  static className = 'restorekit>SimAM';
  static override optionsSchema = SIMAM_OPTIONS;
  constructor(opts: SimAMOptions & BlockArgs = {}) {
    super(opts as never);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return simam(x as tf.Tensor4D, this.options.lambda);
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(SimAM);

const SCA_OPTIONS = { channels: opt.posInt() };
export type SimplifiedChannelAttentionOptions = OptionsInput<typeof SCA_OPTIONS>;
/** NAFNet simplified channel attention: x · conv1x1(globalAvgPool(x)); PyTorch key `1.weight`/`1.bias` (Sequential index). */
export class SimplifiedChannelAttention extends Block<ResolvedOptions<typeof SCA_OPTIONS>> {
  static className = 'restorekit>SimplifiedChannelAttention';
  static override optionsSchema = SCA_OPTIONS;
  readonly conv: Conv2d;
  constructor(opts: SimplifiedChannelAttentionOptions & BlockArgs) {
    super(opts as never);
    const c = this.options.channels;
    this.conv = this.addChild('1', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1, bias: true }));
  }
  override build(s: tfl.Shape): void {
    this.buildChild(this.conv, [s[0]!, 1, 1, this.options.channels]);
    this.built = true;
  }
  protected override expectedChannels() {
    return [this.options.channels];
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return tf.mul(x, this.run(this.conv, tf.mean(x, [1, 2], true), training));
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(SimplifiedChannelAttention);
