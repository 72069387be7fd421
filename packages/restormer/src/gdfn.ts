import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Conv2d, conv2d, ensurePositiveInt, gelu, registerBlock, type BlockArgs } from '@restorekit/core';

export interface GDFNOptions {
  /** Channels C. */
  dim: number;
  /** Expansion factor γ; hidden width = trunc(C·γ) (Python `int()`). Restormer 2.66, AnyIR 2. Default 2.66. */
  ffnExpansionFactor?: number;
  /** Bias on the three convs (Restormer uses false). Default false. */
  bias?: boolean;
  /**
   * Largest hidden activation (B·H·W·2h float32 values, in bytes) computed in one piece. Above it the block
   * runs in chunks of hidden channels: each chunk's project_in columns, depthwise conv and gate, then its
   * share of project_out, summed. Same function (only the order of project_out's sum changes, ~1e-7
   * relative), same gradients; the working set drops from three or four tensors of 2h channels to about
   * twice this many bytes. Restormer's decoder at 512² has 2h = 510 channels: 535 MB per hidden tensor.
   * Default 128 MiB (chunking starts at about 256² for the widest levels); 0 never chunks.
   */
  maxHiddenBytes?: number;
}

/** Default of GDFNOptions.maxHiddenBytes. */
export const GDFN_MAX_HIDDEN_BYTES = 128 * 2 ** 20;

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
  /** The validated `maxHiddenBytes` option (its default filled in). */
  readonly maxHiddenBytes: number;
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
    const m = this.options.maxHiddenBytes ?? GDFN_MAX_HIDDEN_BYTES;
    if (typeof m !== 'number' || !(m >= 0)) throw new ConfigError(`GDFN: maxHiddenBytes must be a number ≥ 0 (0: never chunk), got ${JSON.stringify(m)}`);
    this.maxHiddenBytes = m;
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

  /** How many chunks of hidden channels a forward over `shape` runs in (1: the whole block at once). */
  chunksFor(shape: readonly number[]): number {
    const bytes = shape[0]! * shape[1]! * shape[2]! * 2 * this.hidden * 4;
    return this.maxHiddenBytes === 0 ? 1 : Math.min(this.hidden, Math.ceil(bytes / this.maxHiddenBytes));
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const n = this.chunksFor(x.shape);
    if (n > 1) return this.forwardInChunks(x, n);
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

  /**
   * The block in `n` chunks of hidden channels [a, a+c): the chunk needs project_in's output channels a..a+c
   * (GELU side) and h+a..h+a+c (gate side), the same depthwise channels, and project_out's input rows a..a+c.
   */
  private forwardInChunks(x: tf.Tensor, n: number): tf.Tensor {
    const h = this.hidden;
    const step = Math.ceil(h / n);
    const wIn = this.projectIn.kernel.read() as tf.Tensor4D; // [1, 1, C, 2h]
    const wDw = this.dwconv.kernel.read() as tf.Tensor4D; // [3, 3, 1, 2h]
    const wOut = this.projectOut.kernel.read() as tf.Tensor4D; // [1, 1, h, C]
    const bIn = this.projectIn.biasVar?.read();
    const bDw = this.dwconv.biasVar?.read();
    const bOut = this.projectOut.biasVar?.read();
    let acc: tf.Tensor | null = null;
    for (let a = 0; a < h; a += step) {
      const c = Math.min(step, h - a);
      const part = tf.tidy(() => {
        // Channels a..a+c then h+a..h+a+c of the last axis (the chunk's z₁ and z₂ halves).
        // (Fresh begin/size arrays per slice: tfjs keeps the attribute arrays for the gradient, so
        // mutating one after the call would move the first slice's gradient.)
        const two = (t: tf.Tensor) => {
          const at = (start: number) => tf.slice(t, t.shape.map((_, i) => (i === t.rank - 1 ? start : 0)), t.shape.map((d, i) => (i === t.rank - 1 ? c : d)));
          return tf.concat([at(a), at(h + a)], -1);
        };
        // Each intermediate is freed once consumed (the tidy catches the small weight slices).
        const free = <T extends tf.Tensor>(keep: T, ...done: tf.Tensor[]): T => (tf.dispose(done.filter((t) => t !== keep)), keep);
        const zIn = conv2d(x as tf.Tensor4D, two(wIn) as tf.Tensor4D);
        const z = bIn ? free(tf.add(zIn, two(bIn)), zIn) : zIn;
        const zDw = conv2d(z as tf.Tensor4D, two(wDw) as tf.Tensor4D, { padding: 1, groups: 2 * c });
        const dwOut = bDw ? free(tf.add(zDw, two(bDw)), z, zDw) : free(zDw, z);
        const [z1, z2] = tf.split(dwOut, 2, 3) as [tf.Tensor, tf.Tensor];
        dwOut.dispose();
        const g1 = free(gelu(z1), z1);
        const gated = free(tf.mul(g1, z2), g1, z2);
        return conv2d(gated as tf.Tensor4D, tf.slice(wOut, [0, 0, a, 0], [1, 1, c, wOut.shape[3]]));
      });
      if (acc === null) acc = part;
      else {
        const sum: tf.Tensor = tf.add(acc, part);
        tf.dispose([acc, part]);
        acc = sum;
      }
    }
    if (!bOut) return acc!;
    const out = tf.add(acc!, bOut);
    acc!.dispose();
    return out;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(GDFN);
