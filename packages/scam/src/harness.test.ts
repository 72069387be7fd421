import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, blocks, type Block } from '@restorekit/core';
import { blocksRegisteredBy, checkRegisteredBlocks, expectNoLeaks, type BlockCheckSpec } from '@restorekit/core/testing';

// Registry-driven: every block this package registers has harness specs (batch 2, H ≠ W), created through the
// registry. The package is imported dynamically so its registrations can be told apart from core's.
const B = 2;
const create = (options: Record<string, unknown>) => () => blocks.create({ type: 'SCAM', ...options });
const SPECS: Record<string, BlockCheckSpec[]> = {
  SCAM: [
    {
      create: create({ channels: 4 }),
      inputShapes: [
        [B, 6, 10, 4],
        [B, 3, 5, 8],
      ],
      outputShape: [
        [B, 6, 10, 4],
        [B, 6, 10, 4],
      ],
      trainableWeights: 6,
    },
    {
      create: create({ channels: 32, reduction: 4 }),
      inputShapes: [
        [B, 4, 2, 32],
        [B, 2, 1, 64],
      ],
      outputShape: [
        [B, 4, 2, 32],
        [B, 4, 2, 32],
      ],
      trainableWeights: 6,
    },
  ],
};

describe('every block @restorekit/scam registers passes the block harness', () => {
  let types: string[] = [];
  beforeAll(async () => {
    types = await blocksRegisteredBy(() => import('./index.js'));
  });
  it('every registered block has a harness spec', () => expect([...types].sort()).toEqual(Object.keys(SPECS).sort()));
  for (const [type, specs] of Object.entries(SPECS)) it(type, () => checkRegisteredBlocks([type], { [type]: specs }));

  it('returns [r, m] at the skip`s size and refuses inputs that do not fit, saying why', async () => {
    const scam = blocks.create({ type: 'SCAM', channels: 8 }) as Block;
    scam.buildFromOptions();
    await expectNoLeaks(async () => {
      const e = tf.randomNormal([2, 4, 6, 8], 0.25, 1, 'float32', 1);
      const m = tf.randomNormal([2, 2, 3, 16], 0.25, 1, 'float32', 2);
      const [r, mOut] = scam.apply([e, m]) as tf.Tensor[];
      expect(r!.shape).toEqual([2, 4, 6, 8]);
      expect(mOut!.shape).toEqual([2, 4, 6, 8]);
      const bad = tf.zeros([2, 3, 3, 16]);
      expect(() => scam.apply([e, bad])).toThrow(ShapeError);
      expect(() => scam.apply([e, bad])).toThrow(/half its height and width/);
      expect(() => scam.apply(e)).toThrow(/expects 2 inputs/);
      tf.dispose([e, m, r!, mOut!, bad]);
    }, 'SCAM');
    scam.dispose();
  });
});
