import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, ShapeError } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { evaluate, psnr, ssim, ssimSkimage, ValueRangeError } from './index.js';

const H = 16;
const W = 20;
// Clean images: a flat grey (102/255) tensor and a textured { data, shape } image, values k/255 in [20, 219]/255.
const texture = Float32Array.from({ length: H * W * 3 }, (_, i) => {
  const c = i % 3;
  const x = Math.floor(i / 3) % W;
  const y = Math.floor(i / 3 / W);
  return (((x * 7 + y * 13 + c * 31) % 200) + 20) / 255;
});
// Degradation: +4/255 everywhere (no clipping), so MSE = 4² on the [0, 255] scale.
const shift = (x: tf.Tensor4D) => tf.add(x, 4 / 255);
const PSNR_SHIFT4 = 20 * Math.log10(255 / 4); // 36.0896…
// SSIM of two flat images 102 and 106: the luminance term alone, (2·102·106 + C1) / (102² + 106² + C1).
const C1 = (0.01 * 255) ** 2;
const SSIM_FLAT = (2 * 102 * 106 + C1) / (102 ** 2 + 106 ** 2 + C1);

describe('evaluate', () => {
  it('identity model + known shift: hand-computed PSNR / SSIM, table, no leaks', async () => {
    const flat = tf.fill([H, W, 3], 102 / 255);
    const lines: string[] = [];
    const res = await expectNoLeaks(() =>
      evaluate(
        (x) => x,
        [
          { name: 'flat', data: flat },
          { name: 'texture', data: { data: texture, shape: [H, W, 3] } },
        ],
        shift,
        {
          metrics: ['psnr', 'ssim', 'ssim_skimage'],
          logger: (l) => lines.push(l),
          measureInput: true,
        },
      ),
    );
    expect(res.rows.map((r) => r.name)).toEqual(['flat', 'texture']);
    for (const r of res.rows) expect(r.values.psnr).toBeCloseTo(PSNR_SHIFT4, 4);
    expect(res.rows[0]!.values.ssim).toBeCloseTo(SSIM_FLAT, 7);
    expect(res.rows[0]!.values.ssim_skimage).toBeCloseTo(SSIM_FLAT, 7);
    // the textured image: same numbers as the metric functions on the same arrays (shift → structure term 1, luminance < 1)
    const pred = { data: texture.map((v) => Math.fround(v + Math.fround(4 / 255))), shape: [H, W, 3] };
    const target = { data: texture, shape: [H, W, 3] };
    expect(res.rows[1]!.values.ssim).toBeCloseTo(await ssim(pred, target), 6);
    expect(res.rows[1]!.values.ssim_skimage).toBeCloseTo(await ssimSkimage(pred, target), 6);
    expect(res.rows[1]!.values.ssim!).toBeLessThan(1);
    expect(res.rows[1]!.values.ssim!).toBeGreaterThan(SSIM_FLAT - 0.01);
    expect(res.mean.psnr).toBeCloseTo(PSNR_SHIFT4, 4);
    expect(res.mean.ssim).toBeCloseTo((res.rows[0]!.values.ssim! + res.rows[1]!.values.ssim!) / 2, 12);
    // identity model: the output equals the input
    expect(res.inputMean!.psnr).toBe(res.mean.psnr);
    // printed table: header, rule, 2 rows, rule, mean
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^image\s+input psnr\s+input ssim\s+input ssim_skimage\s+psnr\s+ssim\s+ssim_skimage$/);
    expect(lines[2]).toContain(PSNR_SHIFT4.toFixed(3));
    expect(lines[2]).toContain(SSIM_FLAT.toFixed(4));
    expect(lines[5]).toMatch(/^mean /);
    expect(res.table).toBe(lines.join('\n'));
    flat.dispose();
  });

  it('a tf.layers.Layer model, 8-bit quantisation, Y channel and cropBorder', async () => {
    const clean = tf.tensor3d(texture, [H, W, 3]);
    const identity = tfl.layers.activation({ activation: 'linear' });
    const res = await expectNoLeaks(() => evaluate(identity, [clean], shift, { quantize: true, testYChannel: true, cropBorder: 2, logger: null }));
    expect(res.rows[0]!.name).toBe('#0');
    // quantised output: exactly k + 4 on the [0, 255] scale; Y of a uniform +4 shift is +4·(65.481 + 128.553 + 24.966)/255 = +4·219/255
    const dy = (4 * (65.481 + 128.553 + 24.966)) / 255;
    expect(res.rows[0]!.values.psnr).toBeCloseTo(20 * Math.log10(255 / dy), 4);
    clean.dispose();
  });

  it('dataRange 255 images, clip, and errors', async () => {
    const img8 = { data: Uint8Array.from(texture, (v) => Math.round(v * 255)), shape: [H, W, 3] };
    await expectNoLeaks(async () => {
      const res = await evaluate((x) => x, [img8], shift, { dataRange: 255, logger: null });
      expect(res.rows[0]!.values.psnr).toBeCloseTo(PSNR_SHIFT4, 4);
      // out-of-range outputs: clipped by default (then measured), an error with clip: false
      const double = (x: tf.Tensor4D) => tf.mul(x, 2);
      const clipped = await evaluate(double, [img8], null, { dataRange: 255, logger: null });
      expect(clipped.rows[0]!.values.psnr).toBeCloseTo(
        await psnr({ data: texture.map((v) => Math.min(2 * v, 1)), shape: [H, W, 3] }, { data: texture, shape: [H, W, 3] }),
        6,
      );
      await expect(evaluate(double, [img8], null, { dataRange: 255, clip: false, logger: null })).rejects.toThrow(ValueRangeError);
      await expect(evaluate((x) => tf.slice(x, [0, 0, 0, 0], [1, 8, 8, 3]), [img8], null, { dataRange: 255, logger: null })).rejects.toThrow(ShapeError);
      await expect(evaluate((x) => x, [img8], null, { metric: ['psnr'] } as never)).rejects.toThrow(ConfigError);
      await expect(evaluate((x) => x, [img8], null, { metrics: ['lpips'] } as never)).rejects.toThrow(ConfigError);
      // multi-output models (e.g. coarse-to-fine): outputIndex picks the restored image; every output is disposed
      const multi = (x: tf.Tensor4D) => [tf.mul(x, 0.5), tf.add(x, 0)];
      expect((await evaluate(multi, [img8], null, { dataRange: 255, outputIndex: -1, logger: null })).rows[0]!.values.psnr).toBe(Infinity);
      expect((await evaluate(multi, [img8], null, { dataRange: 255, outputIndex: 0, logger: null })).rows[0]!.values.psnr).toBeLessThan(20);
      await expect(evaluate(multi, [img8], null, { dataRange: 255, outputIndex: 2, logger: null })).rejects.toThrow(/outputIndex 2/);
      await expect(evaluate((x) => x, [], null)).rejects.toThrow(/non-empty array/);
      await expect(evaluate({} as never, [img8], null)).rejects.toThrow(/model must be a function/);
    });
  });
});
