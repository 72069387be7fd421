import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, fmtShape } from '../errors.js';
import { needTensor } from './basic.js';
import { matMul } from './matmul.js';
import { GRAM_KERNEL, useWasmKernels } from '../wasm/kernels.js';

/**
 * Per-head Gram matrices of two [N, C] matrices (C = heads·d): g[h] = a_hᵀ·b_h, [heads, d, d], where a_h are the d
 * columns h·d … h·d + d − 1 of a — the channel ("transposed") attention's q·kᵀ of Restormer's MDTA and AnyIR, read
 * straight from the NHWC layout (rows = pixels). Differentiable: da_h = b_h·dg_hᵀ, db_h = a_h·dg_h (plain products).
 *
 * On tfjs-backend-wasm with settings `wasmKernels` on (float32, d ≥ 4) one pass of restorekit's kernel; tfjs-backend-wasm
 * runs a product with a transposed operand as a scalar loop, and the plain form (a transposed to [C, N], then XNNPACK's
 * d×N by N×d product) spent most of its time in the transpose and in a product shape XNNPACK runs at a third of its
 * peak. Elsewhere tf.matMul with the first operand transposed, per head.
 */
export function headGrams(a: tf.Tensor2D, b: tf.Tensor2D, heads: number): tf.Tensor3D {
  needTensor('headGrams', 'a', a);
  needTensor('headGrams', 'b', b);
  if (!Number.isInteger(heads) || heads < 1) throw new ConfigError(`headGrams: heads must be a positive integer, got ${JSON.stringify(heads)}`);
  if (a.rank !== 2 || b.rank !== 2 || a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1] || a.shape[1] % heads !== 0 || a.shape[0] < 1)
    throw new ShapeError(
      `headGrams: a and b must be [N, C] matrices of one shape with C divisible by heads = ${heads}, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  const d = a.shape[1] / heads;
  if (d >= 4 && useWasmKernels(a)) return tf.engine().runKernel(GRAM_KERNEL, { a, b }, { heads } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
  return tf.tidy(() => {
    if (heads === 1) return tf.reshape(tf.matMul(a, b, true, false), [1, d, d]);
    const cols = (t: tf.Tensor2D, h: number) => tf.slice(t, [0, h * d], [t.shape[0], d]);
    return tf.stack(Array.from({ length: heads }, (_, h) => tf.matMul(cols(a, h), cols(b, h), true, false))) as tf.Tensor3D;
  });
}

/** [n, d, d] → the block-diagonal [n·d, n·d] matrix with block (h, h) = x_h, or x_hᵀ when `transposed`. */
export function blockDiagonal(x: tf.Tensor3D, transposed = false): tf.Tensor2D {
  const [n, d] = x.shape;
  return tf.tidy(() => {
    const blocks = transposed ? tf.transpose(x, [0, 2, 1]) : x;
    if (n === 1) return tf.reshape(blocks, [d, d]);
    return tf.reshape(tf.mul(tf.reshape(blocks, [n, d, 1, d]), tf.reshape(tf.eye(n), [n, 1, n, 1])), [n * d, n * d]);
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
