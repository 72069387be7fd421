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

export type ToWorker =
  | { type: 'hello' }
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
  | { type: 'models'; models: { id: ModelChoice; label: string; trained: boolean }[] }
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
      timings: { backendMs: number; modelMs: number; restoreMs: number; totalMs: number };
    }
  | { type: 'cancelled' }
  | { type: 'error'; message: string };
