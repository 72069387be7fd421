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
