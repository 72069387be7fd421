import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, RegistryError, metrics } from '@restorekit/core';
import { Metric } from './index.js';

describe("core's metrics registry", () => {
  it("holds 'psnr', 'ssim' and 'ssim_skimage'", async () => {
    expect(metrics.list()).toEqual(expect.arrayContaining(['psnr', 'ssim', 'ssim_skimage']));
    const m = metrics.create({ type: 'psnr', cropBorder: 1, dataRange: 255 }) as Metric;
    expect(m).toBeInstanceOf(Metric);
    expect(metrics.toConfig('psnr', m)).toEqual({ type: 'psnr', cropBorder: 1, dataRange: 255 });
    // the metric keeps its options: crop 1 px of a 4×4 image whose border differs → identical interiors
    const a = tf.tensor4d([0, 0, 0, 0, 0, 9, 9, 0, 0, 9, 9, 0, 0, 0, 0, 0], [1, 4, 4, 1]);
    const b = tf.tensor4d([255, 255, 255, 255, 255, 9, 9, 255, 255, 9, 9, 255, 255, 255, 255, 255], [1, 4, 4, 1]);
    expect(await m.compute(a, b)).toEqual([Infinity]);
    expect(
      m.computeImage(
        { data: [0, 0, 0, 0, 0, 9, 8, 0, 0, 9, 9, 0, 0, 0, 0, 0], shape: [4, 4] },
        { data: [1, 1, 1, 1, 1, 9, 9, 1, 1, 9, 9, 1, 1, 1, 1, 1], shape: [4, 4] },
      ),
    ).toBeCloseTo(10 * Math.log10((255 * 255) / 0.25), 12);
    tf.dispose([a, b]);
    const s = metrics.create({ type: 'ssim_skimage' }) as Metric;
    expect(s.type).toBe('ssim_skimage');
    expect(() => metrics.create({ type: 'ssim', crop_border: 4 })).toThrow(ConfigError);
    expect(() => metrics.create({ type: 'lpips' })).toThrow(RegistryError);
  });
});
