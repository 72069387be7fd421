import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Conv2d, ensurePositiveInt, registerBlock, type BlockArgs } from '@restorekit/core';

export interface MDTAOptions {
  /** Channels C. */
  dim: number;
  /** Number of heads n; C must be divisible by n (d = C / n channels per head). */
  heads: number;
  /** Bias on the three convs (Restormer uses false everywhere). Default false. */
  bias?: boolean;
}

/**
 * Multi-Dconv-head Transposed Attention (Restormer's `Attention`): qkv = DW3×3(1×1(x)), split q,k,v;
 * channels split head-outer (c = head·d + j); q and k L2-normalised over H·W (max(‖·‖, 1e-12));
 * softmax((q̂·k̂ᵀ)·temperature) is a d×d attention per head; out = project_out(A·v).
 * PyTorch keys: `temperature` [heads,1,1], `qkv.weight`, `qkv_dwconv.weight`, `project_out.weight`.
 */
export class MDTA extends Block<MDTAOptions & Record<string, unknown>> {
  static className = 'restorekit>MDTA';
  readonly qkv: Conv2d;
  readonly qkvDwconv: Conv2d;
  readonly projectOut: Conv2d;
  temperature!: tfl.LayerVariable;

  constructor(opts: MDTAOptions & BlockArgs) {
    super(opts as never);
    const dim = ensurePositiveInt('MDTA', 'dim', this.options.dim);
    const heads = ensurePositiveInt('MDTA', 'heads', this.options.heads);
    if (dim % heads) throw new ConfigError(`MDTA: dim=${dim} must be divisible by heads=${heads}`);
    const bias = this.options.bias ?? false;
    this.qkv = this.addChild('qkv', new Conv2d({ inChannels: dim, outChannels: 3 * dim, kernelSize: 1, bias }));
    this.qkvDwconv = this.addChild('qkv_dwconv', new Conv2d({ inChannels: 3 * dim, outChannels: 3 * dim, kernelSize: 3, padding: 1, groups: 3 * dim, bias }));
    this.projectOut = this.addChild('project_out', new Conv2d({ inChannels: dim, outChannels: dim, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    this.temperature = this.addTorchWeight('temperature', [this.options.heads, 1, 1], tfl.initializers.ones());
    this.buildChild(this.qkv, s);
    this.buildChild(this.qkvDwconv, this.qkv.computeOutputShape(s) as tfl.Shape);
    this.buildChild(this.projectOut, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.dim];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const n = this.options.heads;
    const d = c / n;
    // Nested tidies free each stage's intermediates (3·C-channel tensors) once the next stage has them:
    // this bounds the block's working set, not its values (tfjs keeps its own copies for backprop).
    // q, k, v in the head layout [B,n,d,N]: one transpose of qkv, [B,N,3,C] → [3,B,C,N], then three slices along
    // its outer axis (contiguous copies) and a reshape of C into [n,d] (the head is the outer channel factor, as in
    // the official rearrange 'b (head c) h w -> b head c (h w)'). Slicing qkv's channels instead is a slow generic
    // copy on cpu and wasm (benchmarks/results/ops.md). Rank 4 throughout: with a rank-5 transpose, the gradient of
    // the slice (a rank-5 pad) failed to compile on webgl and came out zero on webgpu.
    const qkv = tf.tidy(() => this.run(this.qkvDwconv, this.run(this.qkv, x, training), training));
    const parts = tf.tidy(() => tf.transpose(tf.reshape(qkv, [b, h * w, 3, c]), [2, 0, 3, 1]));
    qkv.dispose();
    const part = (i: number) => tf.reshape(tf.slice(parts, [i, 0, 0, 0], [1, b, c, h * w]), [b, n, d, h * w]);
    // F.normalize(dim=-1): t / max(‖t‖₂, 1e-12), written as sqrt(max(Σt², 1e-24)) (same value) so that an
    // all-zero row gets PyTorch's finite gradient (1/eps) instead of sqrt'(0) = ∞ → NaN.
    const l2 = (t: tf.Tensor) => tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-24)));
    const attn = tf.tidy(() => {
      const logits = tf.mul(tf.matMul(l2(part(0)), l2(part(1)), false, true), tf.reshape(this.temperature.read(), [1, n, 1, 1]));
      return tf.softmax(logits, -1); // [B,n,d,d]
    });
    const back = tf.tidy(() => {
      const out = tf.matMul(attn, part(2)); // [B,n,d,N]
      return tf.reshape(tf.transpose(out, [0, 3, 1, 2]), [b, h, w, c]);
    });
    tf.dispose([parts, attn]);
    return this.run(this.projectOut, back, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MDTA);
