import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Conv2d, consume, opt, registerBlock, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';
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

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const qkv = consume(this.run(this.qkv, x, training), (t) => this.run(this.qkvDwconv, t, training));
    const attended = transposedAttention(qkv, this.temperature.read(), this.options.heads, { consumeQkv: true });
    return consume(attended, (t) => this.run(this.projectOut, t, training));
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MDTA);
