// Test helper (not exported): runs a block on a golden fixture and compares every output and every
// RN_L hard mask (`__mask__.<module path>`, exact) with the official PyTorch tensors.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import { loadFixture, fixtureTensor, loadFixtureWeights, compareWithFixture, type Fixture } from '@restorekit/core/testing';
import { recordRegionMasks, regionNormPaths } from './region-masks.js';

export interface FixtureRun {
  /** Max |diff| per output name. */
  diffs: Record<string, number>;
  /** Masks compared (module path → number of pixels, all equal). */
  masks: Record<string, number>;
}

const INPUTS = ['__input__', '__input2__', '__input3__'];
const OUTPUTS = ['__output__', '__output2__'];

export async function runFixture(file: string, make: (fx: Fixture) => tfl.layers.Layer): Promise<FixtureRun> {
  const before = tf.memory().numTensors;
  const fx = await loadFixture(file);
  const layer = make(fx);
  const xs = INPUTS.filter((n) => fx.tensors[n]).map((n) => fixtureTensor(fx, n));
  layer.build(xs.length === 1 ? xs[0]!.shape : xs.map((x) => x.shape));
  const report = loadFixtureWeights(layer as never, fx);
  expect(report.missing).toEqual([]);
  const { result, masks } = recordRegionMasks(() => layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[]);
  const ys = Array.isArray(result) ? result : [result];
  const outNames = OUTPUTS.filter((n) => fx.tensors[n]);
  expect(ys.length).toBe(outNames.length);
  const diffs: Record<string, number> = {};
  for (const [i, n] of outNames.entries()) {
    const cmp = await compareWithFixture(ys[i]!, fx, n);
    diffs[n] = cmp.maxAbsDiff;
    expect(cmp.ok, `${file} ${n} on ${tf.getBackend()}: max |diff| ${cmp.maxAbsDiff} (atol ${cmp.atol}, rtol ${cmp.rtol})`).toBe(true);
  }
  // Masks: exactly the RN_L layers that ran, each equal to the stored mask pixel for pixel.
  const paths = regionNormPaths(layer);
  const ran = [...paths].filter(([, l]) => masks.has(l)).map(([p]) => p).sort();
  const stored = Object.keys(fx.tensors).filter((k) => k.startsWith('__mask__')).map((k) => k.replace(/^__mask__\.?/, '')).sort();
  expect(ran).toEqual(stored);
  const maskCounts: Record<string, number> = {};
  for (const p of stored) {
    const want = fx.tensors[p === '' ? '__mask__' : `__mask__.${p}`]!;
    const got = tf.tidy(() => tf.transpose(masks.get(paths.get(p)!)!, [0, 3, 1, 2]));
    const g = await got.data();
    got.dispose();
    expect(got.shape).toEqual(want.shape);
    let bad = 0;
    for (let i = 0; i < want.data.length; i++) if (g[i] !== want.data[i]) bad++;
    expect(bad, `${file}: mask ${p || '(root)'} differs in ${bad} of ${want.data.length} pixels on ${tf.getBackend()}`).toBe(0);
    maskCounts[p || '(root)'] = want.data.length;
  }
  tf.dispose([xs, ys, [...masks.values()]]);
  layer.dispose();
  expect(tf.memory().numTensors).toBe(before);
  console.log(`[fixture] ${tf.getBackend()} ${file} ${JSON.stringify(diffs)} masks ${JSON.stringify(maskCounts)}`);
  return { diffs, masks: maskCounts };
}
