// Test helper (not exported): core's `checkFixture` on a DRCNet golden fixture, with every RN_L hard mask
// (`__mask__.<module path>`) compared too: the `run` hook records the masks of the forward pass and returns them
// after the layer's outputs, so checkFixture compares them with the stored masks (and frees them with the rest).
// Masks must match exactly (manifest rule): any differing pixel is a |diff| of 1, and every mask comparison is
// also required to have max |diff| 0.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import { checkFixture, loadFixture, type Fixture } from '@restorekit/core/testing';
import { recordRegionMasks, regionNormPaths } from './region-masks.js';

export interface FixtureRun {
  /** Max |diff| per output name. */
  diffs: Record<string, number>;
  /** Masks compared exactly (module path, '(root)' for the block itself → number of pixels). */
  masks: Record<string, number>;
}

const maskKey = (path: string) => (path === '' ? '__mask__' : `__mask__.${path}`);

export async function checkDRCNetFixture(file: string, create: (fx: Fixture) => tfl.layers.Layer): Promise<FixtureRun> {
  // Which masks the fixture stores (checkFixture loads it again: the names must be known before it runs).
  const names = Object.keys((await loadFixture(file)).tensors);
  const paths = names
    .filter((k) => k.startsWith('__mask__'))
    .map((k) => k.replace(/^__mask__\.?/, ''))
    .sort();
  const outputs = [...['__output__', '__output2__'].filter((n) => names.includes(n)), ...paths.map(maskKey)];
  let ran: string[] | null = null;
  const { fixture, comparisons } = await checkFixture(file, create, {
    outputs,
    run: (layer, xs) => {
      const { result, masks } = recordRegionMasks(() => layer.apply(xs.length === 1 ? xs[0]! : xs) as tf.Tensor | tf.Tensor[]);
      const ys = Array.isArray(result) ? result : [result];
      const byPath = regionNormPaths(layer);
      ran = [...byPath]
        .filter(([, l]) => masks.has(l))
        .map(([p]) => p)
        .sort();
      const wanted = paths.map((p) => masks.get(byPath.get(p)!));
      // Exactly the stored masks are returned (and freed by checkFixture); any other recorded mask is freed here.
      tf.dispose([...masks.values()].filter((m) => !wanted.includes(m)));
      if (JSON.stringify(ran) !== JSON.stringify(paths)) {
        tf.dispose([...ys, ...wanted.filter((m): m is tf.Tensor => m !== undefined)]);
        throw new Error(`${file}: the RN_L layers that ran (${ran.join(', ') || 'none'}) are not the ones with stored masks (${paths.join(', ') || 'none'})`);
      }
      return [...ys, ...(wanted as tf.Tensor[])];
    },
  });
  expect(ran).toEqual(paths);
  const diffs: Record<string, number> = {};
  const masks: Record<string, number> = {};
  for (const c of comparisons) {
    if (!c.name.startsWith('__mask__')) {
      diffs[c.name] = c.maxAbsDiff;
      continue;
    }
    const path = c.name.replace(/^__mask__\.?/, '') || '(root)';
    expect(c.maxAbsDiff, `${file}: mask ${path} on ${tf.getBackend()}`).toBe(0);
    masks[path] = fixture.tensors[c.name]!.data.length;
  }
  expect(Object.keys(masks).length).toBe(paths.length);
  console.log(`[fixture] ${tf.getBackend()} ${file} ${JSON.stringify(diffs)} masks ${JSON.stringify(masks)}`);
  return { diffs, masks };
}
