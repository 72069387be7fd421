import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { parseSafetensors } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { compactWeightsUrl } from './compact.js';
import { createModel } from './registry.js';

/** The shipped weights (packages/models/weights/, trained by training/train-default.mjs). */
const WEIGHTS = compactWeightsUrl();

/** PSNR in dB of images in [0, 1] (float32 tensor arithmetic; @restorekit/metrics is not a dependency of this package). */
async function psnr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(a, b)));
  const v = (await mse.data())[0]!;
  mse.dispose();
  return 10 * Math.log10(1 / v);
}

/** A 96×128 test card: smooth colour gradients, a disc and bars (values in [0.1, 0.9]), deterministic. */
function testCard(h = 96, w = 128): Float32Array {
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const disc = (x - 80) ** 2 + (y - 40) ** 2 < 22 ** 2 ? 0.25 : 0;
      const bar = x > 16 && x < 40 && Math.floor(y / 12) % 2 === 0 ? -0.2 : 0;
      out.set(
        [0.5 + 0.3 * Math.sin(x / 17) + disc + bar, 0.45 + 0.25 * Math.cos(y / 13) + bar, 0.4 + 0.2 * Math.sin((x + y) / 23) - disc / 2],
        (y * w + x) * 3,
      );
    }
  return out.map((v) => Math.min(0.9, Math.max(0.1, v)));
}

describe('compact default weights (packages/models/weights/compact-default.safetensors)', () => {
  it('are float32 PyTorch-named tensors of the default preset, with provenance metadata, where compactWeightsUrl() says', () => {
    expect(WEIGHTS.protocol).toBe('file:');
    expect(WEIGHTS.pathname.endsWith('/packages/models/weights/compact-default.safetensors')).toBe(true);
    const f = parseSafetensors(new Uint8Array(readFileSync(WEIGHTS)), 'compact-default.safetensors');
    expect(f.metadata['restorekit.model']).toBe('compact');
    expect(f.metadata['restorekit.preset']).toBe('default');
    expect(Number(f.metadata['restorekit.step'])).toBeGreaterThan(0);
    expect(Object.values(f.tensors).reduce((n, t) => n + t.data.length, 0)).toBe(908_292);
    expect(Object.values(f.tensors).every((t) => t.dtype === 'F32')).toBe(true);
  });

  it('load strictly with createModel and remove σ = 25 noise from a test card (blind: the model is not told σ)', async () => {
    await expectNoLeaks(async () => {
      const model = await createModel('compact', { weights: WEIGHTS });
      const clean = tf.tensor4d(testCard(), [1, 96, 128, 3]);
      const noisy = tf.tidy(() => tf.add(clean, tf.randomNormal(clean.shape, 0, 25 / 255, 'float32', 17)));
      const out = tf.tidy(() => tf.clipByValue(model.apply(noisy) as tf.Tensor, 0, 1));
      const noisyShown = tf.clipByValue(noisy, 0, 1);
      const pIn = await psnr(noisyShown, clean);
      const pOut = await psnr(out, clean);
      console.log(`[${tf.getBackend()}] test card σ 25: noisy ${pIn.toFixed(2)} dB → ${pOut.toFixed(2)} dB`);
      expect(pIn).toBeLessThan(21);
      expect(pOut - pIn).toBeGreaterThan(8);
      tf.dispose([clean, noisy, noisyShown, out]);
      model.dispose();
    }, 'default weights');
  });

  it('createModel(compact, { pretrained: true }) loads them (the same numbers as weights: compactWeightsUrl()); presets without shipped weights say which have them', async () => {
    await expectNoLeaks(async () => {
      const a = await createModel('compact', { pretrained: true });
      const b = await createModel('compact', { weights: compactWeightsUrl() });
      const r = await createModel('compact');
      const x = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 3);
      const [ya, yb, yr] = [a, b, r].map((m) => m.apply(x) as tf.Tensor);
      expect(Array.from(await ya!.data())).toEqual(Array.from(await yb!.data()));
      // the random initialisation (β = γ = 0: identity blocks) gives another output
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ya!, yr!))));
      expect((await diff.data())[0]).toBeGreaterThan(1e-3);
      diff.dispose();
      tf.dispose([x, ya, yb, yr]);
      for (const m of [a, b, r]) m.dispose();
    }, 'pretrained');
    await expect(createModel('compact', { preset: 'tiny', pretrained: true })).rejects.toThrow(
      /preset 'tiny' ships no trained weights \(presets that do: compact:default\)/,
    );
    await expect(createModel('compact', { pretrained: true, weights: WEIGHTS })).rejects.toThrow(/either weights or pretrained/);
    await expect(createModel('compact', { pretrained: 'yes' as never })).rejects.toThrow(/pretrained must be true or false/);
  });
});
