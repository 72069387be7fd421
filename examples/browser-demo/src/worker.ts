/// <reference lib="webworker" />
/**
 * The demo's Web Worker: all of TensorFlow.js runs here, so the page stays responsive. Messages in: `run` (image,
 * model, backend, noise) and `cancel`; messages out: `status`, `progress`, `done`, `cancelled`, `error`.
 * `hello` (the first message) sets the wasm backend's thread count; the worker answers with the models and whether
 * the page is cross-origin isolated (only then can tfjs run its threaded wasm build).
 * Cancel crosses the worker boundary as a message: the worker aborts the `AbortController` whose signal `restore` got.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { Sequential, loadTorchStateDict, parseSafetensors, useBackend, type Block } from '@restorekit/core';
import { createModel, listModels } from '@restorekit/models';
import { AbortError, restore, type RestoreModel } from '@restorekit/runtime';
import { Rng, gaussianNoise } from '@restorekit/train';
import { psnr } from '@restorekit/metrics';
import { MAX_WASM_THREADS, MODELS, type FromWorker, type ModelChoice, type ToWorker, type WasmInfo } from './protocol';

// The .wasm binaries are emitted by Vite next to the bundle (no CDN): tfjs looks them up by file name.
setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });

// Shipped weights of @restorekit/models (e.g. compact-default.safetensors), when that package has any.
const shipped = import.meta.glob('../../../packages/models/weights/*.safetensors', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const shippedUrl = (file: string) => Object.entries(shipped).find(([k]) => k.endsWith(`/${file}`))?.[1];

// tfjs picks the threaded-simd binary when WASM_HAS_MULTITHREAD_SUPPORT holds, i.e. a SharedArrayBuffer can be posted:
// only in a cross-origin isolated context (the page served with COOP/COEP; this worker inherits it). Its pthreads are
// classic workers that tfjs makes from Blobs (no file to locate), so they work from this module worker too.
const hardwareConcurrency = navigator.hardwareConcurrency;
let wasmRequested: number | 'auto' = 'auto';
let wasmInfo: WasmInfo | null = null;

/**
 * The wasm backend's thread count, before it starts ('auto': tfjs's own choice). tfjs 4.22 sizes its pool as
 * min(asked, 8, ⌊navigator.hardwareConcurrency / 2⌋) (backend.cc assumes two hyper-threads per core), so on a
 * 2-core machine `setThreadsCount(2)` alone still gives 1 thread. An explicit count is honoured by letting the wasm
 * module, which reads `navigator.hardwareConcurrency` once when it is instantiated, see at least 2 × that many
 * cores: in this worker only; the page's navigator is untouched.
 */
function configureWasm(threads: number | 'auto') {
  if (threads !== 'auto' && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_WASM_THREADS))
    throw new RangeError(`wasm threads must be 'auto' or an integer from 1 to ${MAX_WASM_THREADS} (tfjs's pthread pool), got ${threads}`);
  wasmRequested = threads;
  if (threads === 'auto') return;
  setThreadsCount(threads);
  if (hardwareConcurrency < 2 * threads) Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
}

/** Which binary tfjs started (its own rule, from the same cached flags) and how many threads its pool has. */
async function describeWasm(): Promise<WasmInfo> {
  const [simd, threads] = await Promise.all([tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]);
  return { build: simd && threads ? 'threaded-simd' : simd ? 'simd' : 'plain', threads: getThreadsCount(), requested: wasmRequested };
}

const post = (m: FromWorker) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);
let controller: AbortController | null = null;
const cache = new Map<string, { model: RestoreModel; dispose: () => void }>();

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The model of a choice, on the current backend: `{ model, trained }` (random weights are said so in the UI). */
async function build(choice: ModelChoice, base: string): Promise<{ model: RestoreModel; dispose: () => void }> {
  if (choice === 'denoiser') {
    // examples/train-denoiser's tiny BSD400 (grayscale) CNN, trained on σ = 25: run on each colour channel as a gray image.
    const meta = await (await fetch(new URL('weights/denoiser.json', base))).json();
    const body = new Sequential(meta.config);
    body.apply(tf.zeros([1, 8, 8, 1]));
    await loadTorchStateDict(body, parseSafetensors(await fetchBytes(new URL('weights/denoiser.safetensors', base).href)).tensors);
    const model = (x: tf.Tensor4D) =>
      tf.tidy(() => {
        const planes = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [C, H, W, 1]
        const y = tf.add(planes, body.apply(planes) as tf.Tensor4D);
        return tf.transpose(y, [3, 1, 2, 0]) as tf.Tensor4D;
      });
    return { model, dispose: () => body.dispose() };
  }
  const [family, preset] = choice.split(':') as [string, string];
  const weightsUrl = shippedUrl(`${family}-${preset}.safetensors`);
  const net = (await createModel(family, { preset, ...(weightsUrl ? { weights: await fetchBytes(weightsUrl) } : {}) })) as Block;
  return { model: net as unknown as RestoreModel, dispose: () => net.dispose() };
}

/** Which model choices exist in this build and whether their weights are trained. */
function available() {
  const families = new Set(listModels().map((m) => m.name));
  return MODELS.filter((m) => m.id === 'denoiser' || families.has(m.id.split(':')[0]!)).map((m) => {
    const [family, preset] = m.id.split(':');
    const trained = m.id === 'denoiser' || Boolean(shippedUrl(`${family}-${preset}.safetensors`));
    return { ...m, trained };
  });
}

async function run(msg: Extract<ToWorker, { type: 'run' }>) {
  const t0 = performance.now();
  // One controller per run, from the start: a cancel during backend start or model load counts too.
  controller = new AbortController();
  const { signal } = controller;
  const checkCancelled = () => {
    if (signal.aborted) throw new AbortError('cancelled before restoring');
  };
  if (tf.getBackend() !== msg.backend) {
    post({ type: 'status', text: `starting ${msg.backend}…` });
    await useBackend(msg.backend);
  }
  if (msg.backend === 'wasm' && !wasmInfo) wasmInfo = await describeWasm();
  const tBackend = performance.now();
  const key = `${msg.backend}/${msg.model}`;
  let entry = cache.get(key);
  if (!entry) {
    post({ type: 'status', text: `loading ${msg.model}…` });
    entry = await build(msg.model, msg.base);
    cache.set(key, entry);
  }
  const tModel = performance.now();
  checkCancelled();

  // Degrade: seeded Gaussian noise (σ on the 0–255 scale), quantised to 8 bits as a real noisy photo would be.
  const { width, height } = msg.image;
  const clean = msg.image.data; // RGB, 8-bit
  const host = { data: Float32Array.from(clean, (v) => v / 255), shape: [height, width, 3] as [number, number, number] };
  const noisyF = gaussianNoise({ sigma: msg.sigma / 255, clip: true })(host, new Rng(msg.seed)).image.data;
  const noisy = Uint8Array.from(noisyF, (v) => Math.round(v * 255));
  post({ type: 'noisy', image: { data: noisy, width, height } });

  const tiles = { done: 0, total: 0 };
  post({ type: 'status', text: `restoring on ${tf.getBackend()}…` });
  const t1 = performance.now();
  const out = await restore(
    entry.model,
    { data: noisy, width, height, channels: 3 },
    {
      tileSize: msg.tileSize,
      overlap: Math.min(16, msg.tileSize / 4),
      signal,
      outputIndex: msg.model.startsWith('drcnet') ? -1 : 0,
      onProgress: async ({ index, total, fraction }) => {
        tiles.done = index + 1;
        tiles.total = total;
        post({ type: 'progress', fraction, index, total });
        // Let the worker's event loop run between tiles, so a cancel message is seen before the next tile.
        await new Promise((r) => setTimeout(r, 0));
      },
    },
  );
  const t2 = performance.now();
  controller = null;
  const shape = [height, width, 3];
  const restored = out.data as Uint8Array;
  const [psnrNoisy, psnrRestored] = await Promise.all([
    psnr({ data: noisy, shape }, { data: clean, shape }, { dataRange: 255 }),
    psnr({ data: restored, shape }, { data: clean, shape }, { dataRange: 255 }),
  ]);
  post({
    type: 'done',
    image: { data: restored, width, height },
    backend: tf.getBackend(),
    psnrNoisy: psnrNoisy as number,
    psnrRestored: psnrRestored as number,
    tiles: tiles.total,
    wasm: msg.backend === 'wasm' ? wasmInfo : null,
    timings: { backendMs: tBackend - t0, modelMs: tModel - tBackend, restoreMs: t2 - t1, totalMs: t2 - t0 },
  });
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === 'cancel') {
    controller?.abort();
    return;
  }
  if (msg.type === 'hello') {
    let bad: Error | null = null;
    try {
      configureWasm(msg.wasmThreads);
    } catch (err) {
      bad = err as Error;
    }
    post({ type: 'models', models: available(), crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency });
    if (bad) post({ type: 'error', message: `${bad.name}: ${bad.message}` });
    return;
  }
  try {
    await run(msg);
  } catch (err) {
    controller = null;
    const e2 = err as Error;
    if (err instanceof AbortError)
      post({ type: 'cancelled' }); // by brand: class names do not survive minification
    else post({ type: 'error', message: `${e2?.name ?? 'Error'}: ${e2?.message ?? String(err)}` });
  }
};
