import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { checkFixture } from '@restorekit/core/testing';
import { SCAM } from './index.js';

describe('SCAM reproduces the reference fixture (lcdnet/scam.safetensors, batch 2)', () => {
  it('both outputs [r, m]', async () => {
    const { comparisons } = await checkFixture('lcdnet/scam.safetensors', (fx) => {
      const c = fx.config as { channels: number; variant: 'A'; reduction: number; min_hidden: number };
      return new SCAM({ channels: c.channels, variant: c.variant, reduction: c.reduction, minHidden: c.min_hidden });
    });
    expect(comparisons.map((c) => c.name)).toEqual(['__output__', '__output2__']);
    for (const c of comparisons) {
      console.log(
        `[fixture] ${tf.getBackend()} lcdnet/scam ${c.name} max|diff| ${c.maxAbsDiff.toExponential(2)} (atol ${c.atol}, worst ratio ${c.worstRatio.toFixed(3)})`,
      );
      expect(c.ok).toBe(true);
    }
  });
});
