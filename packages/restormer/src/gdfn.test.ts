import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, countParams } from '@restorekit/core';
import { checkBlock } from '@restorekit/core/testing';
import { GDFN, GDFN_MAX_HIDDEN_BYTES, gdfnHidden } from './gdfn.js';
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

  describe('in chunks of hidden channels (maxHiddenBytes)', () => {
    it('reproduces the official fixture one hidden channel at a time (42 chunks) and in larger chunks', async () => {
      for (const maxHiddenBytes of [1, 20_000]) {
        await reproduceFixture('feedforward_gdfn', (c) => {
          const g = new GDFN({ dim: c.dim as number, ffnExpansionFactor: c.ffn_expansion_factor as number, bias: c.bias as boolean, maxHiddenBytes });
          return g;
        });
      }
    });

    it('chunk count: whole below the limit, ceil(bytes / limit) above it, never more than the hidden width', () => {
      const g = new GDFN({ dim: 96 }); // hidden 255: Restormer's decoder level 1 and refinement
      expect(GDFN_MAX_HIDDEN_BYTES).toBe(134_217_728);
      expect(g.chunksFor([1, 128, 128, 96])).toBe(1); // 33 MB
      expect(g.chunksFor([1, 256, 256, 96])).toBe(1); // 133.7 MB, just under 128 MiB
      expect(g.chunksFor([2, 256, 256, 96])).toBe(2);
      expect(g.chunksFor([1, 512, 512, 96])).toBe(4); // 534.8 MB
      expect(new GDFN({ dim: 96, maxHiddenBytes: 0 }).chunksFor([1, 512, 512, 96])).toBe(1);
      expect(new GDFN({ dim: 96, maxHiddenBytes: 1 }).chunksFor([1, 4, 4, 96])).toBe(255);
      expect(() => new GDFN({ dim: 4, maxHiddenBytes: -1 })).toThrow(/maxHiddenBytes/);
      expect(() => new GDFN({ dim: 4, maxHiddenBytes: Number.NaN })).toThrow(ConfigError);
    });

    it('gives the output and every gradient of the whole block (bias on, 21 hidden channels in 5,5,5,5,1)', async () => {
      const before = tf.memory().numTensors;
      const whole = new GDFN({ dim: 8, bias: true, maxHiddenBytes: 0 });
      const chunked = new GDFN({ dim: 8, bias: true, maxHiddenBytes: 2_100 });
      const x = tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 3);
      whole.build(x.shape);
      chunked.build(x.shape);
      expect(chunked.chunksFor(x.shape)).toBe(5); // 2·6·5·42·4 = 10,080 bytes: ceil(21 / 5) = 5 channels per chunk
      chunked.setWeights(whole.getWeights());
      const probe = tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 4);
      const run = (g: GDFN) => {
        const ws = g.trainableWeights.map((w) => w.read() as tf.Variable);
        const f = tf.valueAndGrads((xx: tf.Tensor) => tf.sum(tf.mul(g.apply(xx) as tf.Tensor, probe)));
        const { value, grads } = f([x]);
        const vg = tf.variableGrads(() => tf.sum(tf.mul(g.apply(x) as tf.Tensor, probe)) as tf.Scalar, ws);
        return { y: g.apply(x) as tf.Tensor, value, dx: grads[0]!, dw: ws.map((w) => vg.grads[w.name]!), extra: [vg.value, ...Object.values(vg.grads)] };
      };
      const a = run(whole);
      const b = run(chunked);
      expect(b.dw).toHaveLength(6);
      const close = async (p: tf.Tensor, q: tf.Tensor, what: string) => {
        const [u, v] = [await p.data(), await q.data()];
        const scale = Math.max(...Array.from(u, Math.abs));
        expect(scale, what).toBeGreaterThan(0);
        let d = 0;
        for (let i = 0; i < u.length; i++) d = Math.max(d, Math.abs(u[i]! - v[i]!));
        expect(d / scale, `${what} differs by ${d}`).toBeLessThan(1e-5);
      };
      await close(a.y, b.y, 'output');
      await close(a.dx, b.dx, 'dL/dx');
      for (let i = 0; i < 6; i++) await close(a.dw[i]!, b.dw[i]!, `dL/d${whole.trainableWeights[i]!.name}`);
      tf.dispose([a.y, a.value, a.dx, ...a.extra, b.y, b.value, b.dx, ...b.extra, x, probe]);
      whole.dispose();
      chunked.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('passes the block harness while chunked (every weight gets a gradient)', async () => {
      await checkBlock({ create: () => new GDFN({ dim: 4, ffnExpansionFactor: 2, bias: true, maxHiddenBytes: 1_000 }), inputShapes: [[2, 4, 6, 4]], outputShape: [2, 4, 6, 4], trainableWeights: 6 });
    });
  });
});
