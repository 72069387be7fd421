import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, configure } from '@restorekit/core';
import { compareArrays, expectNoLeaks } from '@restorekit/core/testing';
import { GatedDA, SpatialFrequencyAttention, type FrequencyBranch } from './index.js';
import { checkAnyIRFixture } from './test-utils.js';

describe('SpatialFrequencyAttention (AnyIR Attention)', () => {
  for (const mode of ['eval', 'train'] as const)
    for (const branch of ['fft', 'identity'] as const)
      it(`reproduces the official Attention (${mode} mode, frequencyBranch '${branch}')`, () =>
        checkAnyIRFixture(
          `attention_${mode}`,
          mode,
          (c) => new SpatialFrequencyAttention({ channels: c.dim as number, heads: c.num_heads as number, bias: c.bias as boolean, frequencyBranch: branch }),
        ));

  it('gradients of the input and every weight equal the cpu backend’s (wasm splits even from odd channels by restorekit’s kernel, or with the kernels off by products; cpu by slices)', async () => {
    const backend = tf.getBackend();
    const grads = async () => {
      const m = new SpatialFrequencyAttention({ channels: 8, heads: 2, bias: true, frequencyBranch: 'identity' });
      const x = tf.randomNormal([1, 5, 6, 8], 0.25, 1, 'float32', 3);
      const probe = tf.randomNormal([1, 5, 6, 8], 0, 1, 'float32', 4);
      m.build(x.shape);
      let seed = 20;
      for (const w of m.trainableWeights) w.write(tf.randomNormal(w.shape as number[], 0.1, 0.4, 'float32', seed++));
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const f = (xi: tf.Tensor) => tf.sum(tf.mul(m.apply(xi, { training: true }) as tf.Tensor, probe)) as tf.Scalar;
      const dx = tf.grad(f)(x);
      const { value, grads: g } = tf.variableGrads(() => f(x), vars);
      const out = [await dx.data(), ...(await Promise.all(vars.map((v) => g[v.name]!.data())))];
      tf.dispose([x, probe, dx, value, Object.values(g)]);
      m.dispose();
      return out;
    };
    const mine = await grads();
    configure({ wasmKernels: false });
    let off: Awaited<ReturnType<typeof grads>>;
    try {
      off = await grads();
    } finally {
      configure({ wasmKernels: true });
    }
    await tf.setBackend('cpu');
    let ref: Awaited<ReturnType<typeof grads>>;
    try {
      ref = await grads();
    } finally {
      await tf.setBackend(backend);
    }
    for (const got of [mine, off])
      got.forEach((g, i) => {
        const c = compareArrays(`gradient ${i}`, g, ref[i]!, 1e-3, 1e-3);
        expect(c.ok, `gradient ${i}: max |diff| ${c.maxAbsDiff}`).toBe(true);
      });
  });

  it("the 'fft' branch equals the 'identity' shortcut (irfft2∘rfft2 is the identity), also for odd H and W", () =>
    expectNoLeaks(async () => {
      const mk = (frequencyBranch: FrequencyBranch) => new SpatialFrequencyAttention({ channels: 8, heads: 1, frequencyBranch });
      const a = mk('fft');
      const b = mk('identity');
      const x = tf.randomNormal([1, 7, 9, 8], 0.25, 1, 'float32', 3);
      a.build(x.shape);
      b.build(x.shape);
      b.setWeights(a.getWeights());
      const ya = a.apply(x) as tf.Tensor;
      const yb = b.apply(x) as tf.Tensor;
      const c = compareArrays('fft vs identity', await ya.data(), await yb.data(), 1e-5, 1e-5);
      expect(c.ok, `max |diff| ${c.maxAbsDiff}`).toBe(true);
      expect(c.maxAbsDiff).toBeGreaterThan(0); // the transforms really ran (float rounding differs)
      tf.dispose([x, ya, yb]);
      a.dispose(); // an FFTBlock: frees the DFT bases it cached
      b.dispose();
    }));

  it("the 'fft' branch has the same gradients as the 'identity' shortcut (input, λ, every weight), in train mode", () =>
    expectNoLeaks(async () => {
      const a = new SpatialFrequencyAttention({ channels: 8, heads: 2, frequencyBranch: 'fft' });
      const b = new SpatialFrequencyAttention({ channels: 8, heads: 2, frequencyBranch: 'identity' });
      const x = tf.randomNormal([2, 6, 5, 8], 0.25, 1, 'float32', 11);
      const probe = tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 12);
      a.build(x.shape);
      b.build(x.shape);
      b.setWeights(a.getWeights());
      const gradsOf = async (blk: SpatialFrequencyAttention) => {
        const vars = blk.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(blk.apply(x, { training: true }) as tf.Tensor, probe)) as tf.Scalar, vars);
        const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(blk.apply(xx) as tf.Tensor, probe)))(x);
        const out = [await gx.data(), ...(await Promise.all(vars.map((v) => grads[v.name]!.data())))];
        tf.dispose([value, gx, Object.values(grads)]);
        return out;
      };
      const ga = await gradsOf(a);
      const gb = await gradsOf(b);
      expect(ga.length).toBe(13); // input + 12 trainable weights
      ga.forEach((g, i) => {
        const c = compareArrays(`gradient ${i}`, g, gb[i]!, 1e-4, 1e-3);
        expect(c.ok, `gradient ${i}: max |diff| ${c.maxAbsDiff}`).toBe(true);
      });
      tf.dispose([x, probe]);
      a.dispose();
      b.dispose();
    }));

  it('F = λ·F_s + (1 − λ)·F_f with a 0-d λ (init 0.5); F_f repeats each channel twice (repeat_interleave)', () =>
    expectNoLeaks(async () => {
      const blk = new SpatialFrequencyAttention({ channels: 4, heads: 1, frequencyBranch: 'identity' });
      const x = tf.randomNormal([1, 4, 5, 4], 0, 1, 'float32', 5);
      blk.build(x.shape);
      // project_out = identity, so the output is F_fuse itself.
      tf.tidy(() => {
        blk
          .torchParameters()
          .find((p) => p.name === 'project_out.weight')!
          .variable.write(tf.reshape(tf.eye(4), [1, 1, 4, 4]));
      });
      const lam = blk.torchParameters().find((p) => p.name === 'lam')!;
      expect(lam.torchShape).toEqual([]);
      expect((await lam.variable.read().data())[0]).toBe(0.5);
      const at = async (v: number) => {
        tf.tidy(() => {
          lam.variable.write(tf.scalar(v));
        });
        const y = blk.apply(x) as tf.Tensor;
        const d = await y.data();
        y.dispose();
        return d;
      };
      const s = await at(1); // F_s
      const f = await at(0); // F_f
      const m = await at(0.3);
      for (let i = 0; i < f.length; i += 2) expect(f[i + 1]).toBe(f[i]); // channels 2j and 2j+1 are equal
      expect(
        compareArrays(
          'λ = 0.3',
          m,
          Array.from(s, (v, i) => 0.3 * v + 0.7 * f[i]!),
          1e-6,
          1e-6,
        ).ok,
      ).toBe(true);
      // F_s is not interleaved: its channel pairs differ.
      expect(Array.from({ length: s.length / 2 }, (_, i) => Math.abs(s[2 * i]! - s[2 * i + 1]!)).some((d) => d > 1e-3)).toBe(true);
      x.dispose();
      blk.dispose();
    }));

  it('its gate is a part config (GatedDA by default, channels C/2 filled in, complete in getConfig)', () => {
    const blk = new SpatialFrequencyAttention({ channels: 12, heads: 3, gate: { batchNorm: 'frozen' } });
    expect(blk.gatedcnn).toBeInstanceOf(GatedDA);
    expect((blk.gatedcnn as GatedDA).options).toMatchObject({ channels: 6, batchNorm: 'frozen', expansion: 8 / 3, kernelSize: 7 });
    const { name: _n, trainable: _t, dtype: _d, ...cfg } = blk.getConfig();
    expect(cfg).toEqual({
      channels: 12,
      heads: 3,
      bias: false,
      frequencyBranch: 'identity',
      gate: { type: 'GatedDA', expansion: 8 / 3, kernelSize: 7, bias: false, eps: 1e-6, normEps: 1e-5, normMomentum: 0.1, batchNorm: 'frozen' },
    });
    expect(new SpatialFrequencyAttention(JSON.parse(JSON.stringify(blk.getConfig()))).getConfig()).toEqual(blk.getConfig());
    expect(() => new SpatialFrequencyAttention({ channels: 12, gate: { channels: 12 } })).toThrow(/gate.channels is 12 but the block has 6 channels/);
    expect(() => new SpatialFrequencyAttention({ channels: 12, gate: { kernelSize: 4 } })).toThrow(
      /option 'gate': GatedDA: option 'kernelSize' must be an odd positive integer/,
    );
  });

  it('rejects bad configs and inputs with typed errors', () => {
    expect(() => new SpatialFrequencyAttention({ channels: 7, heads: 1 })).toThrow(/even/);
    expect(() => new SpatialFrequencyAttention({ channels: 8, heads: 3 })).toThrow(ConfigError);
    expect(() => new SpatialFrequencyAttention({ channels: 8, heads: 3 })).toThrow(/divisible/);
    expect(() => new SpatialFrequencyAttention({ channels: 8, heads: 1, frequencyBranch: 'dct' as never })).toThrow(/frequencyBranch/);
    expect(() => new SpatialFrequencyAttention({ dim: 8, heads: 1 } as never)).toThrow(/unknown option 'dim'/);
    expect(() => new SpatialFrequencyAttention({ channels: 8, batchNorm: 'frozen' } as never)).toThrow(/unknown option 'batchNorm'/);
    const blk = new SpatialFrequencyAttention({ channels: 8, heads: 1 });
    blk.build([1, 4, 4, 8]);
    const x = tf.zeros([1, 4, 4, 6]);
    expect(() => blk.apply(x)).toThrow(ShapeError);
    x.dispose();
    blk.dispose();
  });
});
