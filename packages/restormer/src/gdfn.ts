import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Conv2d, ensurePositiveInt, gelu, registerBlock, type BlockArgs } from '@restorekit/core';

export interface GDFNOptions {
  /** Channels C. */
  dim: number;
  /** Expansion factor γ; hidden width = trunc(C·γ) (Python `int()`). Restormer 2.66, AnyIR 2. Default 2.66. */
  ffnExpansionFactor?: number;
  /** Bias on the three convs (Restormer uses false). Default false. */
  bias?: boolean;
}

/** Hidden width of the GDFN: Python's `int(dim * ffn_expansion_factor)` (truncation, e.g. 48·2.66 → 127). */
export function gdfnHidden(dim: number, factor: number): number {
  return Math.trunc(dim * factor);
}

/**
 * Gated-Dconv Feed-Forward Network (Restormer's `FeedForward`): z = DW3×3(1×1 C→2h (x)),
 * out = 1×1 h→C (GELU(z₁) ⊙ z₂) with z₁ the first h channels. Exact (erf) GELU.
 * PyTorch keys: `project_in.weight`, `dwconv.weight`, `project_out.weight`.
 */
export class GDFN extends Block<GDFNOptions & Record<string, unknown>> {
  static className = 'restorekit>GDFN';
  readonly hidden: number;
  readonly projectIn: Conv2d;
  readonly dwconv: Conv2d;
  readonly projectOut: Conv2d;

  constructor(opts: GDFNOptions & BlockArgs) {
    super(opts as never);
    const dim = ensurePositiveInt('GDFN', 'dim', this.options.dim);
    const f = this.options.ffnExpansionFactor ?? 2.66;
    if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0) throw new ConfigError(`GDFN: ffnExpansionFactor must be a positive number, got ${JSON.stringify(f)}`);
    const h = gdfnHidden(dim, f);
    if (h < 1) throw new ConfigError(`GDFN: hidden width trunc(${dim}·${f}) = ${h} must be at least 1`);
    this.hidden = h;
    const bias = this.options.bias ?? false;
    this.projectIn = this.addChild('project_in', new Conv2d({ inChannels: dim, outChannels: 2 * h, kernelSize: 1, bias }));
    this.dwconv = this.addChild('dwconv', new Conv2d({ inChannels: 2 * h, outChannels: 2 * h, kernelSize: 3, padding: 1, groups: 2 * h, bias }));
    this.projectOut = this.addChild('project_out', new Conv2d({ inChannels: h, outChannels: dim, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const mid = this.projectIn.computeOutputShape(s) as tfl.Shape;
    this.buildChild(this.projectIn, s);
    this.buildChild(this.dwconv, mid);
    this.buildChild(this.projectOut, [s[0]!, s[1]!, s[2]!, this.hidden]);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.dim];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    // The hidden activations (2·hidden channels: the widest tensors of a Restormer) are freed as soon as
    // they are consumed, which bounds this block's working set and the model's peak memory. tfjs keeps its
    // own copies of what backprop needs, so gradients are unaffected.
    const h = this.run(this.projectIn, x, training);
    const z = this.run(this.dwconv, h, training);
    h.dispose();
    const [z1, z2] = tf.split(z, 2, 3) as [tf.Tensor, tf.Tensor];
    z.dispose();
    const gated = tf.tidy(() => tf.mul(gelu(z1), z2));
    tf.dispose([z1, z2]);
    return this.run(this.projectOut, gated, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(GDFN);
