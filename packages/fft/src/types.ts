import type * as tf from '@tensorflow/tfjs-core';

/** torch.fft normalisation modes (same meanings as PyTorch). */
export type FFTNorm = 'backward' | 'ortho' | 'forward';
/**
 * Which implementation runs each 1-D transform: 'auto' picks by backend and length; 'matmul' is the
 * dense DFT by matMul, 'fourstep' the N = P·Q factorisation in tensor ops, 'kernel' the custom
 * DFT-pass shaders (webgl and webgpu only).
 */
export type FFTPath = 'auto' | 'matmul' | 'fourstep' | 'kernel';

/** A complex tensor as a pair of float32 tensors of the same shape (never tfjs complex64). */
export interface Complex<T extends tf.Tensor = tf.Tensor> {
  re: T;
  im: T;
}

export interface FFTOptions {
  /** Default 'backward' (PyTorch's default). */
  norm?: FFTNorm;
  /** The two transformed axes (negative counts from the end). Default: [0, 1] for rank 2, else [rank−3, rank−2] (H, W of NHWC / HWC). */
  axes?: readonly [number, number];
  /** Default 'auto'. */
  path?: FFTPath;
}

export interface IRFFTOptions extends FFTOptions {
  /** Output signal size [H, W] along the two axes; W defaults to 2·(bins − 1). Must fit the spectrum: H equal to its first axis, ⌊W/2⌋+1 equal to its bin count. */
  size?: readonly [number, number];
}
