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
  if ((globalThis as { __RESTOREKIT_TFJS_STANDIN__?: boolean }).__RESTOREKIT_TFJS_STANDIN__)
    throw new Error("benchmarks: 'tensorflow' is the cpu stand-in (test-setup/cpu-as-tensorflow.mjs), not tfjs-node; its figures would be the cpu backend's. Install @tensorflow/tfjs-node to benchmark it.");
  // 'benchOptions' is provided by benchmarks/vitest.config.ts (not part of the shared ProvidedContext type)
  const raw = (inject as unknown as (k: string) => string | undefined)('benchOptions');
  return raw ? (JSON.parse(raw) as BenchOptions) : { models: null, sizes: null, capS: null, note: null };
}

/** Every backend a results file can come from; 'tensorflow' (tfjs-node) only where the user installed it. */
export const BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'] as const;

/** What the reports say while no tensorflow (tfjs-node) results exist. */
export const TFJS_NODE_ABSENT =
  'tensorflow (tfjs-node): not measured here: tfjs-node is never a dependency, and its install script downloads a native TensorFlow binary from a host ' +
  'the development machine cannot reach. With it installed (`pnpm add -w -D @tensorflow/tfjs-node@4.22.0`, or -gpu; see vitest.shared.ts), ' +
  '`pnpm --filter @restorekit/benchmarks bench:tensorflow` adds its rows.';
