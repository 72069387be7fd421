import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, DTypeError, RestorekitError, ShapeError, cropTo, padToMultiple } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import {
  AbortError,
  describeModel,
  fromImageData,
  loadModelDescription,
  planTiles,
  restore,
  tileWindow,
  toImageData,
  warmup,
  type ImageBuffer,
  type TileProgress,
} from './index.js';
import { disposeModel } from './model.js';
import { axisWeights } from './plan.js';
import { convNet, maxAbsDiff, srNet, testImage, untiled } from './test-helpers.js';

const f32 = (n: number) => new Float32Array(n);
const u8 = (n: number) => new Uint8Array(n);
const u16 = (n: number) => new Uint16Array(n);
const apply = (m: { apply(x: tf.Tensor): unknown }) => (x: tf.Tensor4D) => m.apply(x) as tf.Tensor;

/** Awaits a rejection and checks its class and message. */
async function rejectsWith(p: Promise<unknown>, cls: new (...a: never[]) => Error, message: RegExp): Promise<Error> {
  const e = await p.then(
    () => {
      throw new Error(`expected a ${cls.name}, but it resolved`);
    },
    (err: unknown) => err as Error,
  );
  expect(e, `${e}`).toBeInstanceOf(cls);
  expect(e.message).toMatch(message);
  return e;
}

describe('tiled restore = untiled model (blending)', () => {
  it('a conv-only model (receptive radius 3 ≤ margin) on a 53×37 image in 24-px tiles matches the whole-image output within 1e-5', async () => {
    const net = convNet();
    const image = testImage(53, 37, 3, f32, 1);
    const opts = { tileSize: 24, overlap: 12 }; // margin = 3
    const plan = planTiles(53, 37, opts);
    expect(plan.columnStarts.length).toBeGreaterThan(2);
    expect(plan.rowStarts.length).toBeGreaterThan(1);
    const want = await untiled(apply(net), image);
    const got = await expectNoLeaks(() => restore(net, image, opts), 'restore');
    expect(got.data).toBeInstanceOf(Float32Array);
    expect([got.width, got.height, got.channels]).toEqual([53, 37, 3]);
    expect(maxAbsDiff(got.data, want)).toBeLessThanOrEqual(1e-5);
    // The linear ramp blends the same exact values: also equal.
    const lin = await restore(net, image, { ...opts, blend: 'linear' });
    expect(maxAbsDiff(lin.data, want)).toBeLessThanOrEqual(1e-5);
    net.dispose();
  });

  it('a ×2 super-resolution model (conv + PixelShuffle) tiled matches untiled within 1e-5', async () => {
    const net = srNet();
    const image = testImage(45, 29, 3, f32, 1);
    const want = await untiled(apply(net), image);
    const got = await expectNoLeaks(() => restore(net, image, { tileSize: 16, overlap: 8 }), 'restore');
    expect([got.width, got.height]).toEqual([90, 58]);
    expect(maxAbsDiff(got.data, want)).toBeLessThanOrEqual(1e-5);
    await rejectsWith(restore(net, image, { tileSize: 16, overlap: 8, scale: 4 }), ShapeError, /scaled tile 0 by 2, but the scale option says 4/);
    net.dispose();
  });

  it('an image smaller than a tile is reflect-padded to the size multiple and cropped back, like padToMultiple', async () => {
    const net = convNet();
    const image = testImage(13, 11, 3, f32, 1);
    const x = tf.tensor4d(image.data, [1, 11, 13, 3]);
    const { x: padded } = padToMultiple(x, 8, 'reflect');
    const y = net.apply(padded) as tf.Tensor4D;
    const cropped = cropTo(y, 11, 13);
    const want = (await cropped.data()) as Float32Array;
    tf.dispose([x, padded, y, cropped]);
    const got = await expectNoLeaks(() => restore(net, image, { tileSize: 24, overlap: 4, sizeMultiple: 8 }), 'restore');
    expect([got.width, got.height]).toEqual([13, 11]);
    expect(maxAbsDiff(got.data, want)).toBeLessThanOrEqual(1e-5);
    net.dispose();
  });

  it('leaves no seams where tiles disagree: a model whose output is its tile mean changes smoothly across overlaps', async () => {
    const W = 100;
    const image: ImageBuffer<Float32Array> = { data: f32(W * 20 * 3), width: W, height: 20, channels: 3 };
    for (let i = 0; i < image.data.length; i++) image.data[i] = (Math.floor(i / 3) % W) / W;
    const perTileMean = (x: tf.Tensor4D) => tf.add(tf.zerosLike(x), tf.mean(x));
    const got = await restore(perTileMean, image, { tileSize: 32, overlap: 16 });
    const row = Array.from({ length: W }, (_, x) => got.data[x * 3]!);
    const steps = row.slice(1).map((v, i) => Math.abs(v - row[i]!));
    // Tile means differ by ~0.13 between neighbours; cropping would jump by that much at each seam.
    expect(row[W - 1]! - row[0]!).toBeGreaterThan(0.5);
    expect(Math.max(...steps)).toBeLessThan(0.04);
  });

  it('weights: image borders keep full weight, inner edges drop to 0 over the margin, overlapping weights add up to 1', () => {
    const w = tileWindow(24, 1, false, true, 12, 3, 'cosine');
    expect(w[0]).toBe(1);
    expect(Array.from(w.slice(21))).toEqual([0, 0, 0]); // the last margin = 3 pixels of an inner edge
    expect(w[20]).toBeGreaterThan(0);
    expect(w[20]).toBeLessThan(w[19]!);
    const both = tileWindow(24, 2, true, true, 12, 3, 'cosine');
    expect(both.slice(0, 6).every((v) => v === 0)).toBe(true); // 3 input px = 6 output px at ×2
    expect(both[24]).toBe(1);
    const starts = planTiles(100, 10, { tileSize: 32, overlap: 16 }).columnStarts;
    const norm = axisWeights(starts, 32, 100, 1, 16, 4, 'cosine');
    const sum = new Float64Array(100);
    starts.forEach((s, i) => {
      for (let p = 0; p < norm[i]!.length; p++) sum[s + p] += norm[i]![p]!;
    });
    for (const v of sum) expect(v).toBeCloseTo(1, 6);
  });
});

describe('image kinds', () => {
  it('RGBA: alpha is passed through untouched (nearest-enlarged for a ×2 model), RGB goes through the model', async () => {
    const image = testImage(21, 17, 4, u8, 255);
    const invert = (x: tf.Tensor4D) => tf.sub(1, x);
    const got = await restore(invert, image, { tileSize: 8, overlap: 2 });
    expect(got.data).toBeInstanceOf(Uint8Array);
    for (let i = 0; i < image.data.length; i++) expect(got.data[i]).toBe(i % 4 === 3 ? image.data[i] : 255 - image.data[i]!);
    const up = (x: tf.Tensor4D) => tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]);
    const big = await restore(up, image, { tileSize: 8, overlap: 2 });
    expect([big.width, big.height, big.channels]).toEqual([42, 34, 4]);
    for (let y = 0; y < 34; y++)
      for (let x = 0; x < 42; x++) for (let c = 0; c < 4; c++) expect(big.data[(y * 42 + x) * 4 + c]).toBe(image.data[((y >> 1) * 21 + (x >> 1)) * 4 + c]);
  });

  it('gray images: replicated into a 3-channel model and averaged back, or straight into a gray model (modelChannels: 1)', async () => {
    const image = testImage(19, 14, 1, u8, 255);
    const invert = (x: tf.Tensor4D) => {
      expect(x.shape[3]).toBe(3);
      return tf.sub(1, x);
    };
    const got = await restore(invert, image, { tileSize: 8, overlap: 2 });
    expect(got.channels).toBe(1);
    expect(Array.from(got.data)).toEqual(Array.from(image.data, (v) => 255 - v));
    const gray = convNet(1);
    const fimage = testImage(19, 14, 1, f32, 1);
    const want = await untiled(apply(gray), fimage);
    const out = await expectNoLeaks(() => restore(gray, fimage, { tileSize: 14, overlap: 7, margin: 3, modelChannels: 1 }), 'restore');
    expect(out.channels).toBe(1);
    expect(maxAbsDiff(out.data, want)).toBeLessThanOrEqual(1e-5);
    gray.dispose();
  });

  it('16-bit in → 16-bit out, exact through an identity model; integer outputs are clamped to [0, max]; float out is not clamped', async () => {
    const image = testImage(23, 9, 3, u16, 65535);
    const id = await restore((x) => x, image, { tileSize: 8, overlap: 2 });
    expect(id.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(id.data)).toEqual(Array.from(image.data));
    const brighter = (x: tf.Tensor4D) => tf.add(x, 0.25);
    const clamped = await restore(brighter, image, { tileSize: 8, overlap: 2 });
    for (let i = 0; i < image.data.length; i++) expect(clamped.data[i]).toBe(Math.min(65535, Math.round((image.data[i]! / 65535 + 0.25) * 65535)));
    const fimg = testImage(23, 9, 3, f32, 1);
    const fl = await restore(brighter, fimg, { tileSize: 8, overlap: 2 });
    expect(
      maxAbsDiff(
        fl.data,
        Float32Array.from(fimg.data, (v) => v + 0.25),
      ),
    ).toBeLessThan(1e-6);
    expect(Math.max(...fl.data)).toBeGreaterThan(1);
  });

  it('8-bit through an identity model is exact, and Uint8ClampedArray stays Uint8ClampedArray (ImageData round trip)', async () => {
    const image = testImage(30, 20, 4, (n) => new Uint8ClampedArray(n), 255);
    const Ctor =
      (globalThis as { ImageData?: typeof ImageData }).ImageData ??
      (class {
        constructor(
          readonly data: Uint8ClampedArray,
          readonly width: number,
          readonly height: number,
        ) {}
      } as unknown as typeof ImageData);
    const imageData = toImageData(image, Ctor);
    const back = fromImageData(imageData);
    expect(back.data).toBe(imageData.data);
    const out = await restore((x) => x, back, { tileSize: 16, overlap: 4 });
    expect(out.data).toBeInstanceOf(Uint8ClampedArray);
    expect(Array.from(out.data)).toEqual(Array.from(image.data));
    const rgb = toImageData(testImage(3, 2, 3, u16, 65535), Ctor);
    expect(rgb.data[3]).toBe(255);
    expect(rgb.data.length).toBe(24);
  });
});

describe('progress and cancellation', () => {
  it('reports every tile in order with its coordinates and the fraction done', async () => {
    const seen: TileProgress[] = [];
    const image = testImage(50, 30, 3, u8, 255);
    await restore((x) => x, image, { tileSize: 16, overlap: 4, onProgress: (p) => void seen.push(p) });
    const plan = planTiles(50, 30, { tileSize: 16, overlap: 4 });
    expect(seen.length).toBe(plan.tiles.length);
    seen.forEach((p, i) => {
      const t = plan.tiles[i]!;
      expect(p).toEqual({ x: t.x, y: t.y, w: 16, h: 16, index: i, total: plan.tiles.length, fraction: (i + 1) / plan.tiles.length });
    });
    expect(seen.at(-1)!.fraction).toBe(1);
    // Tiles cover the image.
    const covered = new Uint8Array(50 * 30);
    for (const p of seen) for (let y = p.y; y < p.y + p.h; y++) for (let x = p.x; x < p.x + p.w; x++) covered[y * 50 + x] = 1;
    expect(covered.every((v) => v === 1)).toBe(true);
  });

  it('abort mid-image rejects with AbortError and leaves no tensor behind (tf.memory().numTensors before = after)', async () => {
    const net = convNet();
    const image = testImage(64, 48, 3, u8, 255);
    const ctrl = new AbortController();
    let tilesRun = 0;
    const before = tf.memory().numTensors;
    const e = await rejectsWith(
      restore(net, image, {
        tileSize: 16,
        overlap: 4,
        signal: ctrl.signal,
        onProgress: (p) => void (p.index === 2 && ctrl.abort(new Error('user closed the tab'))),
      }),
      AbortError,
      /aborted: user closed the tab/,
    );
    expect(e).toBeInstanceOf(RestorekitError);
    expect(e.name).toBe('AbortError');
    expect(tf.memory().numTensors).toBe(before);
    // Aborted while a tile is in the model: that tile is finished and freed, nothing after it runs.
    const ctrl2 = new AbortController();
    const inModel = (x: tf.Tensor4D) => {
      tilesRun++;
      if (tilesRun === 4) ctrl2.abort();
      return net.apply(x) as tf.Tensor;
    };
    await rejectsWith(restore(inModel, image, { tileSize: 16, overlap: 4, signal: ctrl2.signal }), AbortError, /aborted/);
    expect(tilesRun).toBe(4);
    expect(tf.memory().numTensors).toBe(before);
    // Already aborted: nothing runs.
    await rejectsWith(restore(inModel, image, { signal: ctrl2.signal }), AbortError, /aborted/);
    expect(tilesRun).toBe(4);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});

describe('bad input: typed errors that name the problem, nothing leaked', () => {
  const net = convNet();
  const good = testImage(20, 10, 3, u8, 255);
  const cases: [string, () => Promise<unknown>, new (...a: never[]) => Error, RegExp][] = [
    [
      'wrong channels',
      () => restore(net, { ...good, channels: 2 as 3, data: new Uint8Array(400) }),
      ShapeError,
      /image\.channels must be 1 \(gray\), 3 \(RGB\) or 4 \(RGBA\), got 2/,
    ],
    [
      'data length ≠ width·height·channels',
      () => restore(net, { ...good, data: new Uint8Array(599) }),
      ShapeError,
      /image\.data has 599 values, but width·height·channels = 20·10·3 = 600/,
    ],
    ['non-positive width', () => restore(net, { ...good, width: 0 }), ShapeError, /image\.width must be a positive integer, got 0/],
    ['negative height', () => restore(net, { ...good, height: -10 }), ShapeError, /image\.height must be a positive integer, got -10/],
    [
      'data of an unsupported type',
      () => restore(net, { ...good, data: Array.from(good.data) as never }),
      DTypeError,
      /image\.data must be a Uint8Array, Uint8ClampedArray, Uint16Array or Float32Array, got an Array/,
    ],
    ['Int16Array data', () => restore(net, { ...good, data: new Int16Array(600) as never }), DTypeError, /got Int16Array/],
    ['tileSize < 2·overlap', () => restore(net, good, { tileSize: 16, overlap: 9 }), ConfigError, /tileSize \(16\) must be at least 2·overlap \(2·9 = 18\)/],
    ['tileSize 0', () => restore(net, good, { tileSize: 0 }), ConfigError, /option 'tileSize' must be a positive integer, got 0/],
    ['negative overlap', () => restore(net, good, { overlap: -1 }), ConfigError, /option 'overlap' must be an integer ≥ 0, got -1/],
    [
      'tileSize not a multiple of sizeMultiple',
      () => restore(net, good, { tileSize: 20, overlap: 4, sizeMultiple: 8 }),
      ConfigError,
      /tileSize \(20\) must be a multiple of sizeMultiple \(8\)/,
    ],
    ['margin too large', () => restore(net, good, { overlap: 8, margin: 4 }), ConfigError, /margin \(4\) must be less than overlap \/ 2/],
    ['a typo in an option', () => restore(net, good, { tilesize: 64 } as never), ConfigError, /unknown option 'tilesize' \(did you mean 'tileSize'\?\)/],
    ['modelChannels 2', () => restore(net, good, { modelChannels: 2 as 3 }), ConfigError, /option 'modelChannels' must be 1 or 3/],
    [
      'an RGB image for a gray model',
      () => restore(net, good, { modelChannels: 1 }),
      ConfigError,
      /modelChannels is 1 \(a gray model\) but the image has 3 channels/,
    ],
    ['a model that is not a model', () => restore({} as never, good), ConfigError, /model must be a function .* or an object with apply\(x\)/],
    [
      'a model returning 4 channels',
      () => restore((x) => tf.concat([x, tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 1])], 3), good, { tileSize: 8, overlap: 2 }),
      ShapeError,
      /as many channels as it takes \(modelChannels = 3\), got shape \[1, 8, 8, 4\]/,
    ],
    ['a model returning int32', () => restore((x) => tf.cast(x, 'int32'), good, { tileSize: 8, overlap: 2 }), DTypeError, /output must be float32, got int32/],
    [
      'a model that does not scale by a whole factor',
      () =>
        restore(
          (x) =>
            tf.pad(x, [
              [0, 0],
              [0, 1],
              [0, 1],
              [0, 0],
            ]),
          good,
          { tileSize: 8, overlap: 2 },
        ),
      ShapeError,
      /not its input \[1, 8, 8, 3\] scaled by one whole factor/,
    ],
    ['a model returning a number', () => restore((() => 3) as never, good), DTypeError, /must return a tf\.Tensor .* got number/],
    ['a signal that is not a signal', () => restore(net, good, { signal: {} as never }), ConfigError, /option 'signal' must be an AbortSignal/],
  ];
  for (const [name, run, cls, message] of cases)
    it(`${name} → ${cls.name}`, async () => {
      await expectNoLeaks(() => rejectsWith(run(), cls, message), name);
    });
});

describe('warmup and model descriptions', () => {
  it("warmup runs the model on a tile of restore's size, reports its scale and leaks nothing", async () => {
    const net = srNet();
    const report = await expectNoLeaks(() => warmup(net, { tileSize: 24, runs: 2 }), 'warmup');
    expect(report.scale).toBe(2);
    expect(report.milliseconds).toHaveLength(2);
    await expectNoLeaks(
      () => rejectsWith(warmup(net, { tileSize: 24, modelChannels: 1 }), ShapeError, /must have 3 channels/),
      'warmup with the wrong channels',
    );
    net.dispose();
  });

  it('describeModel → loadModelDescription rebuilds a block, a LayersModel and a tfjs layer with the same outputs', async () => {
    const x = tf.randomUniform([1, 9, 11, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const block = convNet(3, 5);
    const seq = tfl.sequential({ layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [null, null, 3] })] });
    const layer = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' });
    tf.dispose(layer.apply(x) as tf.Tensor);
    for (const [name, m] of [
      ['block', block],
      ['LayersModel', seq],
      ['layer', layer],
    ] as const) {
      const desc = await describeModel(m);
      expect(desc.kind).toBe(name === 'LayersModel' ? 'layers-model' : 'layer');
      const copy = (await loadModelDescription(structuredClone(desc))) as { apply(x: tf.Tensor): tf.Tensor };
      const a = m.apply(x) as tf.Tensor;
      const b = copy.apply(x);
      expect(maxAbsDiff(await a.data(), await b.data()), name).toBe(0);
      tf.dispose([a, b]);
      disposeModel(copy);
    }
    await rejectsWith(
      describeModel((t: tf.Tensor4D) => t),
      ConfigError,
      /a plain function cannot be sent to another thread/,
    );
    tf.dispose(x);
    for (const m of [block, seq, layer]) disposeModel(m);
  });
});
