/**
 * Tiles on worker_threads: the same output as one thread, typed errors from the workers, cancellation.
 * The tests run from source, so the worker script is bundled first (the package ships it built as dist/worker.js).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BackendError, ConfigError, RegistryError, ShapeError } from '@restorekit/core';
import { AbortError, createWorkerPool, describeModel, restore, type ImageBuffer, type ModelDescription } from './index.js';
import { restore as restoreHere } from '../restore.js';
import { convNet, maxAbsDiff, srNet, testImage } from '../test-helpers.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = join(pkg, 'node_modules', '.cache', `runtime-workers-test-${process.pid}`);
const workerUrl = join(work, 'worker.mjs');
const modelModule = join(work, 'model.mjs');
const blockModule = join(work, 'invert-block.mjs');

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  await build({
    entryPoints: [join(pkg, 'src', 'node', 'worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: workerUrl,
    external: ['@tensorflow/*', '@restorekit/*', 'sharp'],
    logLevel: 'silent',
  });
  // A module that builds the model (what a user does for a model with code of its own).
  writeFileSync(
    modelModule,
    `import { Sequential } from '@restorekit/core';
export function createModel() {
  const net = new Sequential({ layers: [
    { type: 'Conv2d', inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, seed: 1 }, { type: 'GELU' },
    { type: 'Conv2d', inChannels: 8, outChannels: 8, kernelSize: 3, padding: 1, seed: 11 }, { type: 'GELU' },
    { type: 'Conv2d', inChannels: 8, outChannels: 3, kernelSize: 3, padding: 1, seed: 21 },
  ] });
  net.buildFromOptions();
  return net;
}
`,
  );
  // A package of one's own that registers a block (what '@restorekit/models' is to its models).
  writeFileSync(
    blockModule,
    `import * as tf from '@tensorflow/tfjs-core';
import { Block, opt, registerBlock } from '@restorekit/core';
export class InvertForTest extends Block {
  static className = 'restorekit>InvertForTest';
  static optionsSchema = { gain: opt.number({}, 1) };
  forward(x) { return tf.mul(tf.sub(1, x), this.options.gain); }
}
registerBlock(InvertForTest);
`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const f32 = (n: number) => new Float32Array(n);
const u8 = (n: number) => new Uint8Array(n);
const tiles = { tileSize: 16, overlap: 8 };

async function rejectsWith(p: Promise<unknown>, cls: new (...a: never[]) => Error, message: RegExp): Promise<Error> {
  const e = await p.then(
    () => {
      throw new Error(`expected a ${cls.name}, but it resolved`);
    },
    (err: unknown) => err as Error,
  );
  expect(e, `${e}\n${e.stack}`).toBeInstanceOf(cls);
  expect(e.message).toMatch(message);
  return e;
}

describe('restore with workers', () => {
  it('2 workers give bit for bit the output of 1 worker, and of this thread (cpu), on 8-bit and float images', async () => {
    const net = convNet();
    for (const image of [testImage(70, 45, 3, u8, 255), testImage(70, 45, 3, f32, 1)] as ImageBuffer[]) {
      const here = await restoreHere(net, image, tiles);
      const one = await restore(net, image, { ...tiles, workers: 1, workerUrl });
      const two = await restore(net, image, { ...tiles, workers: 2, workerUrl });
      expect(two.data.constructor).toBe(image.data.constructor);
      expect([two.width, two.height, two.channels]).toEqual([70, 45, 3]);
      expect(maxAbsDiff(two.data, one.data)).toBe(0);
      expect(maxAbsDiff(two.data, here.data)).toBeLessThanOrEqual(1e-6);
    }
    net.dispose();
  });

  it('workers on the wasm backend, a ×2 model with RGBA: same as this thread within 1e-5, alpha untouched', async () => {
    const net = srNet();
    const image = testImage(37, 29, 4, f32, 1);
    const here = await restoreHere(net, image, tiles);
    const pool = await createWorkerPool(net, { workers: 2, backend: 'wasm', workerUrl });
    try {
      expect(pool.backend).toBe('wasm');
      const got = await pool.restore(image, tiles);
      expect([got.width, got.height, got.channels]).toEqual([74, 58, 4]);
      expect(maxAbsDiff(got.data, here.data)).toBeLessThanOrEqual(1e-5);
      for (let i = 3; i < got.data.length; i += 4) expect(got.data[i]).toBe(here.data[i]);
    } finally {
      await pool.close();
    }
    net.dispose();
  });

  it('a pool is reused across images, reports progress in tile order, and runs a LayersModel', async () => {
    const seq = tfl.sequential({
      layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [null, null, 3], biasInitializer: 'ones' })],
    });
    const pool = await createWorkerPool(seq, { workers: 2, workerUrl });
    expect(pool.size).toBe(2);
    expect(pool.backend).toBe(tf.getBackend());
    try {
      for (const [w, h] of [
        [40, 24],
        [17, 33],
      ] as const) {
        const image = testImage(w, h, 3, f32, 1);
        const seen: number[] = [];
        const got = await pool.restore(image, { ...tiles, onProgress: (p) => void seen.push(p.index) });
        const here = await restoreHere(seq, image, tiles);
        expect(maxAbsDiff(got.data, here.data)).toBeLessThanOrEqual(1e-6);
        expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i));
        expect(seen.length).toBeGreaterThan(2);
      }
    } finally {
      await pool.close();
    }
    await rejectsWith(pool.restore(testImage(8, 8, 3, u8, 255)), BackendError, /closed/);
    seq.dispose();
  });

  it('a model from a module: on workers, and on this thread (where the model it built is disposed after)', async () => {
    const image = testImage(40, 30, 3, u8, 255);
    const net = convNet();
    const want = await restoreHere(net, image, tiles);
    net.dispose();
    const spec = { module: modelModule, export: 'createModel' };
    const got = await restore(spec, image, { ...tiles, workers: 2, workerUrl });
    expect(maxAbsDiff(got.data, want.data)).toBe(0);
    const before = tf.memory().numTensors;
    const here = await restore(spec, image, tiles);
    expect(tf.memory().numTensors).toBe(before);
    expect(maxAbsDiff(here.data, want.data)).toBe(0);
  });

  it("imports: workers import the modules that register a model's blocks before rebuilding it", async () => {
    const image = testImage(30, 20, 3, f32, 1);
    const desc: ModelDescription = { kind: 'layer', className: 'restorekit>InvertForTest', config: { name: 'invert', gain: 2 }, stateDict: {}, channels: 3 };
    const got = await restore(desc, image, { ...tiles, workers: 2, workerUrl, imports: [blockModule] });
    expect(
      maxAbsDiff(
        got.data,
        Float32Array.from(image.data, (v) => Math.fround(2 * Math.fround(1 - v))),
      ),
    ).toBeLessThanOrEqual(1e-6);
    await rejectsWith(
      restore(desc, image, { ...tiles, workers: 1, workerUrl }),
      RegistryError,
      /'restorekit>InvertForTest' is not registered in this thread: import the package that defines it first/,
    );
  });

  it('abort while workers run: AbortError, no tensor left on this thread, workers stopped', async () => {
    const net = convNet();
    const image = testImage(96, 64, 3, u8, 255);
    const ctrl = new AbortController();
    const before = tf.memory().numTensors;
    await rejectsWith(
      restore(net, image, { ...tiles, workers: 2, workerUrl, signal: ctrl.signal, onProgress: (p) => void (p.index === 2 && ctrl.abort()) }),
      AbortError,
      /aborted/,
    );
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });

  it('errors are typed, from this thread and from the workers', async () => {
    const image = testImage(20, 20, 3, u8, 255);
    const net = convNet();
    await rejectsWith(
      restore((x: tf.Tensor4D) => x, image, { workers: 2, workerUrl }),
      ConfigError,
      /a plain function cannot be sent to another thread/,
    );
    await rejectsWith(restore(net, image, { workers: 'two' as never, workerUrl }), ConfigError, /option 'workers' must be a positive integer or 'auto'/);
    await rejectsWith(restore(net, image, { worker: 2 } as never), ConfigError, /unknown option 'worker' \(did you mean 'workers'\?\)/);
    await rejectsWith(restore(net, image, { workers: 1, workerUrl: join(work, 'missing.mjs') }), BackendError, /worker script .*missing\.mjs does not exist/);
    // Raised in a worker while it rebuilds the model: a class this thread knows but the worker was not told to import.
    const desc = await describeModel(net);
    await rejectsWith(
      restore({ ...desc, className: 'restorekit>NotABlock' } as ModelDescription, image, { workers: 1, workerUrl }),
      RegistryError,
      /class 'restorekit>NotABlock' is not registered in this thread/,
    );
    // Raised in a worker while running a tile: the model's output does not fit (a gray model on the replicated RGB tiles).
    const gray = convNet(1);
    await rejectsWith(restore(gray, image, { ...tiles, workers: 1, workerUrl, modelChannels: 1 }), ConfigError, /gray models take gray images only/);
    await rejectsWith(restore(gray, image, { ...tiles, workers: 1, workerUrl }), ShapeError, /must have 1 channels/);
    gray.dispose();
    net.dispose();
  });
});
