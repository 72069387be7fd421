import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, countParams } from '@restorekit/core';
import { checkBlock } from '@restorekit/core/testing';
import { GDFN, gdfnHidden } from './gdfn.js';
import { reproduceFixture } from './test-helpers.js';

describe('GDFN', () => {
  it('reproduces the official FeedForward (fixture feedforward_gdfn, hidden = int(16·2.66) = 42)', () =>
    reproduceFixture('feedforward_gdfn', (c) => {
      const g = new GDFN({ dim: c.dim as number, ffnExpansionFactor: c.ffn_expansion_factor as number, bias: c.bias as boolean });
      expect(g.hidden).toBe(42);
      return g;
    }));

  it('passes the block harness (γ 2.66 no bias; γ 2 with bias)', async () => {
    await checkBlock({ create: () => new GDFN({ dim: 6 }), inputShapes: [[2, 5, 7, 6]], outputShape: [2, 5, 7, 6], trainableWeights: 3 });
    await checkBlock({ create: () => new GDFN({ dim: 4, ffnExpansionFactor: 2, bias: true }), inputShapes: [[2, 4, 6, 4]], outputShape: [2, 4, 6, 4], trainableWeights: 6 });
  });

  it('hidden width truncates like Python int(): 48→127, 96→255, 192→510, 384→1021, 8→21', () => {
    expect([48, 96, 192, 384, 8].map((c) => gdfnHidden(c, 2.66))).toEqual([127, 255, 510, 1021, 21]);
  });

  it('has the official keys, shapes and parameter count (C=48: 20,574)', () => {
    const g = new GDFN({ dim: 48 });
    g.build([null, null, null, 48]);
    expect(g.torchParameters().map((p) => [p.name, p.torchShape])).toEqual([
      ['project_in.weight', [254, 48, 1, 1]],
      ['dwconv.weight', [254, 1, 3, 3]],
      ['project_out.weight', [48, 127, 1, 1]],
    ]);
    expect(countParams(g)).toBe(20_574);
    g.dispose();
  });

  it('gates GELU(first half) by the second half (hand computation, 1×1 pixel)', async () => {
    const g = new GDFN({ dim: 1, ffnExpansionFactor: 1 });
    g.build([1, 1, 1, 1]);
    tf.tidy(() => {
      g.projectIn.kernel.write(tf.tensor4d([2, 3], [1, 1, 1, 2]));
      const dw = tf.zeros([3, 3, 1, 2]).bufferSync(); // depthwise kernel [k, k, 1, C]
      dw.set(1, 1, 1, 0, 0);
      dw.set(1, 1, 1, 0, 1);
      g.dwconv.kernel.write(dw.toTensor());
      g.projectOut.kernel.write(tf.tensor4d([0.5], [1, 1, 1, 1]));
    });
    const x = tf.tensor4d([0.7], [1, 1, 1, 1]);
    const y = g.apply(x) as tf.Tensor;
    // z1 = 1.4, z2 = 2.1; GELU(1.4) = 1.4·Φ(1.4) = 1.4 · 0.9192433407662289
    expect((await y.data())[0]).toBeCloseTo(0.5 * 1.4 * 0.9192433407662289 * 2.1, 5);
    tf.dispose([x, y]);
    g.dispose();
  });

  it('rejects a non-positive expansion with ConfigError', () => {
    expect(() => new GDFN({ dim: 4, ffnExpansionFactor: 0 })).toThrow(ConfigError);
    expect(() => new GDFN({ dim: 1, ffnExpansionFactor: 0.5 })).toThrow(ConfigError);
  });
});
