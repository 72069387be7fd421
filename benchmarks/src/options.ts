/** Benchmark selection and limits from the environment (see vitest.config.ts), in Node and in the browser. */
import { inject } from 'vitest';

export interface BenchOptions {
  models: string[] | null;
  sizes: number[] | null;
  capS: number | null;
  /** A remark stored with every entry of the run (BENCH_NOTE). */
  note: string | null;
}

export function benchOptions(): BenchOptions {
  // 'benchOptions' is provided by benchmarks/vitest.config.ts (not part of the shared ProvidedContext type)
  const raw = (inject as unknown as (k: string) => string | undefined)('benchOptions');
  return raw ? (JSON.parse(raw) as BenchOptions) : { models: null, sizes: null, capS: null, note: null };
}

/** Every backend a results file can come from; 'tensorflow' (tfjs-node) only where the user installed it. */
export const BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'] as const;

/** What the reports say while no tensorflow (tfjs-node) results exist. */
export const TFJS_NODE_ABSENT =
  'tensorflow (tfjs-node): not measured in this run. tfjs-node is never a dependency; `bash scripts/tfjs-node.sh` builds it from local parts into ' +
  '.tfjs-node/ (its own install script downloads a binary these machines cannot reach), then ' +
  '`pnpm --filter @restorekit/benchmarks bench:tensorflow` adds its rows.';
