import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '../errors.js';
import { needTensor } from './basic.js';
import { matMul } from './matmul.js';
import { GRAM_KERNEL, useWasmKernels } from '../wasm/kernels.js';

/**
 * Per-head products aᵀ·b of two matrices with N rows: g[h] = a_hᵀ·b_h, [heads, Ca/heads, Cb/heads], where a_h are
 * the columns h·da … h·da + da − 1 of a [N, Ca] (da = Ca/heads) and b_h those of b [N, Cb] — the channel
 * ("transposed") attention's q·kᵀ of Restormer's MDTA and AnyIR read straight from the NHWC layout (rows = pixels),
 * or (one head) a 1×1 conv's filter gradient xᵀ·dy. Differentiable: da_h = b_h·dg_hᵀ, db_h = a_h·dg_h (plain
 * products with a block-diagonal matrix).
 *
 * On tfjs-backend-wasm with settings `wasmKernels` on (float32, da, db ≥ 4) one pass of restorekit's kernel;
 * tfjs-backend-wasm runs a product with a transposed operand as a scalar loop, and the plain form (a transposed to
 * [Ca, N], then XNNPACK's Ca×N by N×Cb product) spent most of its time in the transpose and in a product shape XNNPACK
 * runs at a third to half of its peak. Elsewhere tf.matMul with the first operand transposed, per head.
 */
export function headGrams(a: tf.Tensor2D, b: tf.Tensor2D, heads: number): tf.Tensor3D {
  needTensor('headGrams', 'a', a);
  needTensor('headGrams', 'b', b);
  if (!Number.isInteger(heads) || heads < 1) throw new ConfigError(`headGrams: heads must be a positive integer, got ${JSON.stringify(heads)}`);
  if (a.rank !== 2 || b.rank !== 2 || a.shape[0] !== b.shape[0] || a.shape[0] < 1 || a.shape[1] % heads !== 0 || b.shape[1] % heads !== 0)
    throw new ShapeError(
      `headGrams: a and b must be [N, C] matrices with one N and column counts divisible by heads = ${heads}, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  const da = a.shape[1] / heads;
  const db = b.shape[1] / heads;
  if (headGramsKernelRuns(a, da, db)) return tf.engine().runKernel(GRAM_KERNEL, { a, b }, { heads } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
  return tf.tidy(() => {
    if (heads === 1) return tf.reshape(tf.matMul(a, b, true, false), [1, da, db]);
    const cols = (t: tf.Tensor2D, h: number, d: number) => tf.slice(t, [0, h * d], [t.shape[0], d]);
    return tf.stack(Array.from({ length: heads }, (_, h) => tf.matMul(cols(a, h, da), cols(b, h, db), true, false))) as tf.Tensor3D;
  });
}

/**
 * Whether `headGrams` runs as restorekit's wasm kernel for matrices like `a` with per-head widths da and db (float32,
 * both ≥ 4, `useWasmKernels`). Callers whose alternative is not a transposed tf.matMul pick their form by it.
 */
export function headGramsKernelRuns(a: tf.Tensor, da: number, db: number): boolean {
  return da >= 4 && db >= 4 && a.dtype === 'float32' && useWasmKernels(a);
}

/** [n, r, c] → the block-diagonal [n·r, n·c] matrix with block h = x_h (or [n·c, n·r] with blocks x_hᵀ when `transposed`). */
export function blockDiagonal(x: tf.Tensor3D, transposed = false): tf.Tensor2D {
  return tf.tidy(() => {
    const blocks = transposed ? tf.transpose(x, [0, 2, 1]) : x;
    const [n, r, c] = blocks.shape as [number, number, number];
    if (n === 1) return tf.reshape(blocks, [r, c]);
    return tf.reshape(tf.mul(tf.reshape(blocks, [n, r, 1, c]), tf.reshape(tf.eye(n), [n, 1, n, 1])), [n * r, n * c]);
  });
}

if (!tf.getGradient(GRAM_KERNEL))
  tf.registerGradient({
    kernelName: GRAM_KERNEL,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [a, b] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dg = dy as tf.Tensor3D;
      return {
        a: () => matMul(b, blockDiagonal(dg, true)),
        b: () => matMul(a, blockDiagonal(dg)),
      };
    },
  });
