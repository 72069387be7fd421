import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, torchParameters, type TorchLayout, type TorchTarget } from '@restorekit/core';

/**
 * One trainable tensor as the optimizers see it: its PyTorch state_dict key, the tf.Variable that holds it (tfjs
 * layout), and how that layout maps to PyTorch's (so optimizer state is saved in PyTorch's layout, by PyTorch's name).
 */
export interface NamedParam {
  name: string;
  variable: tf.Variable;
  /** 'identity' when omitted. */
  layout?: TorchLayout;
}

/**
 * The parameters a PyTorch optimizer built with `model.parameters()` would update: every PyTorch-named weight of
 * the model that is a parameter (not a buffer such as BatchNorm running statistics) and is trainable, in
 * `state_dict` order. Builds unbuilt blocks from their options (as `torchParameters` does).
 */
export function trainableParams(model: TorchTarget): NamedParam[] {
  const params = torchParameters(model)
    .filter((p) => !p.buffer && p.variable.trainable)
    .map((p) => ({ name: p.name, variable: p.variable.read() as tf.Variable, layout: p.layout }));
  if (params.length === 0)
    throw new ConfigError('trainableParams: the model has no trainable PyTorch-named parameters (is it frozen, or not built from restorekit blocks?)');
  return params;
}

/** The permutation from a tfjs layout to PyTorch's (HWIO → OIHW for convolutions, [in, out] → [out, in] for linear). */
const TO_TORCH: Record<TorchLayout, number[] | null> = { conv: [3, 2, 0, 1], convTranspose: [3, 2, 0, 1], linear: [1, 0], identity: null };
/** Its inverse. */
const FROM_TORCH: Record<TorchLayout, number[] | null> = { conv: [2, 3, 1, 0], convTranspose: [2, 3, 1, 0], linear: [1, 0], identity: null };

/** A tfjs-layout tensor in PyTorch's layout (a new tensor; the caller disposes it). Layout changes are permutations: exact. */
export function toTorchLayout(t: tf.Tensor, layout: TorchLayout = 'identity'): tf.Tensor {
  const perm = TO_TORCH[layout];
  return perm ? tf.transpose(t, perm) : tf.clone(t);
}

/** A PyTorch-layout host array as a tensor of the tfjs shape `shape` (the variable's). */
export function fromTorchLayout(data: Float32Array, shape: readonly number[], layout: TorchLayout = 'identity'): tf.Tensor {
  const perm = FROM_TORCH[layout];
  if (!perm) return tf.tensor(data, [...shape], 'float32');
  // The PyTorch shape is the tfjs shape permuted by TO_TORCH.
  const torchShape = TO_TORCH[layout]!.map((i) => shape[i]!);
  return tf.tidy(() => tf.transpose(tf.tensor(data, torchShape, 'float32'), perm));
}

/** Shape of a tfjs-layout tensor in PyTorch's layout. */
export function torchShape(shape: readonly number[], layout: TorchLayout = 'identity'): number[] {
  const perm = TO_TORCH[layout];
  return perm ? perm.map((i) => shape[i]!) : [...shape];
}

/** Downloads a tensor's values (async: the only way every backend, webgpu included, can be read). */
export async function hostCopy(t: tf.Tensor): Promise<Float32Array> {
  const d = await t.data();
  return d instanceof Float32Array ? Float32Array.from(d) : Float32Array.from(d as ArrayLike<number>);
}
