import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { gelu, simam, simpleGate, spatialMean } from '../ops/basic.js';
import { conv2d } from '../ops/conv.js';
import { prefers } from '../settings.js';
import { free } from '../tensors.js';
import type { DerivedWeights } from '../derived.js';
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
    return tf.mul(x, this.run(this.conv, spatialMean(x as tf.Tensor4D), training));
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(SimplifiedChannelAttention);

/**
 * SimpleGate(dw(pw(x))) — NAFNet's Conv1×1(C → 2c) → depth-wise conv (optional) → SimpleGate — computed, where core
 * `prefers('weightHalves')` (cpu, wasm, tensorflow), from halves of the weights: each conv as two convs over the
 * channel halves, the gate their product, with no channel split of the 2c-channel activation (a generic copy on cpu
 * and wasm: 10 ms for a 256² × 64 tensor on wasm). Elsewhere the three layers as they are. `pw` is a 1×1 conv
 * (stride 1) with an even output count, `dw` a stride-1 depth-wise conv over those channels; the weight halves are
 * kept in `derived` between inference calls. Same function and gradients.
 */
export function gatedConvs(x: tf.Tensor, pw: Conv2d, dw: Conv2d | null, derived: DerivedWeights, run: (layer: Block, t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const n = pw.options.outChannels;
  const oneByOne = pw.options.kernelSize === 1 && pw.options.stride === 1 && pw.options.groups === 1 && n % 2 === 0;
  const depthwise = !dw || (dw.options.groups === n && dw.options.inChannels === n && dw.options.outChannels === n && dw.options.stride === 1);
  if (!prefers('weightHalves') || !oneByOne || !depthwise) {
    const a = run(pw, x);
    const d = dw ? free(run(dw, a), a) : a;
    return free(simpleGate(d as tf.Tensor4D), d);
  }
  const h = n / 2;
  const half = (t: tf.Tensor, i: number) =>
    tf.slice(
      t,
      t.shape.map((_, k) => (k === t.rank - 1 ? i * h : 0)),
      t.shape.map((s, k) => (k === t.rank - 1 ? h : s)),
    );
  const [a, b] = [0, 1].map((i) =>
    tf.tidy(() => {
      // (the biases' halves inside the convs: core's conv2d fuses a dense conv's bias where the backend can)
      const biasHalf = (layer: Conv2d) => {
        const b = layer.biasVar?.read();
        return b ? (derived.get(`${layer.name}/bias-half-${i}`, [b], () => half(b, i)) as tf.Tensor1D) : undefined;
      };
      const wp = pw.kernel.read();
      const t = conv2d(x as tf.Tensor4D, derived.get(`${pw.name}/half-${i}`, [wp], () => half(wp, i)) as tf.Tensor4D, { bias: biasHalf(pw) });
      if (!dw) return t;
      const wd = dw.kernel.read();
      return conv2d(t, derived.get(`${dw.name}/half-${i}`, [wd], () => half(wd, i)) as tf.Tensor4D, { padding: dw.padding, groups: h, bias: biasHalf(dw) });
    }),
  ) as [tf.Tensor, tf.Tensor];
  return free(tf.mul(a, b), a, b);
}
