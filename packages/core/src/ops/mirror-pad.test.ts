import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, mirrorPad2d, padToMultiple } from '../index.js';
import { expectNoLeaks } from '../testing/index.js';

/** Index of padded row/column i in the source (PyTorch reflect: edge not repeated; symmetric: repeated). */
function source(i: number, before: number, n: number, mode: 'reflect' | 'symmetric'): number {
  let j = i - before;
  const e = mode === 'reflect' ? 1 : 0;
  if (j < 0) j = -j - 1 + e;
  if (j >= n) j = 2 * n - j - 1 - e;
  return j;
}

describe('mirrorPad2d', () => {
  for (const mode of ['reflect', 'symmetric'] as const)
    it(`${mode}: values equal tf.mirrorPad, and the gradient is the adjoint (every mirrored pixel's share flows back)`, async () => {
      await expectNoLeaks(async () => {
        const [b, h, w, c] = [2, 5, 7, 3];
        const [pt, pb, pl, pr] = [2, 3, 0, 4];
        const x = tf.randomUniform([b, h, w, c], -1, 1, 'float32', 1) as tf.Tensor4D;
        const y = mirrorPad2d(x, [pt, pb], [pl, pr], mode);
        const ref = tf.mirrorPad(
          x,
          [
            [0, 0],
            [pt, pb],
            [pl, pr],
            [0, 0],
          ],
          mode,
        );
        expect(Array.from(await y.data())).toEqual(Array.from(await ref.data()));
        // d/dx Σ g ⊙ pad(x) = Σ over padded pixels of g at that pixel, scattered to its source.
        const [H, W] = [h + pt + pb, w + pl + pr];
        const g = tf.randomUniform([b, H, W, c], -1, 1, 'float32', 2);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(mirrorPad2d(t as tf.Tensor4D, [pt, pb], [pl, pr], mode), g)))(x);
        const gv = await g.data();
        const want = new Float32Array(b * h * w * c);
        for (let n = 0; n < b; n++)
          for (let i = 0; i < H; i++)
            for (let j = 0; j < W; j++)
              for (let k = 0; k < c; k++) {
                const [si, sj] = [source(i, pt, h, mode), source(j, pl, w, mode)];
                want[((n * h + si) * w + sj) * c + k]! += gv[((n * H + i) * W + j) * c + k];
              }
        const got = await dx.data();
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        expect(worst).toBeLessThan(1e-5);
        // tfjs's own mirrorPad gradient drops the borders' share (why mirrorPad2d exists): it differs here.
        const dxTf = tf.grad((t: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.mirrorPad(
                t,
                [
                  [0, 0],
                  [pt, pb],
                  [pl, pr],
                  [0, 0],
                ],
                mode,
              ),
              g,
            ),
          ),
        )(x);
        const tfv = await dxTf.data();
        let tfWorst = 0;
        for (let i = 0; i < want.length; i++) tfWorst = Math.max(tfWorst, Math.abs(tfv[i]! - want[i]!));
        expect(tfWorst).toBeGreaterThan(0.1);
        tf.dispose([x, y, ref, g, dx, dxTf]);
      }, 'mirrorPad2d');
    });

  it('padToMultiple pads with it (so models get the full input gradient), and sizes that do not fit are ShapeErrors', async () => {
    const x = tf.randomUniform([1, 6, 5, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const dx = tf.grad((t: tf.Tensor) => tf.sum(padToMultiple(t as tf.Tensor4D, 4).x))(x);
    // Each source pixel counts once, plus once per mirrored copy: the sum of dx is the padded pixel count.
    expect((await tf.sum(dx).data())[0]).toBeCloseTo(1 * 8 * 8 * 2, 3);
    expect(() => mirrorPad2d(x, [6, 0], [0, 0])).toThrow(ShapeError);
    expect(() => tf.dispose(mirrorPad2d(x, [0, 0], [0, 5], 'symmetric'))).not.toThrow();
    tf.dispose([x, dx]);
  });
});
