import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, fmtShape } from '../errors.js';
import { prefers } from '../settings.js';

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
 * is computed only if the backward needs it (not for a constant such as an FFT basis). Elsewhere: `tf.matMul`.
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0])
    throw new ShapeError(`matMul: expects 2-D matrices [m, k] · [k, n], got ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);
  if (!prefers('plainMatMulGradients')) return tf.matMul(a, b);
  const engine = tf.engine() as unknown as KernelFuncEngine;
  return engine.runKernelFunc({
    forwardFunc: (_backend, save) => {
      save([a, b]);
      return tf.matMul(a, b);
    },
    backwardsFunc: (dy, saved) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return {
        a: () => tf.tidy(() => tf.matMul(dy as tf.Tensor2D, tf.transpose(sb))),
        b: () => tf.tidy(() => tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)),
      };
    },
    inputs: { a, b },
  }) as tf.Tensor2D;
}
