import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, losses } from '@restorekit/core';
import { compareWithFixture, fixtureTensor, loadFixture } from '@restorekit/core/testing';
import { AnyIRLoss, FFTLoss, MultiScaleFrequencyLoss, fftLoss } from './index.js';
import { directionalDerivative, expectNoLeaksBeyondFFTCache, gradStats, randomImage, scalar } from './test-helpers.js';

/** Float64 2-D DFT (unnormalised, e^{−i…}) of channel c of an NHWC array: [H][bins] of [re, im]. */
function dft2(x: ArrayLike<number>, [, h, w, c]: number[], b: number, ch: number, bins: number): [number, number][][] {
  const out: [number, number][][] = [];
  for (let u = 0; u < h; u++) {
    const row: [number, number][] = [];
    for (let v = 0; v < bins; v++) {
      let re = 0,
        im = 0;
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          const a = x[((b * h + y) * w + xx) * c + ch]!;
          const t = -2 * Math.PI * ((u * y) / h + (v * xx) / w);
          re += a * Math.cos(t);
          im += a * Math.sin(t);
        }
      row.push([re, im]);
    }
    out.push(row);
  }
  return out;
}

/** Float64 mean |Δre|,|Δim| over the stacked spectra of two NHWC arrays. */
function fftL1Reference(p: ArrayLike<number>, t: ArrayLike<number>, shape: number[], full: boolean): number {
  const [bs, h, w, c] = shape as [number, number, number, number];
  const bins = full ? w : Math.floor(w / 2) + 1;
  let s = 0;
  for (let b = 0; b < bs; b++)
    for (let ch = 0; ch < c; ch++) {
      const A = dft2(p, shape, b, ch, bins);
      const B = dft2(t, shape, b, ch, bins);
      for (let u = 0; u < h; u++) for (let v = 0; v < bins; v++) s += Math.abs(A[u]![v]![0] - B[u]![v]![0]) + Math.abs(A[u]![v]![1] - B[u]![v]![1]);
    }
  return s / (bs * h * bins * c * 2);
}

describe('frequency losses (AnyIR FFT loss, LCDNet multi-scale L1 + FFT)', () => {
  it('reproduces losses/anyir_l1_fft.safetensors (total, fft, l1)', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const fx = await loadFixture('losses/anyir_l1_fft.safetensors');
      const loss = losses.create({ type: 'AnyIRLoss', fftWeight: fx.config.fft_loss_weight as number }) as AnyIRLoss;
      const pred = fixtureTensor(fx, '__input__');
      const target = fixtureTensor(fx, '__input2__');
      const t = loss.terms(pred, target);
      const res: string[] = [];
      for (const [name, got] of [
        ['__output__', t.total],
        ['__output_fft__', t.fft],
        ['__output_l1__', t.l1],
      ] as const) {
        const c = await compareWithFixture(got, fx, name);
        res.push(`${name} ${c.maxAbsDiff.toExponential(2)}`);
        expect(c.ok, `${tf.getBackend()} ${name}: max |diff| ${c.maxAbsDiff} (atol ${c.atol})`).toBe(true);
      }
      console.log(`[fixture] ${tf.getBackend()} anyir_l1_fft: ${res.join(', ')}`);
      // The registered FFTLoss with lossWeight 0.1 is AnyIR's aux loss.
      const aux = new FFTLoss({ lossWeight: 0.1 }).call(pred, target);
      expect(Math.abs((await scalar(aux)) - fx.tensors.__output_fft__!.data[0]!)).toBeLessThan(2e-5);
      tf.dispose([pred, target, t.total, t.fft, t.l1, aux]);
    });
  });

  it('FFT L1 on rfft2 / fft2 / ortho matches a float64 DFT', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const shape = [2, 5, 6, 2];
      const p = randomImage(shape, 31);
      const t = randomImage(shape, 32);
      const pd = await p.data();
      const td = await t.data();
      for (const [opts, want] of [
        [{}, fftL1Reference(pd, td, shape, false)],
        [{ transform: 'fft2' as const }, fftL1Reference(pd, td, shape, true)],
        [{ norm: 'ortho' as const }, fftL1Reference(pd, td, shape, false) / Math.sqrt(30)],
      ] as const) {
        const v = fftLoss(p, t, opts);
        expect(Math.abs((await scalar(v)) - want), JSON.stringify(opts)).toBeLessThan(1e-5 * Math.max(1, want));
        v.dispose();
      }
      const none = fftLoss(p, t, { reduction: 'none' });
      expect(none.shape).toEqual([2, 5, 4, 2, 2]);
      tf.dispose([p, t, none]);
    });
  });

  it('MultiScaleFrequencyLoss = ¼Σ L1 + 0.1·¼Σ FFT-L1 with targets resized as PyTorch (nearest and bilinear)', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const target = randomImage([1, 8, 8, 2], 40);
      const outs = [8, 4, 2, 1].map((s, i) => randomImage([1, s, s, 2], 41 + i));
      const td = await target.data();
      // PyTorch bilinear with scale 1/s, align_corners=False: source (dst + 0.5)·s − 0.5, i.e. the mean of
      // pixels s·i + s/2 − 1 and s·i + s/2 along each axis (for even s); nearest picks s·i.
      const resize = (n: number, mode: 'nearest' | 'bilinear') => {
        const s = 8 / n;
        const out = new Float64Array(n * n * 2);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++)
            for (let c = 0; c < 2; c++) {
              const at = (y: number, x: number) => td[(y * 8 + x) * 2 + c]!;
              out[(i * n + j) * 2 + c] =
                s === 1
                  ? at(i, j)
                  : mode === 'nearest'
                    ? at(s * i, s * j)
                    : (at(s * i + s / 2 - 1, s * j + s / 2 - 1) +
                        at(s * i + s / 2 - 1, s * j + s / 2) +
                        at(s * i + s / 2, s * j + s / 2 - 1) +
                        at(s * i + s / 2, s * j + s / 2)) /
                      4;
            }
        return out;
      };
      for (const mode of ['nearest', 'bilinear'] as const) {
        let sp = 0;
        let fr = 0;
        for (const o of outs) {
          const n = o.shape[1];
          const od = (await o.data()) as Float32Array;
          const r = resize(n, mode);
          sp += od.reduce((a, v, i) => a + Math.abs(v - r[i]!), 0) / od.length / 4;
          fr += fftL1Reference(od, r, [1, n, n, 2], true) / 4;
        }
        const loss = new MultiScaleFrequencyLoss({ downsample: mode, lossWeight: 2 });
        const t = loss.terms(outs, target);
        expect(Math.abs((await scalar(t.total)) - 2 * (sp + 0.1 * fr)), mode).toBeLessThan(1e-5);
        const v = loss.call(outs, target);
        expect(Math.abs((await scalar(v)) - 2 * (sp + 0.1 * fr))).toBeLessThan(1e-5);
        tf.dispose([t.total, t.spatial, t.frequency, v]);
      }
      tf.dispose([target, ...outs]);
    });
  });

  it('gradients reach the prediction and match finite differences', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const x = randomImage([2, 8, 6, 3], 50);
      const y = randomImage([2, 8, 6, 3], 51);
      const half = randomImage([2, 4, 3, 3], 52);
      const ms = new MultiScaleFrequencyLoss();
      const cases: [string, (p: tf.Tensor) => tf.Scalar][] = [
        ['FFTLoss', (p) => new FFTLoss().call(p, y) as tf.Scalar],
        ['FFTLoss fft2 ortho', (p) => new FFTLoss({ transform: 'fft2', norm: 'ortho' }).call(p, y) as tf.Scalar],
        ['AnyIRLoss', (p) => new AnyIRLoss().call(p, y) as tf.Scalar],
        ['MultiScaleFrequencyLoss', (p) => ms.call([half, p], y) as tf.Scalar],
      ];
      for (const [name, f] of cases) {
        const g = await gradStats(f, x);
        expect(g.finite && g.maxAbs > 0, `${name} gradient`).toBe(true);
        const [a, n] = await directionalDerivative(f, x, 1e-3);
        expect(Math.abs(a - n), `${name}: analytic ${a} vs numeric ${n}`).toBeLessThan(3e-2 * Math.abs(a) + 1e-3);
      }
      tf.dispose([x, y, half]);
    });
  });

  it('typed errors: shape mismatch, bad options, unknown reduction', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const a = tf.zeros([1, 8, 8, 3]);
      const b = tf.zeros([1, 8, 4, 3]);
      const c = tf.zeros([1, 3, 3, 3]);
      expect(() => fftLoss(a, b)).toThrow(ShapeError);
      expect(() => new AnyIRLoss().call(a, b)).toThrow(ShapeError);
      expect(() => new FFTLoss({ transform: 'dct' as never })).toThrow(ConfigError);
      expect(() => new FFTLoss({ reduction: 'median' as never })).toThrow(/unknown reduction 'median'/);
      expect(() => new MultiScaleFrequencyLoss().call([a, c], a)).toThrow(ShapeError);
      expect(() => new MultiScaleFrequencyLoss().call([a, b], a)).toThrow(ShapeError);
      expect(() => new MultiScaleFrequencyLoss({ downsample: 'area' as never })).toThrow(ConfigError);
      tf.dispose([a, b, c]);
    });
  });
});
