import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, fmtShape } from '../errors.js';
import { prefers } from '../settings.js';
import { headGrams, headGramsKernelRuns } from './gram.js';
import { PRODUCT_KERNEL, productKernel } from '../wasm/kernels.js';

/** tfjs-core's engine entry for a node with its own lazy gradients (the same one tf.customGrad uses). */
interface KernelFuncEngine {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor;
}

/**
 * `a · b` for 2-D matrices, differentiable on every backend. tfjs's own gradient of a product takes products with a
 * transposed operand (dA = dy·bᵀ, dB = aᵀ·dy), which tfjs-backend-wasm runs as a scalar loop (XNNPACK only takes
 * plain, unbatched products): 150 ms for one [1024, 96]ᵀ·[1024, 96] against 1 ms. Where core
 * `prefers('plainMatMulGradients')` (wasm) the gradients are plain products of explicitly transposed operands; each
 * is computed only if the backward needs it (not for a constant such as an FFT basis), and the products themselves run as
 * restorekit's wasm product kernel where it applies (`productKernel`: M and N ≥ 4, float32). Elsewhere: `tf.matMul`.
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0])
    throw new ShapeError(`matMul: expects 2-D matrices [m, k] · [k, n], got ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);
  if (!prefers('plainMatMulGradients')) return tf.matMul(a, b);
  const engine = tf.engine() as unknown as KernelFuncEngine;
  return engine.runKernelFunc({
    forwardFunc: (_backend, save) => {
      save([a, b]);
      return product(a, b);
    },
    backwardsFunc: (dy, saved) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return {
        a: () => tf.tidy(() => product(dy as tf.Tensor2D, transpose2d(sb))),
        // aᵀ·dy of a tall a [N, k] (the channel attention's v·A: dA = vᵀ·dy) as restorekit's wasm kernel, which reads
        // both as they are (no transpose of a, no product of a k×N by an N×n matrix)
        b: () =>
          tf.tidy(() =>
            sa.shape[0] > 4 * sa.shape[1] && headGramsKernelRuns(sa, sa.shape[1], dy.shape[1]!)
              ? tf.reshape(headGrams(sa, dy as tf.Tensor2D, 1), [sa.shape[1], dy.shape[1]!])
              : product(transpose2d(sa), dy as tf.Tensor2D),
          ),
      };
    },
    inputs: { a, b },
  }) as tf.Tensor2D;
}

/** A plain product: restorekit's wasm kernel where it runs (`productKernel`), else tf.matMul. */
const product = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D => productKernel(a, b) ?? tf.matMul(a, b);

// The product kernel's own gradient, for a direct call under a gradient tape (core's matMul and conv2d supply theirs):
// dA = dy·bᵀ, dB = aᵀ·dy, dbias = Σ_rows dy.
if (!tf.getGradient(PRODUCT_KERNEL))
  tf.registerGradient({
    kernelName: PRODUCT_KERNEL,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [a, b] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return {
        a: () => product(g, transpose2d(b)),
        b: () => product(transpose2d(a), g),
        bias: () => tf.sum(g, 0),
      };
    },
  });

/** The split form's block of rows (see `transpose2d`). */
const SPLIT_ROWS = 32;

/**
 * The transpose of a 2-D matrix [r, c] → [c, r]. Where core `prefers('splitTranspose')` (wasm) and r is a large
 * multiple of 32, as the rank-3 transpose [r/32, 32, c] → [c, r/32, 32]: tfjs-backend-wasm's 2-D transpose writes with
 * a stride of r values, which for the power-of-two row counts of images (r = H·W) hits one cache set again and
 * again — [65536, 28] took 10.3 ms, [16384, 144] 41.6 ms — while its rank-3 loop took 2.7 and 3.5 ms for the same.
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [r, c] = x.shape;
  if (!prefers('splitTranspose') || r < 1024 || r % SPLIT_ROWS || c < 8) return tf.transpose(x);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [r / SPLIT_ROWS, SPLIT_ROWS, c]), [2, 0, 1]), [c, r]));
}
