import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  DerivedWeights,
  consume,
  conv2d,
  opt,
  prefers,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { weightSlicesPay } from './gdfn.js';
import { transposedAttention } from './transposed-attention.js';

const OPTIONS = {
  /** Channels C. */
  channels: opt.posInt(),
  /** Number of heads n; C must be divisible by n (d = C / n channels per head). Default 1. */
  heads: opt.posInt(1),
  /** Bias on the three convs (Restormer uses false everywhere). Default false. */
  bias: opt.bool(false),
};
export type MDTAOptions = OptionsInput<typeof OPTIONS>;

/**
 * Multi-Dconv-head Transposed Attention (Restormer's `Attention`): qkv = DW3×3(1×1(x)), then the transposed
 * attention of `transposedAttention` (q, k L2-normalised over H·W, a d×d softmax attention per head with a learnable
 * temperature), out = project_out(A·v) — project_out folded into the product with v where that saves work (v·(Aᵀ·W)).
 * PyTorch keys: `temperature` [heads,1,1], `qkv.weight`, `qkv_dwconv.weight`, `project_out.weight`.
 */
export class MDTA extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>MDTA';
  static override optionsSchema = OPTIONS;
  readonly qkv: Conv2d;
  readonly qkvDwconv: Conv2d;
  readonly projectOut: Conv2d;
  /** The weight thirds of `qkvThirds`, kept between inference calls. */
  private readonly derived = new DerivedWeights();
  temperature!: tfl.LayerVariable;

  constructor(opts: MDTAOptions & BlockArgs) {
    super(opts as never);
    const { channels, heads, bias } = this.options;
    if (channels % heads) throw new ConfigError(`MDTA: channels = ${channels} must be divisible by heads = ${heads}`);
    this.qkv = this.addChild('qkv', new Conv2d({ inChannels: channels, outChannels: 3 * channels, kernelSize: 1, bias }));
    this.qkvDwconv = this.addChild(
      'qkv_dwconv',
      new Conv2d({ inChannels: 3 * channels, outChannels: 3 * channels, kernelSize: 3, padding: 1, groups: 3 * channels, bias }),
    );
    this.projectOut = this.addChild('project_out', new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    this.temperature = this.addTorchWeight('temperature', [this.options.heads, 1, 1], tfl.initializers.ones());
    this.buildChild(this.qkv, s);
    this.buildChild(this.qkvDwconv, this.qkv.computeOutputShape(s) as tfl.Shape);
    this.buildChild(this.projectOut, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  /**
   * Where core `prefers('xnnpackForms')` (wasm), q, k and v come from thirds of the qkv and qkv_dwconv weights
   * (three 1×1 convs C→C and three depthwise convs over C channels) as three NHWC tensors, which the 2-D products of
   * `transposedAttention` take as they are: no channel slices or transposes of a 3C-channel qkv (a channel slice is a
   * slow generic copy on wasm; the same reason GDFN computes its halves from weight halves), unless the image has
   * too few pixels for that to pay (`weightSlicesPay`). Elsewhere one conv over all 3C channels, as before. Same
   * function and gradients either way.
   */
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const temperature = this.temperature.read();
    const { heads } = this.options;
    const c = this.options.channels;
    // project_out goes into the attention's output product where that saves work (transposedAttention's `project`)
    const project = { kernel: this.projectOut.kernel.read(), bias: this.projectOut.biasVar?.read() ?? null };
    const qkv =
      prefers('xnnpackForms') && weightSlicesPay(x.shape[0]! * x.shape[1]! * x.shape[2]!, 3 * c * c)
        ? qkvThirds(x, this.qkv, this.qkvDwconv, this.derived)
        : consume(this.run(this.qkv, x, training), (t) => this.run(this.qkvDwconv, t, training));
    return transposedAttention(qkv, temperature, heads, { consumeQkv: true, project });
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MDTA);

/**
 * q, k and v of a transposed attention as three NHWC tensors [B, H, W, C] from thirds of its weights: a 1×1 conv
 * C_in → C and a depth-wise 3×3 conv over C channels per third, for `qkv` a 1×1 conv C_in → 3C and `qkvDwconv` its
 * depth-wise 3×3 conv (padding 1) over the 3C channels, biases included. No channel slice of a 3C-channel qkv (a
 * slow generic copy on cpu and wasm) and, on wasm, nothing for `transposedAttention` to transpose and slice. The
 * weight thirds are kept in `derived` between inference calls (tfjs-backend-wasm's XNNPACK packs a weight it has not
 * seen on every call). MDTA and FSDRNet's EFMA use it where `weightSlicesPay`.
 */
export function qkvThirds(
  x: tf.Tensor,
  qkv: Conv2d,
  qkvDwconv: Conv2d,
  derived: DerivedWeights,
  /** The 1×1 kernel of third i, if not qkv's own third (AnyIR's attention widens it to read every other channel of x). */
  kernelThird?: (i: number) => tf.Tensor,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const c = qkv.options.outChannels / 3;
  const wIn = qkv.kernel.read(); // [1, 1, C_in, 3C]
  const wDw = qkvDwconv.kernel.read(); // [3, 3, 1, 3C]
  // Channels start..start+C of the last axis (fresh begin/size arrays per slice: tfjs keeps them for the gradient).
  const third = (t: tf.Tensor, start: number) =>
    tf.slice(
      t,
      t.shape.map((_, i) => (i === t.rank - 1 ? start : 0)),
      t.shape.map((d, i) => (i === t.rank - 1 ? c : d)),
    );
  return [0, 1, 2].map((i) =>
    tf.tidy(() => {
      let z = conv2d(x as tf.Tensor4D, (kernelThird ? kernelThird(i) : derived.get(`qkv-third-${i}`, [wIn], () => third(wIn, i * c))) as tf.Tensor4D);
      if (qkv.biasVar) z = tf.add(z, third(qkv.biasVar.read(), i * c));
      z = conv2d(z as tf.Tensor4D, derived.get(`qkv-dwconv-third-${i}`, [wDw], () => third(wDw, i * c)) as tf.Tensor4D, { padding: 1, groups: c });
      return qkvDwconv.biasVar ? tf.add(z, third(qkvDwconv.biasVar.read(), i * c)) : z;
    }),
  ) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
