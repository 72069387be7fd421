import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { conv2d } from '../index.js';
import { conv2dInBands, im2colBandRows } from './conv.js';

/**
 * webgl computes a k×k conv2d through one im2col texture of [B, kh·kw·Cin, OH·OW] values; past the
 * maximum texture size tfjs throws. restorekit's convs then run in bands of output rows.
 */
describe('conv2d in row bands (webgl im2col texture limit)', () => {
  it('im2colBandRows: null while the im2col texture fits, else bands of at most half the limit', () => {
    // DRCNet at 512²: a 3×3 conv over 128 channels (the up block's concat) needs 576 × 131,072 texels > 8192².
    expect(im2colBandRows([1, 514, 514, 128], [3, 3, 128, 64], 1, 8192)).toBe(227);
    expect(576 * 256 * 227).toBeLessThanOrEqual((8192 * 8192) / 2); // texels of one band
    expect(im2colBandRows([1, 514, 514, 64], [3, 3, 64, 64], 1, 8192)).toBeNull(); // 288 × 131,072 texels fit
    expect(im2colBandRows([1, 514, 514, 128], [3, 3, 128, 64], 1, 16384)).toBeNull(); // a GPU with 16384² textures
    expect(im2colBandRows([1, 512, 512, 4096], [1, 1, 4096, 8], 1, 8192)).toBeNull(); // 1×1: a matMul, no im2col
    // stride 2 (DRCNet's 4×4 downsample): 8·2048 rows of OW = 1023 columns
    const r = im2colBandRows([1, 2048, 2048, 64], [4, 4, 64, 128], 2, 8192)!;
    expect(r).toBe(Math.floor((8192 * 8192) / 2 / (512 * (1023 / 2))));
    expect(im2colBandRows([2, 8, 8, 4], [3, 3, 4, 4], 1, 4)).toBe(1); // even one row too large: one row per band
  });

  it('a conv computed in bands equals the whole conv (stride 1 and 2, bands that do not divide the rows)', async () => {
    const before = tf.memory().numTensors;
    type Shape4 = [number, number, number, number];
    const cases: [Shape4, Shape4, number][] = [
      [[2, 13, 11, 5], [3, 3, 5, 4], 1],
      [[1, 17, 9, 3], [4, 4, 3, 6], 2],
      [[1, 12, 7, 2], [1, 1, 2, 3], 2],
    ];
    for (const [xs, ws, s] of cases) {
      const x = tf.randomNormal(xs, 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal(ws, 0, 0.5, 'float32', 2) as tf.Tensor4D;
      const whole = tf.conv2d(x, w, s, 'valid');
      const ref = await whole.data();
      for (const rows of [1, 2, 4, 100]) {
        const banded = conv2dInBands(x, w, s, rows);
        expect(banded.shape).toEqual(whole.shape);
        const got = await banded.data();
        let maxDiff = 0;
        for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
        expect(maxDiff, `x ${xs} w ${ws} stride ${s} rows ${rows}`).toBeLessThan(1e-5);
        banded.dispose();
      }
      tf.dispose([x, w, whole]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('on webgl, a conv whose im2col exceeds the texture limit runs (tf.conv2d alone throws) and trains', async () => {
    if (tf.getBackend() !== 'webgl') return; // the limit is webgl's; other backends have no im2col texture
    const max = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
    // 1 input channel keeps the tensors small: 5 texels per column pair × OH·OW/2 > max² needs OH·OW > 0.4·max².
    const side = Math.ceil(Math.sqrt(0.42 * max * max)) + 2;
    const before = tf.memory().numTensors;
    const x = tf.randomUniform([1, side, side, 1], -1, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.tensor4d([0, 1, 0, 1, -4, 1, 0, 1, 0], [3, 3, 1, 1]);
    expect(im2colBandRows(x.shape, w.shape, 1, max)).not.toBeNull();
    expect(() => tf.tidy(() => tf.conv2d(x, w, 1, 'valid').dataSync())).toThrow(/greater than WebGL maximum/);
    // one forward, kept, serves the value checks and the gradient: d y[i, j] / dw[a, b] = x[i + a, j + b]
    const [i, j] = [side - 3, 5]; // a pixel of the last band
    let y: tf.Tensor4D | undefined;
    const gw = tf.grad((wi: tf.Tensor) => {
      y = tf.keep(conv2d(x, wi as tf.Tensor4D));
      return tf.sum(tf.slice(y, [0, i, j, 0], [1, 1, 1, 1]));
    })(w);
    expect(y!.shape).toEqual([1, side - 2, side - 2, 1]);
    const rowsOf = (t: tf.Tensor4D, r: number, n = 3) => {
      const part = tf.slice(t, [0, r, 0, 0], [1, n, t.shape[2], 1]);
      return part.data().finally(() => part.dispose());
    };
    // the Laplacian by hand in the first, a middle and the last rows (3-row reads, not 113 MB)
    for (const [r, c] of [
      [0, 0],
      [Math.floor(side / 2), 7],
      [side - 3, side - 3],
    ] as const) {
      const xr = await rowsOf(x, r);
      const yr = await rowsOf(y!, r, 1);
      const at = (a: number, b: number) => xr[a * side + c + b]!;
      expect(yr[c]!).toBeCloseTo(at(0, 1) + at(1, 0) - 4 * at(1, 1) + at(1, 2) + at(2, 1), 4);
    }
    const g = await gw.data();
    const xr = await rowsOf(x, i);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expect(g[a * 3 + b]!).toBeCloseTo(xr[a * side + j + b]!, 5);
    tf.dispose([x, w, y!, gw]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
