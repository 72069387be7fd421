import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  ShapeError,
  blockDiagonal,
  conv2d,
  fmtShape,
  headGrams,
  headGramsKernelRuns,
  matMul,
  prefers,
  spatialSum,
  splitChannels,
  softmax,
} from '@restorekit/core';

export interface TransposedAttentionOptions {
  /**
   * Free `qkv` (or the three tensors q, k, v) as soon as they have been rearranged, instead of leaving them to the
   * caller. Only for tensors the caller made for this call (a block's own intermediates, never its input): it keeps
   * the working set at two 3C-channel tensors instead of three (benchmarks/results/ops.md). Gradients are unaffected
   * (tfjs keeps what backprop needs). Default false.
   */
  consumeQkv?: boolean;
  /**
   * How the products are laid out: 'auto' (default) takes 'nhwc' where core `prefers('transposedMatMul')`
   * (tensorflow), 'matrices' where it `prefers('xnnpackForms')` (wasm) and 'batched' elsewhere. All compute the same
   * function (to float rounding) with the same gradients; the option exists for tests and measurements.
   */
  layout?: 'auto' | 'batched' | 'matrices' | 'nhwc';
  /**
   * A 1×1 projection of the result (MDTA's `project_out`): the output is then conv1×1(A·v) with this kernel, [1, 1, C, C']
   * or [C, C'], and bias [C'] if given. Where an image has more pixels than C' (every level of Restormer but the
   * smallest images' deepest one), it is folded into the output product instead of run after it: y = v·(Aᵀ·W) + b, so
   * one N×C by C×C' product replaces the N×C by C×C product A·v followed by the N×C by C×C' projection, at the price
   * of Aᵀ·W (C²·C' multiply-adds, fewer than the N·C² saved when N > C'): per image 2·N·C² fewer multiply-adds in
   * forward, 4·N·C² in backward (≈ 7 % of a Restormer block's at one head), and no [B, H, W, C] tensor between them.
   * Same function and gradients (to float rounding).
   */
  project?: AttentionProjection;
}

/** A 1×1 projection applied to the attention's output: kernel [1, 1, C, C'] or [C, C'], bias [C'] or none. */
export interface AttentionProjection {
  kernel: tf.Tensor;
  bias?: tf.Tensor | null;
}

/** A projection checked against the attention's C (ShapeError): its kernel as given, its bias or null, and C'. */
interface Projection {
  kernel: tf.Tensor;
  bias: tf.Tensor | null;
  cOut: number;
}

function projectionOf(p: AttentionProjection, c: number): Projection {
  const k = p.kernel;
  const ok = (k.rank === 4 && k.shape[0] === 1 && k.shape[1] === 1 && k.shape[2] === c) || (k.rank === 2 && k.shape[0] === c);
  if (!ok) throw new ShapeError(`transposedAttention: project.kernel must be [1, 1, ${c}, C'] or [${c}, C'] for C = ${c}, got shape ${fmtShape(k.shape)}`);
  const cOut = k.shape[k.rank - 1]!;
  const bias = p.bias ?? null;
  if (bias && bias.size !== cOut) throw new ShapeError(`transposedAttention: project.bias must hold ${cOut} values (C'), got shape ${fmtShape(bias.shape)}`);
  return { kernel: k, bias, cOut };
}

/** y + bias where there is one (broadcast over the last axis). */
function withBias(y: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  return bias ? tf.add(y, tf.reshape(bias, [bias.size])) : y;
}

/** q, k and v as one [B,H,W,3C] tensor (consecutive blocks of C channels), or as three [B,H,W,C] tensors. */
export type QkvInput = tf.Tensor | readonly [tf.Tensor, tf.Tensor, tf.Tensor];

/**
 * F.normalize(t, dim=-1) = t / max(‖t‖₂, 1e-12), written as t / sqrt(max(Σt², 1e-24)): the same value, but an
 * all-zero row gets PyTorch's finite gradient (1/eps) instead of sqrt'(0) = ∞ → NaN.
 */
function l2NormalizeLastAxis(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-24))));
}

/** 1 / max(‖t‖₂, 1e-12) from sums of squares Σt²: F.normalize's factor, NaN-safe like above. */
function inverseNorm(sumOfSquares: tf.Tensor): tf.Tensor {
  return tf.div(1, tf.sqrt(tf.maximum(sumOfSquares, 1e-24)));
}

/** F.normalize's factor of each row of a [R, N] matrix, as [R]. */
function inverseRowNorms(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => inverseNorm(tf.sum(tf.square(t), -1)));
}

/**
 * Restormer's transposed (channel) attention — the one implementation, used by MDTA and by AnyIR's
 * spatial-frequency attention (@restorekit/gated-da).
 *
 * `qkv` [B,H,W,3C] holds q, k and v as consecutive blocks of C channels (the output of the block's qkv convs), or
 * comes as the three tensors [q, k, v] of [B,H,W,C] each. Each is split head-outer into `heads` heads of
 * d = C/heads channels (c = head·d + j, the official rearrange 'b (head c) h w -> b head c (h w)'). q and k are
 * L2-normalised over H·W (F.normalize, NaN-safe at zero), A = softmax(q̂·k̂ᵀ · temperature[head]) is a d×d attention
 * per head, and the result A·v comes back as [B,H,W,C] (no output projection: that is the block's).
 * `temperature` holds one value per head (PyTorch [heads,1,1]).
 *
 * Two layouts of the same products (`opts.layout`):
 * - 'batched' (webgl, webgpu, tensorflow, cpu): one transpose of qkv, [B,N,3,C] → [3,B,C,N], three slices along its
 *   outer axis, and two batched matMuls over [B,heads] (the second operand of q·kᵀ transposed). Slicing qkv's
 *   channels instead is a slow generic copy on cpu and wasm. Rank 4 throughout: with a rank-5 transpose, the
 *   gradient of the slice (a rank-5 pad) failed to compile on webgl and came out zero on webgpu.
 * - 'matrices' (wasm): tfjs-backend-wasm runs BatchMatMul through XNNPACK only for one un-transposed product
 *   (batch 1, neither operand transposed); a batch > 1 or a transposed operand falls to a scalar loop, 10–15×
 *   slower, and both attention products were that (benchmarks/results/ops.md). Here every product is a plain 2-D
 *   one, per batch element: the Gram q·kᵀ as q_cf·k with q_cf = q channels-first [C,N] (one transpose) and k as it
 *   is in NHWC, [N,C]; F.normalize folded into the d×d logits (q̂·k̂ᵀ = diag(1/‖q‖)·(q·kᵀ)·diag(1/‖k‖), the norms
 *   from q and k channels-first); and the output straight in NHWC as v·Aᵀ, [N,C]·[C,C], with Aᵀ block-diagonal over
 *   the heads. With several heads each head's Gram is its own product (rows of q_cf times its k channels, made by
 *   transposing rows of k_cf); the output's block-diagonal product spends heads× the multiply-adds of per-head
 *   products but is one call, no channel slices of v and no transpose back (at most 8 heads, on levels whose H·W
 *   is 1/16–1/64 of level 1's). Where restorekit's wasm kernels run (settings `wasmKernels`, d ≥ 4) there is no
 *   transpose at all: q, k and v are [N, C] rows of pixels (one channel split of qkv), the per-head Grams come from
 *   core's `headGrams` kernel reading q and k as they are (8–30× the transpose and product it replaces), the norms are
 *   spatial sums of squares; the output product's gradient vᵀ·dy is that kernel too (core's `matMul`).
 * - 'nhwc' (tensorflow): no transpose at all. q, k, v stay [B, N, C] as NHWC lays them out (one channel split of qkv,
 *   or none when they come as three tensors); the Gram of all C channels is one batched product with its first
 *   operand transposed (qᵀ·k, [B,C,C]: a BLAS flag, not a copy, where the backend's BatchMatMul takes it natively),
 *   the norms are sums over N, entries outside each head's d×d block get −∞ before the softmax (so they come out 0,
 *   with zero gradient), and the output is v·Aᵀ ([B,N,C]·[B,C,C]ᵀ, second operand transposed) straight in NHWC.
 *   With n heads the two products spend n× the multiply-adds of per-head ones (negligible: those levels have 1/16–1/64
 *   of level 1's pixels); on tensorflow the transposes of the other layouts cost more than Restormer's attention
 *   products themselves (benchmarks/results/ops.md).
 * Each stage's tensors are freed once the next has them (this bounds the working set, not the values).
 */
export function transposedAttention(qkv: QkvInput, temperature: tf.Tensor, heads: number, opts: TransposedAttentionOptions = {}): tf.Tensor {
  if (!Number.isInteger(heads) || heads < 1) throw new ConfigError(`transposedAttention: heads must be a positive integer, got ${JSON.stringify(heads)}`);
  const parts = Array.isArray(qkv) ? (qkv as readonly tf.Tensor[]) : null;
  if (parts) {
    const s0 = parts[0]?.shape;
    if (parts.length !== 3 || parts.some((t) => t.rank !== 4 || t.shape.some((e, i) => e !== s0![i])) || s0![3]! % heads)
      throw new ShapeError(
        `transposedAttention: [q, k, v] must be three [B, H, W, C] tensors of one shape with C divisible by heads = ${heads}, got shapes ${parts.map((t) => fmtShape(t.shape)).join(', ')}`,
      );
  } else {
    const t = qkv as tf.Tensor;
    if (t.rank !== 4 || t.shape[3]! % (3 * heads))
      throw new ShapeError(`transposedAttention: qkv must be [B, H, W, 3C] with C divisible by heads = ${heads}, got shape ${fmtShape(t.shape)}`);
  }
  if (temperature.size !== heads)
    throw new ShapeError(`transposedAttention: temperature must hold one value per head (${heads}), got shape ${fmtShape(temperature.shape)}`);
  const layout = opts.layout && opts.layout !== 'auto' ? opts.layout : prefers('transposedMatMul') ? 'nhwc' : prefers('xnnpackForms') ? 'matrices' : 'batched';
  const inputs = parts ?? [qkv as tf.Tensor];
  const [, h, w, ch] = inputs[0]!.shape as number[];
  const c = parts ? ch! : ch! / 3;
  const proj = opts.project ? projectionOf(opts.project, c) : null;
  // Folded where the product it saves (N·C² multiply-adds per image) outweighs the one it adds (C²·C'); the layouts
  // get the projection only to fold it
  const fold = proj && h! * w! > proj.cOut ? proj : null;
  const consume = () => {
    if (opts.consumeQkv) for (const t of inputs) t.dispose();
  };
  const y =
    layout === 'nhwc'
      ? nhwc(inputs, temperature, heads, consume, fold)
      : layout === 'matrices'
        ? matrices(inputs, temperature, heads, consume, fold)
        : batched(inputs, temperature, heads, consume, fold);
  if (!proj || fold) return y;
  const out = tf.tidy(() =>
    conv2d(y as tf.Tensor4D, tf.reshape(proj.kernel, [1, 1, c, proj.cOut]) as tf.Tensor4D, { bias: (proj.bias ?? undefined) as tf.Tensor1D | undefined }),
  );
  y.dispose();
  return out;
}

/** The 'nhwc' layout: batched products with transposed operands on [B, N, C], a head mask instead of per-head products. */
function nhwc(inputs: readonly tf.Tensor[], temperature: tf.Tensor, n: number, consume: () => void, p: Projection | null): tf.Tensor {
  const [b, h, w] = inputs[0]!.shape as [number, number, number, number];
  const c = inputs.length === 3 ? inputs[0]!.shape[3]! : inputs[0]!.shape[3]! / 3;
  const d = c / n;
  const [q, k, v] = tf.tidy(() =>
    inputs.length === 3 ? inputs.map((t) => tf.reshape(t, [b, h * w, c])) : tf.split(tf.reshape(inputs[0]!, [b, h * w, 3 * c]), 3, 2),
  ) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  consume();
  const attn = tf.tidy(() => {
    // F.normalize over N, folded into the logits: q̂ᵀk̂ = diag(1/‖q‖)·(qᵀk)·diag(1/‖k‖)
    const inv = (t: tf.Tensor) => inverseNorm(tf.sum(tf.square(t), 1)); // [B,C]
    const gram = tf.matMul(q, k, true, false); // [B,C,C]
    // per row: its head's temperature (temperature[head] for the d rows of that head)
    const tRows = n === 1 ? tf.reshape(temperature, [1, 1, 1]) : tf.reshape(tf.tile(tf.reshape(temperature, [n, 1]), [1, d]), [1, c, 1]);
    let logits = tf.mul(tf.mul(gram, tf.mul(tf.expandDims(inv(q), 2), tRows)), tf.expandDims(inv(k), 1));
    if (n > 1) {
      // −∞ outside the head blocks: kron(I_n, 1_{d×d}) − 1 scaled
      const block = tf.reshape(tf.mul(tf.reshape(tf.eye(n), [n, 1, n, 1]), tf.ones([1, d, 1, d])), [1, c, c]);
      logits = tf.add(logits, tf.mul(tf.sub(block, 1), 1e30));
    }
    return softmax(logits);
  });
  tf.dispose([q, k]);
  const out = tf.tidy(() => {
    if (!p) return tf.reshape(tf.matMul(v, attn, false, true), [b, h, w, c]);
    // v·(Aᵀ·W): Aᵀ·W per image (W repeated over a batch: a batched product's operands share their batch)
    const wb = tf.reshape(p.kernel, [1, c, p.cOut]);
    const m = tf.matMul(attn, b === 1 ? wb : tf.tile(wb, [b, 1, 1]), true, false); // [B,C,C']
    return tf.reshape(withBias(tf.matMul(v, m), p.bias), [b, h, w, p.cOut]);
  });
  tf.dispose([v, attn]);
  return out;
}

/** The 'batched' layout: [3,B,C,N] parts, batched matMuls over [B, heads]. */
function batched(inputs: readonly tf.Tensor[], temperature: tf.Tensor, n: number, consume: () => void, p: Projection | null): tf.Tensor {
  const [b, h, w] = inputs[0]!.shape as [number, number, number, number];
  const c = inputs.length === 3 ? inputs[0]!.shape[3]! : inputs[0]!.shape[3]! / 3;
  const d = c / n;
  const parts = tf.tidy(() =>
    inputs.length === 3
      ? tf.stack(inputs.map((t) => tf.transpose(tf.reshape(t, [b, h * w, c]), [0, 2, 1]))) // [3,B,C,N]
      : tf.transpose(tf.reshape(inputs[0]!, [b, h * w, 3, c]), [2, 0, 3, 1]),
  );
  consume();
  const part = (i: number) => tf.reshape(tf.slice(parts, [i, 0, 0, 0], [1, b, c, h * w]), [b, n, d, h * w]); // [B,n,d,N]
  const attn = tf.tidy(() => {
    const logits = tf.mul(tf.matMul(l2NormalizeLastAxis(part(0)), l2NormalizeLastAxis(part(1)), false, true), tf.reshape(temperature, [1, n, 1, 1]));
    return softmax(logits); // [B,n,d,d]
  });
  const out = tf.tidy(() => {
    if (!p) return tf.reshape(tf.transpose(tf.matMul(attn, part(2)), [0, 3, 1, 2]), [b, h, w, c]);
    // v·(Aᵀ·W) with Aᵀ·W per head (A_hᵀ·W_h, W_h: the head's d rows of W), and v channels-first as the product's
    // transposed first operand: the result comes out [B, N, C'] (NHWC), no transpose back
    const wh = tf.reshape(p.kernel, [1, n, d, p.cOut]);
    const m = tf.reshape(tf.matMul(attn, b === 1 ? wh : tf.tile(wh, [b, 1, 1, 1]), true, false), [b, c, p.cOut]);
    const v = tf.reshape(tf.slice(parts, [2, 0, 0, 0], [1, b, c, h * w]), [b, c, h * w]);
    return tf.reshape(withBias(tf.matMul(v, m, true, false), p.bias), [b, h, w, p.cOut]);
  });
  tf.dispose([parts, attn]);
  return out;
}

/** [H,W,C] (any 3-D or 4-D tensor holding one image) → channels-first [C, H·W], one transpose. */
function channelsFirst(t: tf.Tensor, h: number, w: number, c: number): tf.Tensor2D {
  return tf.reshape(tf.transpose(tf.reshape(t, [h, w, c]), [2, 0, 1]), [c, h * w]);
}

/**
 * The 'matrices' layout: per batch element, plain 2-D matMuls only (see `transposedAttention`). From one qkv
 * tensor, one transpose [N,3,C] → [3,C,N] gives q, k and v channels-first (outer slices: contiguous copies); v and,
 * with one head, k go back to NHWC by 2-D transposes [C,N] → [N,C], the direction that is cheap on wasm.
 */
function matrices(inputs: readonly tf.Tensor[], temperature: tf.Tensor, n: number, consume: () => void, p: Projection | null): tf.Tensor {
  const [b, h, w] = inputs[0]!.shape as [number, number, number, number];
  const separate = inputs.length === 3;
  const c = separate ? inputs[0]!.shape[3]! : inputs[0]!.shape[3]! / 3;
  const d = c / n;
  const N = h * w;
  const image = (t: tf.Tensor, i: number) => (b === 1 ? t : tf.slice(t, [i, 0, 0, 0], [1, h, w, t.shape[3]!]));
  const temp = tf.reshape(temperature, [n, 1, 1]);
  // restorekit's wasm Gram kernel where it runs (headGrams: no transpose of q or k, 8–30× the plain form's speed)
  const gramKernel = headGramsKernelRuns(inputs[0]!, d, d);
  const outs: tf.Tensor[] = [];
  const vs: tf.Tensor[] = [];
  const attns: tf.Tensor[] = [];
  for (let i = 0; i < b; i++) {
    // Stage 1: the d×d attention of each head (q, k and their rearrangements freed at the end of the tidy).
    const [attn, v] = gramKernel
      ? tf.tidy(() => gramAttention(image(inputs[0]!, i), separate ? [image(inputs[1]!, i), image(inputs[2]!, i)] : null, c, n, temp))
      : tf.tidy(() => {
          let qcf: tf.Tensor2D;
          let kcf: tf.Tensor2D;
          let kN: tf.Tensor2D | null = null;
          let vN: tf.Tensor2D;
          if (separate) {
            qcf = channelsFirst(image(inputs[0]!, i), h, w, c);
            const k = tf.reshape(image(inputs[1]!, i), [N, c]) as tf.Tensor2D;
            kcf = channelsFirst(k, h, w, c);
            kN = k;
            vN = tf.reshape(image(inputs[2]!, i), [N, c]) as tf.Tensor2D;
          } else {
            const t = tf.transpose(tf.reshape(image(inputs[0]!, i), [N, 3, c]), [1, 2, 0]); // [3,C,N]
            const row = (r: number) => tf.reshape(tf.slice(t, [r, 0, 0], [1, c, N]), [c, N]) as tf.Tensor2D;
            qcf = row(0);
            kcf = row(1);
            vN = tf.transpose(row(2)); // [C,N] → [N,C]: the cheap direction of a 2-D transpose on wasm
          }
          const rq = inverseRowNorms(qcf);
          const rk = inverseRowNorms(kcf);
          const grams: tf.Tensor[] = [];
          for (let j = 0; j < n; j++) {
            if (n === 1) grams.push(matMul(qcf, kN ?? tf.transpose(kcf)));
            else grams.push(matMul(tf.slice(qcf, [j * d, 0], [d, N]), tf.transpose(tf.slice(kcf, [j * d, 0], [d, N]))));
          }
          const gram = n === 1 ? tf.reshape(grams[0]!, [1, d, d]) : tf.stack(grams); // [n,d,d]
          const scale = tf.mul(tf.mul(tf.reshape(rq, [n, d, 1]), tf.reshape(rk, [n, 1, d])), temp);
          return [softmax(tf.mul(gram, scale)), vN] as [tf.Tensor, tf.Tensor];
        });
    attns.push(attn);
    vs.push(v);
  }
  consume(); // v of separate inputs lives on in its reshape (tfjs counts references to the data)
  for (let i = 0; i < b; i++) {
    outs.push(
      tf.tidy(() => {
        const at = blockDiagonal(attns[i]! as tf.Tensor3D, true); // Aᵀ, [C, C]
        if (!p) return tf.reshape(matMul(vs[i]! as tf.Tensor2D, at), [1, h, w, c]);
        const wp = tf.reshape(p.kernel, [c, p.cOut]) as tf.Tensor2D;
        return tf.reshape(withBias(matMul(vs[i]! as tf.Tensor2D, matMul(at, wp)), p.bias), [1, h, w, p.cOut]); // v·(Aᵀ·W)
      }),
    );
    vs[i]!.dispose();
    attns[i]!.dispose();
  }
  temp.dispose();
  if (outs.length === 1) return outs[0]!;
  const out = tf.concat(outs, 0);
  tf.dispose(outs);
  return out;
}

/**
 * The 'matrices' layout's stage 1 with restorekit's wasm Gram kernel: q, k, v as [N, C] rows of pixels (one channel
 * split of qkv, or reshapes of the three tensors), the per-head Grams q_hᵀ·k_h straight from them (`headGrams`), the
 * norms over N as spatial sums of squares. Returns the attention [n, d, d] (softmax rows) and v [N, C].
 */
function gramAttention(first: tf.Tensor, rest: [tf.Tensor, tf.Tensor] | null, c: number, n: number, temp: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const [, h, w] = first.shape as [number, number, number, number];
    const N = h * w;
    const d = c / n;
    const [q, k, v] = (rest ? [first, ...rest].map((t) => tf.reshape(t, [N, c])) : splitChannels(tf.reshape(first, [N, 3 * c]), 3)) as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    // 1 / max(‖column‖₂, 1e-12) over the N rows, NaN-safe at zero (see l2NormalizeLastAxis), as [n, d]
    const inv = (t: tf.Tensor2D) => tf.reshape(inverseNorm(spatialSum(tf.square(tf.reshape(t, [1, h, w, c])) as tf.Tensor4D)), [n, d]);
    const scale = tf.mul(tf.mul(tf.reshape(inv(q), [n, d, 1]), tf.reshape(inv(k), [n, 1, d])), temp);
    return [softmax(tf.mul(headGrams(q, k, n), scale)), v];
  });
}
