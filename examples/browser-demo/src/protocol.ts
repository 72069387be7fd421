/** Messages between the page and the worker (structured-cloned). */
export type Backend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type ModelChoice = 'denoiser' | 'compact:default' | 'compact:tiny' | 'restormer:tiny' | 'drcnet:tiny';

/** The models the demo offers, when @restorekit/models registers their family ('denoiser' is this demo's own). */
export const MODELS: { id: ModelChoice; label: string }[] = [
  { id: 'compact:default', label: 'compact:default — restorekit’s shipped colour denoiser' },
  { id: 'denoiser', label: 'denoiser — tiny CNN trained by examples/train-denoiser (BSD400, σ 25), per channel' },
  { id: 'restormer:tiny', label: 'restormer:tiny' },
  { id: 'drcnet:tiny', label: 'drcnet:tiny' },
];

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The pthread workers tfjs-backend-wasm 4.22 creates up front (PTHREAD_POOL_SIZE): its thread pool never exceeds them. */
export const MAX_WASM_THREADS = 8;

/** Which tfjs-backend-wasm binary runs (tfjs picks it: threaded-simd needs SIMD and SharedArrayBuffer). */
export type WasmBuild = 'threaded-simd' | 'simd' | 'plain';

/** What the worker learnt when the wasm backend started. */
export interface WasmInfo {
  build: WasmBuild;
  /** `getThreadsCount()` of @tensorflow/tfjs-backend-wasm: the threads XNNPACK's pool runs on (1 = no threads). */
  threads: number;
  /** The thread count the page asked for, or 'auto' (tfjs's own choice). */
  requested: number | 'auto';
}

export type ToWorker =
  /**
   * First message to a new worker. `wasmThreads`: the wasm backend's thread count ('auto': tfjs's default). It is
   * fixed when the wasm backend starts, so the page starts a new worker to change it.
   */
  | { type: 'hello'; wasmThreads: number | 'auto' }
  | { type: 'cancel' }
  | {
      type: 'run' /** The page's base URL (public/ files are fetched relative to it). */;
      base: string;
      image: RgbImage;
      model: ModelChoice;
      backend: Backend;
      sigma: number;
      seed: number;
      tileSize: number;
    };

export type FromWorker =
  | {
      type: 'models';
      models: { id: ModelChoice; label: string; trained: boolean }[];
      /** `self.crossOriginIsolated` in the worker: SharedArrayBuffer, hence wasm threads, are available. */
      crossOriginIsolated: boolean;
      /** `navigator.hardwareConcurrency` in the worker (before any override for an explicit thread count). */
      hardwareConcurrency: number;
    }
  | { type: 'status'; text: string }
  | { type: 'noisy'; image: RgbImage }
  | { type: 'progress'; fraction: number; index: number; total: number }
  | {
      type: 'done';
      image: RgbImage;
      backend: string;
      psnrNoisy: number;
      psnrRestored: number;
      tiles: number;
      /** Set when the run was on wasm. */
      wasm: WasmInfo | null;
      timings: { backendMs: number; modelMs: number; restoreMs: number; totalMs: number };
    }
  | { type: 'cancelled' }
  | { type: 'error'; message: string };
