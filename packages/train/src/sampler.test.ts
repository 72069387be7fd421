import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, exportTorchStateDict } from '@restorekit/core';
import { gaussianNoise, type HostImage } from './degrade.js';
import { AdamW } from './optimizers.js';
import { Rng } from './rng.js';
import { PatchSampler, RGB_PERMUTATIONS, augmentImage, cropImage, permuteChannels } from './sampler.js';
import { l1, syntheticImage, tinyNet } from './test-helpers.js';
import { Trainer, type Batch } from './trainer.js';

const gtImages = (n: number, size = 12): HostImage[] => {
  const rng = new Rng(99);
  return Array.from({ length: n }, () => ({ data: syntheticImage(rng, size, size), shape: [size, size, 3] as [number, number, number] }));
};
const read = async (b: Batch) => {
  const out = { input: Array.from(await (b.input as tf.Tensor).data()), target: Array.from(await (b.target as tf.Tensor).data()) };
  tf.dispose([b.input as tf.Tensor, b.target as tf.Tensor, ...Object.values(b.extra ?? {})]);
  return out;
};

describe('BasicSR crop and augment', () => {
  // A 2×3 one-channel image [[0, 1, 2], [3, 4, 5]].
  const img: HostImage = { data: Float32Array.from([0, 1, 2, 3, 4, 5]), shape: [2, 3, 1] };
  it('hflip reverses columns (cv2.flip 1), vflip rows (cv2.flip 0), rot90 transposes H and W', () => {
    expect(Array.from(augmentImage(img, true, false, false).data)).toEqual([2, 1, 0, 5, 4, 3]);
    expect(Array.from(augmentImage(img, false, true, false).data)).toEqual([3, 4, 5, 0, 1, 2]);
    const t = augmentImage(img, false, false, true);
    expect(t.shape).toEqual([3, 2, 1]);
    expect(Array.from(t.data)).toEqual([0, 3, 1, 4, 2, 5]);
    // Flips first, then the transpose: hflip + rot90 of [[0,1,2],[3,4,5]] is [[2,5],[1,4],[0,3]].
    expect(Array.from(augmentImage(img, true, false, true).data)).toEqual([2, 5, 1, 4, 0, 3]);
  });
  it('cropImage takes the window at (top, left)', () => {
    expect(Array.from(cropImage(img, 0, 1, 2).data)).toEqual([1, 2, 4, 5]);
    expect(() => cropImage(img, 1, 0, 2)).toThrow(ShapeError);
  });
});

describe('PatchSampler', () => {
  it('is deterministic per seed; crops and flips gt and lq alike', async () => {
    const gts = gtImages(3);
    // lq = gt + 1 everywhere: any mismatch of crop window or flips would show in lq − gt.
    const images = gts.map((gt) => ({ gt, lq: { data: gt.data.map((v) => v + 1), shape: gt.shape } }));
    const a = new PatchSampler({ images, patchSize: 6, batchSize: 4, seed: 3 });
    const b = new PatchSampler({ images, patchSize: 6, batchSize: 4, seed: 3 });
    const c = new PatchSampler({ images, patchSize: 6, batchSize: 4, seed: 4 });
    const ba = await read(a.next());
    expect(await read(b.next())).toEqual(ba);
    expect((await read(c.next())).target).not.toEqual(ba.target);
    ba.input.forEach((v, i) => {
      expect(Math.abs(v - ba.target[i]! - 1)).toBeLessThan(1e-6);
    });
    // The patches are the crops + augmentations that lastPatches describes.
    const info = a.lastPatches;
    const p2 = a.next();
    const host = await read(p2);
    a.lastPatches.forEach((pi, k) => {
      const want = augmentImage(cropImage(gts[pi.index]!, pi.top, pi.left, 6), pi.hflip, pi.vflip, pi.rot90);
      expect(host.target.slice(k * 108, (k + 1) * 108)).toEqual(Array.from(want.data));
    });
    expect(info.length).toBe(4);
  });

  it('visits every image once per epoch, in a new seeded order each epoch', () => {
    const s = new PatchSampler({ images: gtImages(5).map((gt) => ({ gt })), degrade: gaussianNoise({ sigma: 0.1 }), patchSize: 4, batchSize: 5, seed: 1 });
    const orders: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const b = s.next();
      tf.dispose([b.input as tf.Tensor, b.target as tf.Tensor]);
      orders.push(s.lastPatches.map((p) => p.index));
      expect([...orders[e]!].sort()).toEqual([0, 1, 2, 3, 4]);
    }
    expect(s.epochs).toBe(3);
    expect(new Set(orders.map((o) => o.join())).size).toBeGreaterThan(1);
  });

  it('degrades on the fly with the same generator; labels become extra tensors', async () => {
    const s = new PatchSampler({
      images: gtImages(2).map((gt) => ({ gt })),
      degrade: gaussianNoise({ sigma: [0.05, 0.2], range: true, perChannel: true }),
      labels: (ls) => ({ sigma: tf.tensor2d(ls.map((l) => l.sigma as number[])) }),
      patchSize: 8,
      batchSize: 3,
      seed: 11,
    });
    const b = s.next();
    expect(b.extra!.sigma!.shape).toEqual([3, 3]);
    const sig = Array.from(await b.extra!.sigma!.data());
    const want = s.lastLabels.flatMap((l) => l.sigma as number[]);
    sig.forEach((v, i) => {
      expect(Math.abs(v - want[i]!)).toBeLessThan(1e-7);
    });
    want.forEach((v) => {
      expect(v).toBeGreaterThanOrEqual(0.05);
      expect(v).toBeLessThan(0.2);
    });
    await read(b);
  });

  it('getState/setState continue the exact batch sequence, mid-epoch', async () => {
    const opts = { images: gtImages(3).map((gt) => ({ gt })), degrade: gaussianNoise({ sigma: 0.1 }), patchSize: 5, batchSize: 2 };
    const a = new PatchSampler({ ...opts, seed: 8 });
    await read(a.next()); // one batch in: position 2 of 3
    const state = JSON.parse(JSON.stringify(a.getState()));
    const b = new PatchSampler({ ...opts, seed: 1234 });
    b.setState(state);
    for (let i = 0; i < 4; i++) expect(await read(b.next())).toEqual(await read(a.next()));
    expect(() => b.setState({ ...state, order: [0, 0, 1] })).toThrow(/not the state of a sampler over 3 images/);
  });

  it('rejects images that cannot give patches', () => {
    expect(
      () => new PatchSampler({ images: gtImages(1, 4).map((gt) => ({ gt })), degrade: gaussianNoise({ sigma: 0.1 }), patchSize: 5, batchSize: 1 }),
    ).toThrow(/smaller than the 5×5 patches/);
    expect(() => new PatchSampler({ images: gtImages(1).map((gt) => ({ gt })), patchSize: 5, batchSize: 1 })).toThrow(ConfigError);
    expect(() => new PatchSampler({ images: [], patchSize: 5, batchSize: 1 })).toThrow(ConfigError);
  });

  it('in a Trainer: 6 steps = 3 steps + checkpoint + 3 steps from a fresh sampler and model', async () => {
    const mk = (seed: number, samplerSeed: number) =>
      ({
        model: tinyNet(seed),
        loss: l1,
        optimizer: new AdamW({ lr: 2e-3 }),
        ema: 0.99,
        accumulate: 2,
        data: new PatchSampler({
          images: gtImages(4).map((gt) => ({ gt })),
          degrade: gaussianNoise({ sigma: [0, 0.2], range: true }),
          patchSize: 6,
          batchSize: 2,
          seed: samplerSeed,
        }),
      }) as const;
    const straight = new Trainer(mk(1, 5));
    for (let i = 0; i < 6; i++) await straight.step();
    const half = new Trainer(mk(1, 5));
    for (let i = 0; i < 3; i++) await half.step();
    const ckpt = await half.saveCheckpoint();
    const resumed = await Trainer.resume(ckpt, mk(40, 77));
    for (let i = 0; i < 3; i++) await resumed.step();
    const x = await exportTorchStateDict(straight.model);
    const y = await exportTorchStateDict(resumed.model);
    const exact = ['cpu', 'wasm', 'tensorflow'].includes(tf.getBackend());
    for (const k of Object.keys(x)) {
      if (exact) expect(Array.from(y[k]!.data)).toEqual(Array.from(x[k]!.data));
      else
        y[k]!.data.forEach((v, i) => {
          expect(Math.abs(v - x[k]!.data[i]!)).toBeLessThan(1e-5);
        });
    }
    for (const t of [straight, half, resumed]) {
      t.dispose();
      (t.model as { dispose(): void }).dispose();
    }
  });
});

describe('permuteChannels / RGB_PERMUTATIONS', () => {
  it('reorders the channels of every pixel; the 6 orders are distinct, identity first; grey images are refused', () => {
    const img = { data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), shape: [1, 2, 3] as [number, number, number] };
    expect(Array.from(permuteChannels(img, [2, 0, 1]).data)).toEqual(Array.from(Float32Array.from([0.3, 0.1, 0.2, 0.6, 0.4, 0.5])));
    expect(RGB_PERMUTATIONS[0]).toEqual([0, 1, 2]);
    expect(new Set(RGB_PERMUTATIONS.map((p) => p.join())).size).toBe(6);
    expect(RGB_PERMUTATIONS.every((p) => [...p].sort().join() === '0,1,2')).toBe(true);
    expect(() => permuteChannels({ data: new Float32Array(2), shape: [1, 2, 1] }, [0, 1, 2])).toThrow(ShapeError);
  });
});
