/** Benchmark selection and limits from the environment (see vitest.config.ts), in Node and in the browser. */
import { inject } from 'vitest';

export interface BenchOptions {
  /** Matrix rows of models.bench: family names ('restormer'), 'family:preset', or 'anyir-fft'; 'none' = reports only. */
  models: string[] | null;
  /** Input sides of models.bench (default 64,128,256; up to 1024 on a machine that has the time). */
  sizes: number[] | null;
  /** Longest single forward to attempt, seconds (default per backend). */
  capS: number | null;
  /** A remark stored with every entry of the run (BENCH_NOTE). */
  note: string | null;
  /** Image sides of runtime.bench (default 1024,2048,4096,8192). */
  runtimeSizes: number[] | null;
  /** Tile sides of runtime.bench (default 256,512). */
  tiles: number[] | null;
  /** Image side of the workers: 1 vs 2 measurement (default 1024; 0 = skip). */
  workersSize: number | null;
  /** Reference JSON (PyTorch / ONNX Runtime times) the reports compare with, relative to benchmarks/. */
  reference: string | null;
}

export function benchOptions(): BenchOptions {
  // 'benchOptions' is provided by benchmarks/vitest.config.ts (not part of the shared ProvidedContext type)
  const raw = (inject as unknown as (k: string) => string | undefined)('benchOptions');
  const none: BenchOptions = { models: null, sizes: null, capS: null, note: null, runtimeSizes: null, tiles: null, workersSize: null, reference: null };
  return raw ? { ...none, ...(JSON.parse(raw) as Partial<BenchOptions>) } : none;
}

/** Every backend a results file can come from; 'tensorflow' (tfjs-node) only where it is installed. */
export const BACKENDS = ['cpu', 'wasm', 'tensorflow', 'webgl', 'webgpu'] as const;

/** What the reports say while no tensorflow (tfjs-node) results exist. */
export const TFJS_NODE_ABSENT =
  'tensorflow (tfjs-node): not measured in this run. tfjs-node is never a dependency; `bash scripts/tfjs-node.sh` builds it from local parts into ' +
  '.tfjs-node/ (its own install script downloads a binary these machines cannot reach), then ' +
  '`pnpm --filter @restorekit/benchmarks bench:tensorflow` adds its rows.';
