import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { blocks } from '@restorekit/core';
import { blocksRegisteredBy, checkRegisteredBlocks, type BlockCheckSpec } from '@restorekit/core/testing';
import './registry.js';

// Registry-driven: every block compact.ts registers has harness specs (batch 2, H ≠ W), created through the registry.
// compact.ts is imported dynamically so that its blocks can be told apart from core's.
const B = 2;

/**
 * NAFBlock's β and γ start at 0 (NAFNet), which zeroes the gradient of everything behind them; the harness wants every
 * weight to get a gradient, so the specs use a subclass (same className, so save/load and the registry round trip see
 * the real block) that sets them to 0.7 once built (any non-zero value: the check is structural).
 */
function withScales(type: string, options: Record<string, unknown>) {
  return () => {
    const Cls = blocks.create({ type, ...options }).constructor as new (o: unknown) => tfl.layers.Layer;
    const Scaled = class extends Cls {
      override build(shape: tfl.Shape | tfl.Shape[]): void {
        super.build(shape);
        tf.tidy(() => {
          for (const w of this.weights) if (/(^|\/)(beta|gamma)$/.test(w.originalName)) w.write(tf.fill(w.shape as number[], 0.7));
        });
      }
    };
    return new Scaled(options);
  };
}

const SPECS: Record<string, BlockCheckSpec[]> = {
  // 9 convs/norms × (weight, bias) + beta + gamma.
  NAFBlock: [
    { create: withScales('NAFBlock', { channels: 4 }), inputShapes: [[B, 5, 7, 4]], outputShape: [B, 5, 7, 4], trainableWeights: 18 },
    {
      create: withScales('NAFBlock', { channels: 6, dwExpansion: 1, expansion: 3 }),
      inputShapes: [[B, 6, 3, 6]],
      outputShape: [B, 6, 3, 6],
      trainableWeights: 18,
    },
  ],
  Compact: [
    // tiny: 5 NAF blocks × 18 + intro, ending (2 each) + 2 downs (2 each) + 2 ups (1 each) = 100; 6×14 padded to 8×16.
    {
      create: withScales('Compact', { inChannels: 3, channels: 8, numBlocks: [1, 1], middleBlocks: 1, decoderBlocks: [1, 1], unshuffle: 2 }),
      inputShapes: [[B, 6, 14, 3]],
      outputShape: [B, 6, 14, 3],
      trainableWeights: 100,
    },
    // Plain NAFNet layout (no unshuffle), one grey channel, an empty encoder level: 3 blocks × 18 + 4 + 2 × 2 + 2 = 64.
    {
      create: withScales('Compact', { inChannels: 1, channels: 4, numBlocks: [0, 1], middleBlocks: 1, decoderBlocks: [1, 0], unshuffle: 1 }),
      inputShapes: [[B, 9, 12, 1]],
      outputShape: [B, 9, 12, 1],
      trainableWeights: 64,
    },
  ],
};

describe('compact: registry-driven block harness', () => {
  it('every block compact.ts registers passes checkBlock (config and save/load round trips, gradients, backends, leaks)', async () => {
    const types = await blocksRegisteredBy(() => import('./compact.js'));
    expect(types.sort()).toEqual(['Compact', 'NAFBlock']);
    const reports = await checkRegisteredBlocks(types, SPECS);
    for (const [t, rs] of Object.entries(reports)) for (const r of rs) expect(r.leakedTensors, t).toBe(0);
  });
});
