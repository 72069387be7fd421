import { describe, expect, it } from 'vitest';
import { psnr, ssim, ssimSkimage } from './index.js';
import { referenceImages, SETTINGS, unit } from '../test/reference.js';

// Float64 host path vs the Python reference (BasicSR calculate_psnr / calculate_ssim, skimage structural_similarity).
describe('host (float64) metrics reproduce BasicSR and scikit-image', () => {
  const worst = { psnr: 0, ssim: 0, ssimSkimage: 0 };
  for (const im of referenceImages)
    for (const d of im.degraded)
      it(`${im.name} ${d.kind}`, async () => {
        for (const [pred, target, dataRange] of [
          [{ data: d.data, shape: im.shape }, { data: im.clean, shape: im.shape }, 255],
          [{ data: unit(d.data), shape: im.shape }, { data: unit(im.clean), shape: im.shape }, 1],
        ] as const) {
          for (const s of SETTINGS) {
            const o = { cropBorder: s.cropBorder, testYChannel: s.testYChannel, dataRange };
            const p = await psnr(pred, target, o);
            const q = await ssim(pred, target, o);
            worst.psnr = Math.max(worst.psnr, Math.abs(p - d.basicsr[s.key].psnr));
            worst.ssim = Math.max(worst.ssim, Math.abs(q - d.basicsr[s.key].ssim));
            expect(p, `psnr ${s.key} range ${dataRange}`).toBeCloseTo(d.basicsr[s.key].psnr, 9);
            expect(q, `ssim ${s.key} range ${dataRange}`).toBeCloseTo(d.basicsr[s.key].ssim, 10);
          }
          const k = await ssimSkimage(pred, target, { dataRange });
          worst.ssimSkimage = Math.max(worst.ssimSkimage, Math.abs(k - d.skimage.ssim));
          expect(k, `ssimSkimage range ${dataRange}`).toBeCloseTo(d.skimage.ssim, 10);
          expect(await psnr(pred, target, { dataRange })).toBeCloseTo(d.skimage.psnr, 9);
        }
      });
  it('reports the worst differences', () => {
    console.log(`host max |diff| vs reference: ${JSON.stringify(worst)}`);
    expect(worst.psnr).toBeLessThan(1e-9);
  });
});
