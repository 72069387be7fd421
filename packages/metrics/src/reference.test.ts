import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { psnr, psnrTensor, ssim, ssimSkimage, ssimSkimageTensor, ssimTensor } from './index.js';
import { referenceImages, SETTINGS, unit } from '../test/reference.js';

// tf-op (float32) metrics on NHWC batches vs the Python reference, on every backend.
// Each batch holds the two degraded versions of one image: the result must be per image.
const TOL = { psnr: 2e-4, ssim: 2e-5, ssimSkimage: 2e-5 };
// SwiftShader compiles new shaders for every image size (~10 s each): the browser backends check
// three of the eight images (odd-sized colour crop, Kodak crop, grayscale); node-cpu/wasm check all.
const BROWSER_SUBSET = ['cbsd68/0042.png', 'kodak24/kodim23.png', 'bsd68-gray/test031.png'];
const browser = typeof window !== 'undefined' && typeof (globalThis as { process?: unknown }).process === 'undefined';
const images = browser ? referenceImages.filter((im) => BROWSER_SUBSET.includes(im.name)) : referenceImages;

async function read(t: tf.Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe(`tf-op metrics reproduce BasicSR and scikit-image`, () => {
  const worst = { psnr: 0, ssim: 0, ssimSkimage: 0 };
  for (const im of images)
    it(im.name, async () => {
      await expectNoLeaks(async () => {
        const [H, W, C] = im.shape;
        const n = im.degraded.length;
        const predData = new Float32Array(n * H * W * C);
        im.degraded.forEach((d, i) => {
          predData.set(unit(d.data, true), i * H * W * C);
        });
        const targetData = new Float32Array(n * H * W * C);
        for (let i = 0; i < n; i++) targetData.set(unit(im.clean, true), i * H * W * C);
        const pred = tf.tensor4d(predData, [n, H, W, C]);
        const target = tf.tensor4d(targetData, [n, H, W, C]);
        for (const [j, s] of SETTINGS.entries()) {
          const o = { cropBorder: s.cropBorder, testYChannel: s.testYChannel };
          // The public (range-checked, async) functions for the first setting, the tf-op tensors for the others.
          const p = j === 0 ? await psnr(pred, target, o) : await read(psnrTensor(pred, target, o));
          const q = j === 0 ? await ssim(pred, target, o) : await read(ssimTensor(pred, target, o));
          expect(p).toHaveLength(n);
          im.degraded.forEach((d, i) => {
            const dp = Math.abs(p[i]! - d.basicsr[s.key].psnr);
            const dq = Math.abs(q[i]! - d.basicsr[s.key].ssim);
            worst.psnr = Math.max(worst.psnr, dp);
            worst.ssim = Math.max(worst.ssim, dq);
            expect(dp, `psnr ${s.key} ${d.kind}: ${p[i]} vs ${d.basicsr[s.key].psnr}`).toBeLessThan(TOL.psnr);
            expect(dq, `ssim ${s.key} ${d.kind}: ${q[i]} vs ${d.basicsr[s.key].ssim}`).toBeLessThan(TOL.ssim);
          });
        }
        const k = await ssimSkimage(pred, target);
        expect(await read(ssimSkimageTensor(pred, target))).toEqual(k);
        im.degraded.forEach((d, i) => {
          const dk = Math.abs(k[i]! - d.skimage.ssim);
          worst.ssimSkimage = Math.max(worst.ssimSkimage, dk);
          expect(dk, `ssimSkimage ${d.kind}: ${k[i]} vs ${d.skimage.ssim}`).toBeLessThan(TOL.ssimSkimage);
        });
        tf.dispose([pred, target]);
      });
    });
  it('reports the worst differences', () => {
    console.log(`${tf.getBackend()} tf-op max |diff| vs reference: ${JSON.stringify(worst)}`);
  });
});
