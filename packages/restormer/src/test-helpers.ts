// Shared by the block tests (not exported from the package).
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadFixture, fixtureTensor, loadFixtureWeights, compareWithFixture, type Fixture } from '@restorekit/core/testing';

/**
 * Loads `restormer/<file>.safetensors`, builds the block from the fixture's own config, loads the official
 * weights strictly, runs it on the stored input and compares with the stored output (manifest tolerances).
 * Returns the max |diff| for the report.
 */
export async function reproduceFixture(file: string, make: (cfg: Record<string, unknown>, fx: Fixture) => tfl.layers.Layer): Promise<number> {
  const before = tf.memory().numTensors;
  const fx = await loadFixture(`restormer/${file}.safetensors`);
  const block = make(fx.config, fx);
  const x = fixtureTensor(fx, '__input__');
  block.build(x.shape);
  const report = loadFixtureWeights(block as never, fx);
  expect(report.missing).toEqual([]);
  expect(report.unexpected).toEqual([]);
  const y = block.apply(x) as tf.Tensor;
  const cmp = await compareWithFixture(y, fx);
  console.log(`[${tf.getBackend()}] ${file}: max |diff| ${cmp.maxAbsDiff.toExponential(2)} (atol ${cmp.atol}, rtol ${cmp.rtol})`);
  expect(cmp.ok, `${file} on ${tf.getBackend()}: max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol}, rtol ${cmp.rtol})`).toBe(true);
  tf.dispose([x, y]);
  block.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return cmp.maxAbsDiff;
}
