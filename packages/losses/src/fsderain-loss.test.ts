import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, WeightsError, countParams, loadTorchStateDict, losses, serializeSafetensors } from '@restorekit/core';
import { checkBlock, compareWithFixture, fixtureTensor, loadFixture, readShared } from '@restorekit/core/testing';
import { FSDerainAmplitudeLoss, FSDerainLoss, FrequencyEncoder, extractHighFrequency, fsderainHighFrequencyMask } from './index.js';
import { directionalDerivative, expectNoLeaksBeyondFFTCache, randomImage, scalar, seededEncoderStateDict, seededVGGStateDict } from './test-helpers.js';

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);

describe('FSDerain losses', () => {
  it('FrequencyEncoder passes the block harness and has the official 109,760 parameters under the official keys', async () => {
    await checkBlock({ create: () => new FrequencyEncoder(), inputShapes: [[2, 16, 12, 3]], outputShape: [2, 128], trainableWeights: 8 });
    const manifest = JSON.parse(new TextDecoder().decode(await readShared('fixtures/full-configs/fsderain_frequency_encoder.json')));
    const enc = new FrequencyEncoder({ inChannels: manifest.config.in_channels, outDim: manifest.config.out_dim });
    enc.build([null, null, null, 3]);
    expect(countParams(enc)).toBe(manifest.total_params);
    expect(countParams(enc)).toBe(109760);
    const ours = Object.fromEntries(enc.torchParameters().map((p) => [p.name, p.torchShape]));
    expect(ours).toEqual(Object.fromEntries(manifest.state_dict.map((e: { key: string; shape: number[] }) => [e.key, e.shape])));
    enc.dispose();
  });

  it('official mask: 129 bins around Nyquist removed, DC kept; shifted mask: DC removed', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const m = fsderainHighFrequencyMask(64, 64);
      const d = await m.data();
      expect(sum(d)).toBe(3967);
      expect(d[0]).toBe(1);
      expect(d[32 * 64 + 32]).toBe(0);
      // radius in units of H only, strict: 0.1·10 = 1 removes the centre and its 4 neighbours at distance 1
      const r = fsderainHighFrequencyMask(10, 30);
      expect(sum(await r.data())).toBe(295);
      // A spectrum that is only DC: the official mask keeps it, the shifted (intended) one removes it.
      const amp = tf.tidy(() =>
        tf.pad(tf.fill([1, 1, 1, 1], 7), [
          [0, 0],
          [0, 63],
          [0, 63],
          [0, 0],
        ]),
      );
      const off = extractHighFrequency(amp, { mask: 'official-unshifted' });
      const sh = extractHighFrequency(amp, { mask: 'shifted' });
      expect(sum(await off.data())).toBe(7);
      expect(sum(await sh.data())).toBe(0);
      tf.dispose([m, r, amp, off, sh]);
    });
  });

  it('reproduces every output of losses/fsderain_losses.safetensors', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const fx = await loadFixture('losses/fsderain_losses.safetensors');
      const loss = losses.create({ type: 'FSDerainLoss' }) as FSDerainLoss;
      const rep = await loss.loadWeights(fx.tensors);
      expect(rep.vgg.loaded.length).toBe(14);
      expect(rep.encoder!.loaded.length).toBe(8);
      const [out, clean, rain] = ['__input__', '__input2__', '__input3__'].map((k) => fixtureTensor(fx, k));
      const t = loss.terms(out!, clean!, rain!);
      const pairs: [string, tf.Tensor][] = [
        ['__output__', t.total],
        ['__output_l1__', t.l1],
        ['__output_ssim__', t.ssim],
        ['__output_percep__', t.percep],
        ['__output_contrast__', t.contrast],
        ['__output_triplet__', t.triplet],
        ['__output_infonce__', t.infoNCE],
        ['__output_fft_amp__', t.fftAmp],
        ['__output_hf_anchor__', t.hfAnchor],
        ['__output_hf_mask__', t.hfMask],
        ['__output_feat_anchor__', t.featAnchor],
        ['__output_feat_pos__', t.featPos],
        ['__output_feat_neg__', t.featNeg],
      ];
      const res: string[] = [];
      for (const [name, got] of pairs) {
        const c = await compareWithFixture(got, fx, name);
        res.push(`${name.slice(9, -2) || 'total'} ${c.maxAbsDiff.toExponential(1)}`);
        expect(c.ok, `${tf.getBackend()} ${name}: max |diff| ${c.maxAbsDiff} (atol ${c.atol}, rtol ${c.rtol})`).toBe(true);
      }
      // The mask must match exactly.
      expect(Array.from(await t.hfMask.data())).toEqual(Array.from(fx.tensors.__output_hf_mask__!.data));
      console.log(`[fixture] ${tf.getBackend()} fsderain_losses: ${res.join(', ')}`);
      // the registered amplitude loss (mask 'none') is the objective's AmpL1 term
      const amp = new FSDerainAmplitudeLoss().call(out!, clean!);
      const ca = await compareWithFixture(amp, fx, '__output_fft_amp__');
      expect(ca.ok, `FSDerainAmplitudeLoss: ${ca.maxAbsDiff}`).toBe(true);
      tf.dispose([out!, clean!, rain!, amp, ...Object.values(t)]);
      loss.dispose();
    });
  });

  it('gradients: reach the output and the FrequencyEncoder; official SSIM term has none, the differentiable one does', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const vgg = seededVGGStateDict('vgg16', 16);
      const x = randomImage([2, 16, 16, 3], 60);
      const y = randomImage([2, 16, 16, 3], 61);
      const z = randomImage([2, 16, 16, 3], 62);
      const full = new FSDerainLoss();
      await full.loadWeights(vgg);
      // one backward pass for the output and the encoder's 8 weights
      const xv = tf.variable(x);
      const { value, grads } = tf.variableGrads(() => full.call(xv, y, { degraded: z }) as tf.Scalar, [xv, ...full.trainableVariables]);
      expect(Object.keys(grads).length).toBe(9);
      for (const [k, gr] of Object.entries(grads)) {
        const d = await gr.data();
        expect(Array.from(d).every(Number.isFinite) && Math.max(...Array.from(d, Math.abs)) > 0, `gradient ${k}`).toBe(true);
      }
      // call() (which skips nothing here) agrees with terms().total
      const tt = full.terms(x, y, z);
      expect(Math.abs((await scalar(value)) - (await scalar(tt.total)))).toBeLessThan(1e-6);
      tf.dispose([value, xv, ...Object.values(grads), ...Object.values(tt)]);
      // official SSIM: detached, so L1 + SSIM has exactly the gradient of L1 alone; the differentiable one differs
      const l1Only = new FSDerainLoss({ weights: { l1: 1, ssim: 0, percep: 0, contrast: 0, fft: 0 } }); // percep 0: no VGG weights needed
      const official = new FSDerainLoss({ weights: { l1: 1, ssim: 1, percep: 0, contrast: 0, fft: 0 } });
      const differentiable = new FSDerainLoss({ weights: { l1: 1, ssim: 1, percep: 0, contrast: 0, fft: 0 }, ssim: 'differentiable' });
      const gradOf = async (l: FSDerainLoss) => {
        const gr = tf.grad((p) => l.call(p, y, { degraded: z }) as tf.Scalar)(x);
        const d = Array.from(await gr.data());
        gr.dispose();
        return d;
      };
      const [g0, g1, g2] = [await gradOf(l1Only), await gradOf(official), await gradOf(differentiable)];
      expect(g1).toEqual(g0);
      expect(Math.max(...g2.map((v, i) => Math.abs(v - g0[i]!)))).toBeGreaterThan(1e-5);
      // finite differences of the amplitude term (official and shifted masks) and of the contrastive part
      for (const mask of ['none', 'official-unshifted', 'shifted'] as const) {
        const amp = new FSDerainAmplitudeLoss({ mask });
        const [a, n] = await directionalDerivative((p) => amp.call(p, y) as tf.Scalar, x, 1e-3);
        expect(Math.abs(a - n), `amplitude ${mask}: analytic ${a} vs numeric ${n}`).toBeLessThan(3e-2 * Math.abs(a) + 1e-4);
      }
      const contrast = new FSDerainLoss({ weights: { l1: 0, percep: 0, ssim: 0, fft: 0, contrast: 1 } });
      await contrast.loadEncoderWeights(seededEncoderStateDict());
      const [a, n] = await directionalDerivative((p) => contrast.call(p, y, { degraded: z }) as tf.Scalar, x, 1e-3, 'gradient-sign');
      expect(Math.abs(a - n), `contrast: analytic ${a} vs numeric ${n}`).toBeLessThan(5e-2 * Math.abs(a) + 1e-4);
      tf.dispose([x, y, z]);
      for (const l of [full, l1Only, official, differentiable, contrast]) l.dispose();
    });
  });

  it('typed errors: missing VGG layer, bad rain shape, shape mismatch, bad options', async () => {
    await expectNoLeaksBeyondFFTCache(async () => {
      const vgg = seededVGGStateDict('vgg16', 16);
      delete vgg['features.12.bias'];
      const loss = new FSDerainLoss();
      await expect(loss.loadWeights(vgg)).rejects.toThrow(WeightsError);
      await expect(loss.loadWeights(vgg)).rejects.toThrow(/features\.12\.bias/);
      // the encoder loads through core's loadTorchStateDict, whose WeightsError names the missing keys
      const enc = new FrequencyEncoder();
      enc.build([null, null, null, 3]);
      await expect(loadTorchStateDict(enc, {}, { strict: true })).rejects.toThrow(WeightsError);
      await expect(loadTorchStateDict(enc, {}, { strict: true })).rejects.toThrow(/encoder\.0\.weight/);
      const noBias = seededEncoderStateDict();
      delete noBias['encoder.8.bias'];
      await expect(loss.loadEncoderWeights(noBias)).rejects.toThrow(/missing keys \(1\): encoder\.8\.bias/);
      // safetensors bytes without encoder keys: VGG only, the encoder keeps its weights
      const vggOnly = new FSDerainLoss();
      expect((await vggOnly.loadWeights(serializeSafetensors(seededVGGStateDict('vgg16', 16)))).encoder).toBeNull();
      vggOnly.dispose();
      const a = tf.zeros([1, 16, 16, 3]);
      const b = tf.zeros([1, 16, 8, 3]);
      expect(() => loss.call(a, a, { degraded: a })).toThrow(/weights not loaded/);
      await loss.loadWeights(seededVGGStateDict('vgg16', 16));
      expect(() => loss.call(a, b, { degraded: a })).toThrow(ShapeError);
      expect(() => loss.call(a, a, { degraded: b })).toThrow(ShapeError);
      expect(() => loss.terms(a, a, 'rain' as never)).toThrow(DTypeError);
      expect(() => loss.call(a, a)).toThrow(ConfigError);
      expect(() => new FSDerainLoss({ mask: 'centred' as never })).toThrow(ConfigError);
      expect(() => new FSDerainLoss({ weights: { tv: 1 } as never })).toThrow(ConfigError);
      expect(() => new FSDerainAmplitudeLoss({ mask: 'x' as never })).toThrow(ConfigError);
      tf.dispose([a, b]);
      loss.dispose();
      enc.dispose();
    });
  });
});
