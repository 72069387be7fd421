import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Block } from '@restorekit/core';
import { checkBuffersAfter, type Fixture } from '@restorekit/core/testing';

/**
 * BatchNorm buffers after a train-mode forward vs the fixture's `__after__.<key>` tensors (core's
 * `checkBuffersAfter`: tolerance, buffer kind, and that the update happened). Returns the largest |diff|.
 */
export async function expectBuffersAfter(block: Block, fx: Fixture): Promise<number> {
  const { count, maxAbsDiff } = await checkBuffersAfter(block, fx);
  expect(count).toBeGreaterThan(0);
  console.log(`[${tf.getBackend()}] ${fx.file} __after__ buffers (${count}) max |diff| ${maxAbsDiff.toExponential(2)}`);
  return maxAbsDiff;
}
