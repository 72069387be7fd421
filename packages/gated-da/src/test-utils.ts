import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Block } from '@restorekit/core';
import { compareArrays, type Fixture } from '@restorekit/core/testing';

/**
 * Checks the BatchNorm buffers after a train-mode forward against the fixture's `__after__.<key>`
 * tensors (running_mean, running_var, num_batches_tracked), with the manifest's tolerances.
 * Returns the largest absolute difference.
 */
export async function expectBuffersAfter(block: Block, fx: Fixture): Promise<number> {
  const after = Object.keys(fx.tensors).filter((k) => k.startsWith('__after__.'));
  expect(after.length).toBeGreaterThan(0);
  const params = new Map(block.torchParameters().map((p) => [p.name, p]));
  let worst = 0;
  for (const k of after) {
    const key = k.slice('__after__.'.length);
    const p = params.get(key);
    expect(p, `no weight for ${key}`).toBeDefined();
    expect(p!.buffer).toBe(true);
    const got = await p!.variable.read().data();
    const want = fx.tensors[k]!.data;
    const info = fx.entry?.outputs?.[k];
    const c = compareArrays(key, got, want, info?.atol ?? 1e-5, info?.rtol ?? 1e-4);
    expect(c.ok, `${key}: max |diff| ${c.maxAbsDiff}`).toBe(true);
    // The update must have happened: the buffers differ from the stored initial values.
    if (!key.endsWith('num_batches_tracked')) expect(compareArrays(key, got, fx.tensors[key]!.data, 0, 0).ok).toBe(false);
    else expect(got[0]).toBe(fx.tensors[key]!.data[0]! + 1);
    worst = Math.max(worst, c.maxAbsDiff);
  }
  console.log(`[${tf.getBackend()}] ${fx.file} __after__ buffers (${after.length}) max |diff| ${worst.toExponential(2)}`);
  return worst;
}
