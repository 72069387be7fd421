import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, DTypeError, ConfigError } from '../errors.js';
import { expectNoLeaks } from '../testing/index.js';
import { withSettings } from '../settings.js';
import { CONCAT_CHANNELS_KERNEL, EVEN_ODD_KERNEL, SPLIT_CHANNELS_KERNEL, useWasmKernels } from '../wasm/kernels.js';
import { concatChannels, evenOddChannels, splitChannels } from './channels.js';

const onWasm = () => tf.getBackend() === 'wasm';
/** The split/concat copy kernels run on wasm and, in JavaScript, on cpu (core cpu/kernels.ts). */
const copyKernels = () => onWasm() || tf.getBackend() === 'cpu';

describe("splitChannels / concatChannels (tf.split / tf.concat on the last axis; wasm and cpu: restorekit's copy kernels)", () => {
  it('equal tf.split and tf.concat exactly, values and gradients, for channel counts with and without tails of 1–3', () =>
    expectNoLeaks(async () => {
      for (const sizes of [
        [4, 4],
        [3, 5, 1],
        [16, 32],
        [7, 6, 2, 9],
      ]) {
        const c = sizes.reduce((a, b) => a + b, 0);
        const x = tf.randomNormal([2, 5, 3, c], 0, 1, 'float32', c);
        const w = sizes.map((n, i) => tf.randomNormal([2, 5, 3, n], 0, 1, 'float32', 10 * c + i));
        const loss = (t: tf.Tensor) => tf.addN(splitChannels(t, sizes).map((p, i) => tf.sum(tf.mul(p, w[i]!))));
        const on = await tf.profile(() => [...splitChannels(x, sizes), tf.grad(loss)(x)]);
        expect(on.kernels.some((k) => k.name === SPLIT_CHANNELS_KERNEL)).toBe(copyKernels());
        const off = withSettings({ wasmKernels: false }, () => [
          ...tf.split(x, sizes, -1),
          tf.grad((t: tf.Tensor) => tf.addN(tf.split(t, sizes, -1).map((p, i) => tf.sum(tf.mul(p, w[i]!)))))(x),
        ]);
        const got = on.result as tf.Tensor[];
        for (let i = 0; i < got.length; i++) {
          expect(got[i]!.shape).toEqual(off[i]!.shape);
          expect(Array.from(await got[i]!.data())).toEqual(Array.from(await off[i]!.data()));
        }
        // concat of the parts gives x back, its gradient splits dy
        const parts = splitChannels(x, sizes);
        const back = await tf.profile(() => concatChannels(parts));
        expect(back.kernels.some((k) => k.name === CONCAT_CHANNELS_KERNEL)).toBe(copyKernels());
        expect(Array.from(await (back.result as tf.Tensor).data())).toEqual(Array.from(await x.data()));
        const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 99);
        const g = tf.grads((...ps: tf.Tensor[]) => tf.sum(tf.mul(concatChannels(ps), dy)))(parts);
        const want = tf.split(dy, sizes, -1);
        for (let i = 0; i < g.length; i++) expect(Array.from(await g[i]!.data())).toEqual(Array.from(await want[i]!.data()));
        tf.dispose([x, ...w, ...got, ...off, ...parts, back.result as tf.Tensor, dy, ...g, ...want]);
      }
    }));

  it('a part no loss uses gets a zero gradient; int32 and other backends take tf.split / tf.concat', () =>
    expectNoLeaks(async () => {
      const x = tf.randomNormal([1, 4, 4, 8], 0, 1, 'float32', 3);
      const g = tf.grad((t: tf.Tensor) => tf.sum(splitChannels(t, [5, 3])[1]!))(x);
      const gs = await g.data();
      for (let i = 0; i < gs.length; i++) expect(gs[i]).toBe(i % 8 >= 5 ? 1 : 0);
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], 'int32');
      const info = await tf.profile(() => splitChannels(ints, 2));
      expect(info.kernels.some((k) => k.name.startsWith('Restorekit'))).toBe(false);
      expect(await Promise.all((info.result as tf.Tensor[]).map((t) => t.array()))).toEqual([
        [
          [1, 2],
          [5, 6],
        ],
        [
          [3, 4],
          [7, 8],
        ],
      ]);
      expect(useWasmKernels(x)).toBe(onWasm());
      tf.dispose([x, g, ints, ...(info.result as tf.Tensor[])]);
    }));

  it('bad sizes, mismatched shapes and non-tensors are typed errors naming the problem, leaking nothing', () =>
    expectNoLeaks(async () => {
      const x = tf.zeros([1, 2, 2, 6]);
      const y = tf.zeros([1, 2, 3, 2]);
      expect(() => splitChannels(x, [4, 3])).toThrow(ShapeError);
      expect(() => splitChannels(x, [4, 3])).toThrow(/sizes \[4,3\] must be positive integers summing to the 6 channels of \[1, 2, 2, 6\]/);
      expect(() => splitChannels(x, 4)).toThrow(/6 channels cannot be split into 4 equal parts/);
      expect(() => concatChannels([x, y])).toThrow(ShapeError);
      expect(() => concatChannels([x, y])).toThrow(/tensor 1 \[1, 2, 3, 2\] \(float32\) does not match tensor 0 \[1, 2, 2, 6\]/);
      expect(() => concatChannels([])).toThrow(ConfigError);
      expect(() => concatChannels([x, [1, 2] as never])).toThrow(DTypeError);
      tf.dispose([x, y]);
    }));
});

describe("evenOddChannels (x[..., 0::2], x[..., 1::2]; wasm: restorekit's shuffle kernel)", () => {
  it('gives the even and odd channels exactly, and gradients that interleave dy (zeros for an unused half), no leaks', () =>
    expectNoLeaks(async () => {
      // channel counts whose halves are a multiple of 4, have tails of 1–3 (overlapping vectors), and are below 4 (the slices)
      for (const c of [8, 10, 14, 56, 6]) {
        const x = tf.randomNormal([2, 3, 5, c], 0, 1, 'float32', c);
        const xv = await x.data();
        const prof = await tf.profile(() => evenOddChannels(x));
        const [e, o] = prof.result as unknown as tf.Tensor[];
        expect(prof.kernels.some((k) => k.name === EVEN_ODD_KERNEL)).toBe(onWasm() && c >= 8);
        expect(e!.shape).toEqual([2, 3, 5, c / 2]);
        const [ev, ov] = [await e!.data(), await o!.data()];
        for (let p = 0; p < 30; p++)
          for (let j = 0; j < c / 2; j++) {
            expect(ev[p * (c / 2) + j]).toBe(xv[p * c + 2 * j]);
            expect(ov[p * (c / 2) + j]).toBe(xv[p * c + 2 * j + 1]);
          }
        const we = tf.randomNormal(e!.shape, 0, 1, 'float32', 1);
        const wo = tf.randomNormal(o!.shape, 0, 1, 'float32', 2);
        const g = tf.grad((t: tf.Tensor) => {
          const [a, b] = evenOddChannels(t);
          return tf.add(tf.sum(tf.mul(a!, we)), tf.sum(tf.mul(b!, wo)));
        })(x);
        const gOdd = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(evenOddChannels(t)[1]!, wo)))(x);
        const [gv, gov, wev, wov] = [await g.data(), await gOdd.data(), await we.data(), await wo.data()];
        for (let p = 0; p < 30; p++)
          for (let j = 0; j < c / 2; j++) {
            expect(gv[p * c + 2 * j]).toBe(wev[p * (c / 2) + j]);
            expect(gv[p * c + 2 * j + 1]).toBe(wov[p * (c / 2) + j]);
            expect(gov[p * c + 2 * j]).toBe(0);
            expect(gov[p * c + 2 * j + 1]).toBe(wov[p * (c / 2) + j]);
          }
        tf.dispose([x, e!, o!, we, wo, g, gOdd]);
      }
    }));

  it('names an odd channel count', () => {
    const x = tf.zeros([2, 3, 5]);
    expect(() => evenOddChannels(x)).toThrow(ShapeError);
    expect(() => evenOddChannels(x)).toThrow(/even number of channels.*\[2, 3, 5\]/);
    x.dispose();
  });
});
