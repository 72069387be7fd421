import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, ConfigError, Conv2d, ensurePositiveInt, registerBlock, type BlockArgs } from '@restorekit/core';
import * as fft from '@restorekit/fft';
import { GatedDA, type BatchNormMode } from './gated-da.js';
import { ones, constant } from './init.js';

/**
 * How the frequency half of the fusion is computed.
 * - 'fft': irfft2(rfft2(F_att) + rfft2(F_gate), s = (H, W)) with @restorekit/fft, as the official code and the paper do;
 * - 'identity': F_att + F_gate, which is the same thing (the DFT is linear and irfft2∘rfft2 is the identity), without the transforms.
 */
export type FrequencyBranch = 'fft' | 'identity';

export interface SpatialFrequencyAttentionOptions {
  /** Channels C of the block (even): C/2 go to each pathway. */
  dim: number;
  /** Heads of the transposed attention on the even half; C/2 must be divisible by it. */
  heads: number;
  /** Bias on qkv, qkv_dwconv and project_out (AnyIR: false). GatedDA never has one (the official code does not pass it on). */
  bias?: boolean;
  /** Default 'fft' (the official computation). */
  frequencyBranch?: FrequencyBranch;
  /** GatedDA's expansion ratio r (default 8/3) and depthwise kernel (default 7). */
  gatedExpansionRatio?: number;
  gatedKernelSize?: number;
  /** Training behaviour of GatedDA's BatchNorm (default 'batch'). */
  batchNorm?: BatchNormMode;
}

/**
 * AnyIR's attention (official `Attention` in net/anyir.py): interleaved Skip-Split of the C channels
 * (even → transposed multi-head attention without output projection, odd → GatedDA), then the
 * spatial-frequency fusion F = λ·F_s + (1 − λ)·F_f with
 * F_s = [F_att + σ(F_gate), F_gate + σ(F_att)] (block concat, attention half first) and
 * F_f = repeat_interleave₂(irfft2(rfft2(F_att) + rfft2(F_gate))), λ a free learnable scalar (init 0.5);
 * output project_out(F). PyTorch keys: `temperature`, `lam`, `qkv.*`, `qkv_dwconv.*`, `gatedcnn.*`, `project_out.*`.
 */
export class SpatialFrequencyAttention extends Block<SpatialFrequencyAttentionOptions & Record<string, unknown>> {
  static className = 'restorekit>SpatialFrequencyAttention';
  temperature!: tfl.LayerVariable;
  lam!: tfl.LayerVariable;
  readonly half: number;
  private readonly qkv: Conv2d;
  private readonly qkvDwconv: Conv2d;
  readonly gatedcnn: GatedDA;
  private readonly projectOut: Conv2d;

  constructor(opts: SpatialFrequencyAttentionOptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    const dim = ensurePositiveInt('SpatialFrequencyAttention', 'dim', o.dim);
    const heads = ensurePositiveInt('SpatialFrequencyAttention', 'heads', o.heads);
    if (dim % 2) throw new ConfigError(`SpatialFrequencyAttention: dim must be even (Skip-Split into attention and gated halves), got ${dim}`);
    this.half = dim / 2;
    if (this.half % heads) throw new ConfigError(`SpatialFrequencyAttention: dim/2 = ${this.half} must be divisible by heads = ${heads}`);
    const fb = o.frequencyBranch ?? 'fft';
    if (fb !== 'fft' && fb !== 'identity') throw new ConfigError(`SpatialFrequencyAttention: frequencyBranch must be 'fft' or 'identity', got ${JSON.stringify(fb)}`);
    const bias = o.bias ?? false;
    const h = this.half;
    this.qkv = this.addChild('qkv', new Conv2d({ inChannels: h, outChannels: 3 * h, kernelSize: 1, bias }));
    this.qkvDwconv = this.addChild('qkv_dwconv', new Conv2d({ inChannels: 3 * h, outChannels: 3 * h, kernelSize: 3, padding: 1, groups: 3 * h, bias }));
    // Official code: GatedDegradationAdaption(dim=half_dim, expansion_ratio=8/3, kernel_size=7) — bias stays False whatever `bias` is.
    this.gatedcnn = this.addChild('gatedcnn', new GatedDA({ channels: h, expansionRatio: o.gatedExpansionRatio ?? 8 / 3, kernelSize: o.gatedKernelSize ?? 7, batchNorm: o.batchNorm ?? 'batch' }));
    this.projectOut = this.addChild('project_out', new Conv2d({ inChannels: dim, outChannels: dim, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const h = this.half;
    const halfShape: tfl.Shape = [s[0]!, s[1]!, s[2]!, h];
    this.temperature = this.addTorchWeight('temperature', [this.options.heads, 1, 1], ones());
    this.lam = this.addTorchWeight('lam', [], constant(0.5));
    this.buildChild(this.qkv, halfShape);
    this.buildChild(this.qkvDwconv, [s[0]!, s[1]!, s[2]!, 3 * h]);
    this.buildChild(this.gatedcnn, halfShape);
    this.buildChild(this.projectOut, s);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.dim];
  }

  /** Transposed attention of Restormer on the even half, without its output projection. */
  private attention(x: tf.Tensor, training: boolean): tf.Tensor {
    const [b, hh, ww, c] = x.shape as [number, number, number, number];
    const n = this.options.heads;
    const d = c / n;
    const qkv = tf.tidy(() => this.run(this.qkvDwconv, this.run(this.qkv, x, training), training));
    // q, k, v in the head layout 'b (head c) h w -> b head c (h w)' = [B,n,d,N], as in @restorekit/restormer's MDTA:
    // one transpose [B,N,3,C] → [3,B,C,N], contiguous slices along its outer axis, C reshaped into [n,d]
    // (slicing qkv's channels is slow on cpu and wasm; rank 4 because webgl/webgpu mishandle rank-5 pads).
    // Each stage's tensors are freed once the next has them (peak memory), as in MDTA.
    const parts = tf.tidy(() => tf.transpose(tf.reshape(qkv, [b, hh * ww, 3, c]), [2, 0, 3, 1]));
    qkv.dispose();
    const part = (i: number) => tf.reshape(tf.slice(parts, [i, 0, 0, 0], [1, b, c, hh * ww]), [b, n, d, hh * ww]);
    const l2 = (t: tf.Tensor) => tf.div(t, tf.maximum(tf.sqrt(tf.sum(tf.square(t), -1, true)), 1e-12));
    const attn = tf.tidy(() => tf.softmax(tf.mul(tf.matMul(l2(part(0)), l2(part(1)), false, true), tf.reshape(this.temperature.read(), [1, n, 1, 1])), -1));
    const out = tf.tidy(() => tf.reshape(tf.transpose(tf.matMul(attn, part(2)), [0, 3, 1, 2]), [b, hh, ww, c]));
    tf.dispose([parts, attn]);
    return out;
  }

  /** irfft2(rfft2(a) + rfft2(g), s = (H, W)) over the spatial axes (PyTorch's default 'backward' norm). */
  private frequencySum(a: tf.Tensor, g: tf.Tensor): tf.Tensor {
    if ((this.options.frequencyBranch ?? 'fft') === 'identity') return tf.add(a, g);
    const [, hh, ww] = a.shape as number[];
    const fa = fft.rfft2(a as tf.Tensor4D, { norm: 'backward' });
    const fg = fft.rfft2(g as tf.Tensor4D, { norm: 'backward' });
    return fft.irfft2({ re: tf.add(fa.re, fg.re), im: tf.add(fa.im, fg.im) }, { size: [hh!, ww!], norm: 'backward' });
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const [b, hh, ww, c] = x.shape as [number, number, number, number];
    const h = this.half;
    // Skip-Split: x[:, 0::2] (even channels) → attention, x[:, 1::2] (odd) → GatedDA.
    // Rank 3 on purpose: the gradient of a rank-5 slice is a rank-5 pad, which webgl cannot compile.
    const pairs = tf.reshape(x, [b * hh * ww, h, 2]);
    const xAtt = tf.reshape(tf.slice(pairs, [0, 0, 0], [-1, h, 1]), [b, hh, ww, h]);
    const xGate = tf.reshape(tf.slice(pairs, [0, 0, 1], [-1, h, 1]), [b, hh, ww, h]);
    const fAtt = this.attention(xAtt, training);
    const fGate = this.run(this.gatedcnn, xGate, training);
    // Spatial fusion: block concat, attention-derived half first.
    const fS = tf.concat([tf.add(fAtt, tf.sigmoid(fGate)), tf.add(fGate, tf.sigmoid(fAtt))], 3);
    // Frequency fusion, then repeat_interleave(2) along channels: channels 2j and 2j+1 both hold channel j.
    const sum = this.frequencySum(fAtt, fGate);
    const col = tf.reshape(sum, [b * hh * ww, h, 1]);
    const fF = tf.reshape(tf.concat([col, col], 2), [b, hh, ww, c]);
    const lam = this.lam.read();
    const fuse = tf.add(tf.mul(lam, fS), tf.mul(tf.sub(1, lam), fF));
    return this.run(this.projectOut, fuse, training);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(SpatialFrequencyAttention);
