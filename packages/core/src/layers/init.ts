import * as tfl from '@tensorflow/tfjs-layers';
import type { Initializer } from '../block.js';

/** PyTorch's default for conv/linear weights and biases: U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5). */
export function torchUniform(fanIn: number, seed?: number): Initializer {
  const b = 1 / Math.sqrt(fanIn);
  return tfl.initializers.randomUniform({ minval: -b, maxval: b, seed });
}
export const ones = () => tfl.initializers.ones();
export const zeros = () => tfl.initializers.zeros();
export const constant = (value: number) => tfl.initializers.constant({ value });
