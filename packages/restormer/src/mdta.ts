import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  consume,
  conv2d,
  free,
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
 * temperature), out = project_out(A·v).
 * PyTorch keys: `temperature` [heads,1,1], `qkv.weight`, `qkv_dwconv.weight`, `project_out.weight`.
 */
export class MDTA extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>MDTA';
  static override optionsSchema = OPTIONS;
  readonly qkv: Conv2d;
  readonly qkvDwconv: Conv2d;
  readonly projectOut: Conv2d;
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
    if (!prefers('xnnpackForms') || !weightSlicesPay(x.shape[0]! * x.shape[1]! * x.shape[2]!, 3 * c * c)) {
      const qkv = consume(this.run(this.qkv, x, training), (t) => this.run(this.qkvDwconv, t, training));
      const attended = transposedAttention(qkv, temperature, heads, { consumeQkv: true });
      return consume(attended, (t) => this.run(this.projectOut, t, training));
    }
    const wIn = this.qkv.kernel.read(); // [1, 1, C, 3C]
    const wDw = this.qkvDwconv.kernel.read(); // [3, 3, 1, 3C]
    const bIn = this.qkv.biasVar?.read();
    const bDw = this.qkvDwconv.biasVar?.read();
    // Channels start..start+C of a weight's last axis (fresh begin/size arrays per slice, as GDFN's).
    const third = (t: tf.Tensor, start: number) =>
      tf.slice(
        t,
        t.shape.map((_, i) => (i === t.rank - 1 ? start : 0)),
        t.shape.map((d, i) => (i === t.rank - 1 ? c : d)),
      );
    const part = (i: number) =>
      tf.tidy(() => {
        const zIn = conv2d(x as tf.Tensor4D, third(wIn, i * c) as tf.Tensor4D);
        const z = bIn ? free(tf.add(zIn, third(bIn, i * c)), zIn) : zIn;
        const zDw = conv2d(z as tf.Tensor4D, third(wDw, i * c) as tf.Tensor4D, { padding: 1, groups: c });
        return bDw ? free(tf.add(zDw, third(bDw, i * c)), z, zDw) : free(zDw, z);
      });
    const attended = transposedAttention([part(0), part(1), part(2)], temperature, heads, { consumeQkv: true });
    return consume(attended, (t) => this.run(this.projectOut, t, training));
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MDTA);
