import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '@restorekit/core';

export interface TransposedAttentionOptions {
  /**
   * Free `qkv` as soon as it has been rearranged into heads, instead of leaving it to the caller. Only for a `qkv`
   * the caller made for this call (a block's own intermediate, never its input): it keeps the working set at two
   * 3C-channel tensors instead of three (benchmarks/results/ops.md). Gradients are unaffected (tfjs keeps what
   * backprop needs). Default false.
   */
  consumeQkv?: boolean;
}

/**
 * F.normalize(t, dim=-1) = t / max(‖t‖₂, 1e-12), written as t / sqrt(max(Σt², 1e-24)): the same value, but an
 * all-zero row gets PyTorch's finite gradient (1/eps) instead of sqrt'(0) = ∞ → NaN.
 */
function l2NormalizeLastAxis(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-24))));
}

/**
 * Restormer's transposed (channel) attention — the one implementation, used by MDTA and by AnyIR's
 * spatial-frequency attention (@restorekit/gated-da).
 *
 * `qkv` [B,H,W,3C] holds q, k and v as consecutive blocks of C channels (the output of the block's qkv convs);
 * each is split head-outer into `heads` heads of d = C/heads channels (c = head·d + j, the official rearrange
 * 'b (head c) h w -> b head c (h w)'). q and k are L2-normalised over H·W (F.normalize, NaN-safe at zero),
 * A = softmax(q̂·k̂ᵀ · temperature[head]) is a d×d attention per head, and the result A·v comes back as [B,H,W,C]
 * (no output projection: that is the block's). `temperature` holds one value per head (PyTorch [heads,1,1]).
 *
 * Layout: one transpose of qkv, [B,N,3,C] → [3,B,C,N], then three slices along its outer axis (contiguous
 * copies) and a reshape of C into [heads,d]. Slicing qkv's channels instead is a slow generic copy on cpu and
 * wasm (benchmarks/results/ops.md). Rank 4 throughout: with a rank-5 transpose, the gradient of the slice (a
 * rank-5 pad) failed to compile on webgl and came out zero on webgpu. Each stage's tensors are freed once the
 * next has them (this bounds the working set, not the values).
 */
export function transposedAttention(qkv: tf.Tensor, temperature: tf.Tensor, heads: number, opts: TransposedAttentionOptions = {}): tf.Tensor {
  if (!Number.isInteger(heads) || heads < 1) throw new ConfigError(`transposedAttention: heads must be a positive integer, got ${JSON.stringify(heads)}`);
  if (qkv.rank !== 4 || qkv.shape[3]! % (3 * heads))
    throw new ShapeError(`transposedAttention: qkv must be [B, H, W, 3C] with C divisible by heads = ${heads}, got shape ${fmtShape(qkv.shape)}`);
  if (temperature.size !== heads)
    throw new ShapeError(`transposedAttention: temperature must hold one value per head (${heads}), got shape ${fmtShape(temperature.shape)}`);
  const [b, h, w, c3] = qkv.shape as [number, number, number, number];
  const c = c3 / 3;
  const n = heads;
  const d = c / n;
  const parts = tf.tidy(() => tf.transpose(tf.reshape(qkv, [b, h * w, 3, c]), [2, 0, 3, 1])); // [3,B,C,N]
  if (opts.consumeQkv) qkv.dispose();
  const part = (i: number) => tf.reshape(tf.slice(parts, [i, 0, 0, 0], [1, b, c, h * w]), [b, n, d, h * w]); // [B,n,d,N]
  const attn = tf.tidy(() => {
    const logits = tf.mul(tf.matMul(l2NormalizeLastAxis(part(0)), l2NormalizeLastAxis(part(1)), false, true), tf.reshape(temperature, [1, n, 1, 1]));
    return tf.softmax(logits, -1); // [B,n,d,d]
  });
  const out = tf.tidy(() => tf.reshape(tf.transpose(tf.matMul(attn, part(2)), [0, 3, 1, 2]), [b, h, w, c]));
  tf.dispose([parts, attn]);
  return out;
}
