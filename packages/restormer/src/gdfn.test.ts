import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, configure, conv2d, countParams, getSettings, withSettings } from '@restorekit/core';
import { checkBlock, expectNoLeaks } from '@restorekit/core/testing';
import { GDFN, gdfnHidden, type GDFNActivation } from './gdfn.js';
import { restormerFixture } from './test-helpers.js';

/** The official fixture's block (hidden = int(16·2.66) = 42). */
const official = (c: Record<string, unknown>) => new GDFN({ channels: c.dim as number, expansion: c.ffn_expansion_factor as number, bias: c.bias as boolean });

describe('GDFN', () => {
  it('reproduces the official FeedForward (fixture feedforward_gdfn, hidden = int(16·2.66) = 42)', () =>
    restormerFixture('feedforward_gdfn', (c) => {
      const g = official(c);
      expect(g.hidden).toBe(42);
      expect(g.options.activation).toBe('gelu');
      return g;
    }));

  it('hidden width truncates like Python int(): 48→127, 96→255, 192→510, 384→1021, 8→21', () => {
    expect([48, 96, 192, 384, 8].map((c) => gdfnHidden(c, 2.66))).toEqual([127, 255, 510, 1021, 21]);
  });

  it('has the official keys, shapes and parameter count (C=48: 20,574)', () => {
    const g = new GDFN({ channels: 48 });
    g.build([null, null, null, 48]);
    expect(g.torchParameters().map((p) => [p.name, p.torchShape])).toEqual([
      ['project_in.weight', [254, 48, 1, 1]],
      ['dwconv.weight', [254, 1, 3, 3]],
      ['project_out.weight', [48, 127, 1, 1]],
    ]);
    expect(countParams(g)).toBe(20_574);
    g.dispose();
  });

  // z1 = 1.4, z2 = 2.1 for x = 0.7 (hand computation, 1×1 pixel): out = 0.5 · act(1.4) · 2.1.
  const cases: [GDFNActivation, number, number][] = [
    ['gelu', 0.7, 1.4 * 0.9192433407662289], // GELU(1.4) = 1.4·Φ(1.4)
    ['relu', 0.7, 1.4],
    ['relu', -0.7, 0], // z1 = −1.4 → 0
    ['silu', 0.7, 1.4 / (1 + Math.exp(-1.4))],
  ];
  for (const [activation, xv, act] of cases)
    it(`gates ${activation}(first half) by the second half (hand computation, x = ${xv})`, () =>
      expectNoLeaks(async () => {
        const g = new GDFN({ channels: 1, expansion: 1, activation });
        g.build([1, 1, 1, 1]);
        tf.tidy(() => {
          g.projectIn.kernel.write(tf.tensor4d([2, 3], [1, 1, 1, 2]));
          const dw = tf.zeros([3, 3, 1, 2]).bufferSync(); // depthwise kernel [k, k, 1, C]
          dw.set(1, 1, 1, 0, 0);
          dw.set(1, 1, 1, 0, 1);
          g.dwconv.kernel.write(dw.toTensor());
          g.projectOut.kernel.write(tf.tensor4d([0.5], [1, 1, 1, 1]));
        });
        const x = tf.tensor4d([xv], [1, 1, 1, 1]);
        const y = g.apply(x) as tf.Tensor;
        expect((await y.data())[0]).toBeCloseTo(0.5 * act * (xv * 3), 5);
        tf.dispose([x, y]);
        g.dispose();
      }));

  it('with biases and random weights equals the formula written out (1×1, depthwise 3×3, exact GELU gate, 1×1)', () =>
    expectNoLeaks(async () => {
      const g = new GDFN({ channels: 5, expansion: 2, bias: true });
      const x = tf.randomNormal([2, 7, 6, 5], 0, 1, 'float32', 30) as tf.Tensor4D;
      g.build(x.shape);
      let seed = 40;
      for (const w of g.trainableWeights) {
        const v = tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', seed++);
        w.write(v);
        v.dispose();
      }
      const h = g.hidden;
      const want = tf.tidy(() => {
        const z = tf.add(
          conv2d(
            tf.add(conv2d(x, g.projectIn.kernel.read() as tf.Tensor4D), g.projectIn.biasVar!.read()) as tf.Tensor4D,
            g.dwconv.kernel.read() as tf.Tensor4D,
            {
              padding: 1,
              groups: 2 * h,
            },
          ),
          g.dwconv.biasVar!.read(),
        );
        const [z1, z2] = tf.split(z, 2, 3);
        const gelu = tf.mul(tf.mul(z1!, 0.5), tf.add(1, tf.erf(tf.mul(z1!, Math.SQRT1_2))));
        return tf.add(conv2d(tf.mul(gelu, z2!) as tf.Tensor4D, g.projectOut.kernel.read() as tf.Tensor4D), g.projectOut.biasVar!.read());
      });
      const got = g.apply(x) as tf.Tensor;
      const [u, v] = [await got.data(), await want.data()];
      const scale = Math.max(...Array.from(v, Math.abs));
      let d = 0;
      for (let i = 0; i < u.length; i++) d = Math.max(d, Math.abs(u[i]! - v[i]!));
      expect(scale).toBeGreaterThan(0.5);
      expect(d / scale).toBeLessThan(2e-6);
      tf.dispose([x, got, want]);
      g.dispose();
    }));

  it('rejects a non-positive expansion, an unknown activation, and 0.1 / PyTorch option names, with ConfigError', () => {
    expect(() => new GDFN({ channels: 4, expansion: 0 })).toThrow(ConfigError);
    expect(() => new GDFN({ channels: 1, expansion: 0.5 })).toThrow(/hidden width/);
    expect(() => new GDFN({ channels: 4, activation: 'tanh' as never })).toThrow(/activation.*'gelu', 'relu', 'silu'/);
    // Silently used γ = 2.66 in 0.1: now an error that names the option to use.
    expect(() => new GDFN({ channels: 8, ffn_expansion_factor: 2 } as never)).toThrow(ConfigError);
    expect(() => new GDFN({ channels: 8, ffn_expansion_factor: 2 } as never)).toThrow(
      /unknown option 'ffn_expansion_factor' \(did you mean 'expansion'\?\); known options: channels, expansion, bias, activation/,
    );
    expect(() => new GDFN({ channels: 8, expansio: 2 } as never)).toThrow(/unknown option 'expansio' \(did you mean 'expansion'\?\)/);
    expect(() => new GDFN({ channels: 8, ffnExpansionFactor: 2 } as never)).toThrow(/unknown option 'ffnExpansionFactor'/);
    expect(() => new GDFN({ dim: 8 } as never)).toThrow(/unknown option 'dim'/);
    // Memory limits are runtime settings now, never options.
    expect(() => new GDFN({ channels: 4, maxHiddenBytes: 1_000 } as never)).toThrow(/unknown option 'maxHiddenBytes'/);
  });

  describe('in chunks of hidden channels (runtime setting maxHiddenBytes)', () => {
    for (const [maxHiddenBytes, chunks] of [
      [1, 42],
      [20_000, 5],
    ] as const)
      it(`reproduces the official fixture in ${chunks} chunks (maxHiddenBytes ${maxHiddenBytes})`, () =>
        withSettings({ maxHiddenBytes }, () =>
          restormerFixture('feedforward_gdfn', official, {
            run: (layer, [x]) => {
              // 1·16·16·84·4 = 86,016 bytes of hidden activation: one hidden channel at a time (42), or ceil(86016 / 20000) = 5
              expect((layer as GDFN).chunksFor(x!.shape)).toBe(chunks);
              return layer.apply(x!) as tf.Tensor;
            },
          }),
        ));

    it('chunk count: whole below the limit, ceil(bytes / limit) above it, never more than the hidden width', () => {
      expect(getSettings().maxHiddenBytes).toBe(134_217_728); // the default, 128 MiB
      const g = new GDFN({ channels: 96 }); // hidden 255: Restormer's decoder level 1 and refinement
      expect(g.chunksFor([1, 128, 128, 96])).toBe(1); // 33 MB
      expect(g.chunksFor([1, 256, 256, 96])).toBe(1); // 133.7 MB, just under 128 MiB
      expect(g.chunksFor([2, 256, 256, 96])).toBe(2);
      expect(g.chunksFor([1, 512, 512, 96])).toBe(4); // 534.8 MB
      // Read when the block runs, not when it is built: the same block follows the setting.
      expect(withSettings({ maxHiddenBytes: 0 }, () => g.chunksFor([1, 512, 512, 96]))).toBe(1);
      expect(withSettings({ maxHiddenBytes: 1 }, () => g.chunksFor([1, 4, 4, 96]))).toBe(255);
      expect(g.chunksFor([1, 512, 512, 96])).toBe(4); // restored
      expect(() => configure({ maxHiddenBytes: -1 })).toThrow(/maxHiddenBytes/);
      expect(() => configure({ maxHiddenBytes: Number.NaN })).toThrow(ConfigError);
      expect(getSettings().maxHiddenBytes).toBe(134_217_728);
    });

    it('gives the output and every gradient of the whole block (bias on, 21 hidden channels in 5,5,5,5,1)', () =>
      expectNoLeaks(async () => {
        const g = new GDFN({ channels: 8, bias: true });
        const x = tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 3);
        g.build(x.shape);
        const probe = tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 4);
        const ws = g.trainableWeights.map((w) => w.read() as tf.Variable);
        const run = () => {
          const f = tf.valueAndGrads((xx: tf.Tensor) => tf.sum(tf.mul(g.apply(xx) as tf.Tensor, probe)));
          const { value, grads } = f([x]);
          const vg = tf.variableGrads(() => tf.sum(tf.mul(g.apply(x) as tf.Tensor, probe)) as tf.Scalar, ws);
          return { y: g.apply(x) as tf.Tensor, value, dx: grads[0]!, dw: ws.map((w) => vg.grads[w.name]!), extra: [vg.value, ...Object.values(vg.grads)] };
        };
        // 2·6·5·42·4 = 10,080 bytes: ceil(21 / 5) = 5 channels per chunk
        expect(withSettings({ maxHiddenBytes: 2_100 }, () => g.chunksFor(x.shape))).toBe(5);
        expect(withSettings({ maxHiddenBytes: 0 }, () => g.chunksFor(x.shape))).toBe(1);
        const a = withSettings({ maxHiddenBytes: 0 }, run);
        const b = withSettings({ maxHiddenBytes: 2_100 }, run);
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
        for (let i = 0; i < 6; i++) await close(a.dw[i]!, b.dw[i]!, `dL/d${g.trainableWeights[i]!.name}`);
        tf.dispose([a.y, a.value, a.dx, ...a.extra, b.y, b.value, b.dx, ...b.extra, x, probe]);
        g.dispose();
      }));

    it('passes the block harness while chunked (every weight gets a gradient)', () =>
      withSettings({ maxHiddenBytes: 1_000 }, () =>
        checkBlock({
          create: () => new GDFN({ channels: 4, expansion: 2, bias: true }),
          inputShapes: [[2, 4, 6, 4]],
          outputShape: [2, 4, 6, 4],
          trainableWeights: 6,
        }),
      ));
  });
});
