import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, RestorekitError, ShapeError } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { Metric, psnr, psnrTensor, rgbToY, ssim, ssimMap, ssimSkimage, ssimSkimageTensor, ssimTensor, ValueRangeError } from './index.js';

// Bad input gives typed errors naming the problem, and leaks nothing, on every backend. The async
// functions (psnr, ssim, ssimSkimage) reject; the tf-op ones (psnrTensor, ssimTensor, ...) throw.
describe('metrics reject bad input with typed errors', () => {
  it('shape, dtype, option and range errors (tensors)', async () => {
    await expectNoLeaks(async () => {
      const a = tf.fill([2, 16, 12, 3], 0.5);
      const b = tf.fill([2, 16, 12, 3], 0.25);
      const small = tf.fill([2, 10, 12, 3], 0.5);
      const wrongC = tf.fill([2, 16, 12, 1], 0.5);
      const big = tf.fill([2, 16, 12, 3], 200);
      const withNaN = tf.tensor4d([0.1, NaN, 0.2, 0.3], [1, 2, 2, 1]);
      const twoCh = tf.fill([1, 16, 16, 2], 0.5);
      const bool = tf.zeros([16, 16, 3], 'bool');

      // shape mismatch between prediction and target (rejected before anything is computed)
      await expect(psnr(a, wrongC)).rejects.toThrow(ShapeError);
      await expect(psnr(a, wrongC)).rejects.toThrow(/prediction shape \[2, 16, 12, 3\] differs from target shape \[2, 16, 12, 1\]/);
      expect(() => ssimTensor(a, small)).toThrow(ShapeError);
      // rank and dtype; not a tensor is a DTypeError
      const flat = tf.zeros([16]);
      await expect(psnr(flat, flat)).rejects.toThrow(/HWC \(rank 3\) or NHWC \(rank 4\)/);
      await expect(ssim(bool, bool)).rejects.toThrow(DTypeError);
      await expect(psnr(a, { data: [1], shape: [1, 1] } as never)).rejects.toThrow(DTypeError);
      expect(() => psnrTensor(a, [0.5] as never)).toThrow(DTypeError);
      expect(() => ssimMap('image' as never, a)).toThrow(/prediction must be a tf.Tensor/);
      expect(() => rgbToY(null as never)).toThrow(DTypeError);
      // window larger than the image (after crop)
      await expect(ssim(small, small)).rejects.toThrow(/11×11 window does not fit the 10×12 image/);
      await expect(ssim(a, b, { cropBorder: 3 })).rejects.toThrow(/11×11 window does not fit the 10×6 image left after cropBorder 3/);
      expect(() => ssimTensor(a, b, { window: 'uniform', windowSize: 13 })).toThrow(/13×13 window does not fit the 16×12 image/);
      await expect(psnr(a, b, { cropBorder: 6 })).rejects.toThrow(/cropBorder 6 leaves nothing/);
      // Y needs 1 or 3 channels (rgbToY exactly 3)
      await expect(psnr(twoCh, twoCh, { testYChannel: true })).rejects.toThrow(/testYChannel needs 1 or 3 channels/);
      expect(() => rgbToY(twoCh)).toThrow(ShapeError);
      // unknown / bad options
      await expect(psnr(a, b, { crop_border: 4 } as never)).rejects.toThrow(ConfigError);
      await expect(psnr(a, b, { crop_border: 4 } as never)).rejects.toThrow(/unknown option 'crop_border' \(did you mean 'cropBorder'\?\)/);
      await expect(ssimSkimage(a, b, { winSize: 5 } as never)).rejects.toThrow(/unknown option 'winSize'/);
      // the window is an option of the tensor SSIM only; the protocol functions fix it
      await expect(ssim(a, b, { window: 'uniform' } as never)).rejects.toThrow(/unknown option 'window'/);
      expect(() => ssimSkimageTensor(a, b, { windowSize: 5 } as never)).toThrow(/unknown option 'windowSize'/);
      expect(() => ssimTensor(a, b, { windowSize: 4 })).toThrow(/windowSize must be an odd positive integer/);
      expect(() => ssimTensor(a, b, { window: 'box' as never })).toThrow(ConfigError);
      expect(() => ssimTensor(a, b, { win_size: 7 } as never)).toThrow(/did you mean 'windowSize'/);
      expect(() => ssimTensor(a, b, { clamp: true } as never)).toThrow(/did you mean outOfRange: 'clip'/);
      expect(() => rgbToY(a, { dataRange: -1 })).toThrow(ConfigError);
      await expect(ssim(a, b, { dataRange: 0 })).rejects.toThrow(/dataRange must be a positive number/);
      await expect(ssim(a, b, { cropBorder: 1.5 })).rejects.toThrow(/cropBorder must be a non-negative integer/);
      await expect(ssim(a, b, { outOfRange: 'wrap' } as never)).rejects.toThrow(/outOfRange must be/);
      expect(() => new Metric('lpips' as never)).toThrow(ConfigError);
      await expect(new Metric('ssim').compute(a, small)).rejects.toThrow(ShapeError);
      // value range: [0, 255] data with the default dataRange 1
      await expect(psnr(big, a)).rejects.toThrow(ValueRangeError);
      await expect(ssim(a, big)).rejects.toThrow(/target has values in \[200, 200\] but dataRange is 1 \(pass dataRange: 255/);
      await expect(psnr(withNaN, withNaN)).rejects.toThrow(/prediction contains NaN/);
      expect(new ValueRangeError('x')).toBeInstanceOf(RestorekitError);
      // ... and the documented ways around it
      const a255 = tf.mul(a, 255);
      expect((await psnr(big, a255, { dataRange: 255 }))[0]).toBeCloseTo(20 * Math.log10(255 / (200 - 127.5)), 4);
      const clipped = await psnr(big, a, { outOfRange: 'clip' }); // big → 1: MSE (255·0.5)²
      expect(clipped[0]).toBeCloseTo(20 * Math.log10(2), 4);

      // int32 tensors (8-bit values) measure like float32 ones
      const i8 = tf.tensor4d([10, 20, 30, 40], [1, 2, 2, 1], 'int32');
      const j8 = tf.tensor4d([12, 20, 30, 40], [1, 2, 2, 1], 'int32');
      // a rank-3 (HWC) pair is one image
      const h3 = tf.tidy(() => tf.tile(tf.squeeze(i8, [0]), [4, 4, 1]));
      expect(await ssimSkimage(h3, h3, { dataRange: 255 })).toEqual([1]);
      expect((await psnr(i8, j8, { dataRange: 255 }))[0]).toBeCloseTo(10 * Math.log10((255 * 255) / 1), 4); // MSE 4/4
      tf.dispose([a, b, small, wrongC, big, withNaN, twoCh, bool, flat, a255, i8, j8, h3]);
    });
  });

  it('shape, range and option errors (plain images): the same async contract', async () => {
    const img = (v: number, h = 12, w = 12, c = 3) => ({ data: new Float32Array(h * w * c).fill(v), shape: [h, w, c] });
    await expect(psnr(img(0.5), img(0.5, 12, 11))).rejects.toThrow(/prediction shape \[12, 12, 3\] differs from target shape \[12, 11, 3\]/);
    await expect(psnr({ data: new Float32Array(5), shape: [2, 2, 1] }, { data: new Float32Array(4), shape: [2, 2, 1] })).rejects.toThrow(
      /has 5 values but shape \[2, 2, 1\] needs 4/,
    );
    await expect(psnr({ data: [1], shape: [1, 1, 1, 1] }, { data: [1], shape: [1, 1, 1, 1] })).rejects.toThrow(ShapeError);
    await expect(ssimSkimage(img(0.5, 6, 12), img(0.5, 6, 12))).rejects.toThrow(/7×7 window does not fit the 6×12 image/);
    await expect(psnr(img(2), img(0.5))).rejects.toThrow(ValueRangeError);
    await expect(psnr(img(-0.1), img(0.5))).rejects.toThrow(/prediction has values in \[-0.1/);
    await expect(psnr(img(0.5), img(0.5), { dataRange: -1 })).rejects.toThrow(ConfigError);
    await expect(psnr({ data: 'abc', shape: [1, 3] } as never, img(0.5, 1, 3, 1))).rejects.toThrow(DTypeError);
    // a host call returns a Promise even when it could answer at once
    const p = psnr(img(0.5), img(0.5));
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(Infinity);
    expect(await ssim(img(0.5), img(0.5))).toBeCloseTo(1, 14);
    expect(() => new Metric('psnr').computeImage(img(0.5), img(0.5, 12, 11))).toThrow(ShapeError);
  });
});
