/**
 * The shared 4-backend configuration (node-cpu, node-wasm, webgl, webgpu) with the benchmark files
 * instead of the unit tests: only `src/**\/*.bench.test.ts`, one file at a time, no parallel
 * projects (timings must not compete with each other).
 *
 * Selection and limits come from the environment and reach the browser projects through `provide`:
 *   BENCH_MODELS=restormer,anyir   models of models.bench (default: all)
 *   BENCH_SIZES=256,512            input sizes of models.bench (default: 64,256,512)
 *   BENCH_CAP_S=1200               longest single forward / round trip to attempt, seconds (default: per backend)
 *   BENCH_NOTE='…'                 a remark stored with every entry of this run (e.g. what else the machine ran)
 */
import { restorekitTestConfig } from '../vitest.shared';

const config = restorekitTestConfig(import.meta.dirname, { testTimeout: 14_400_000 }) as unknown as {
  test: { projects: { test: { include: string[]; exclude: string[]; provide: Record<string, unknown> } }[]; [k: string]: unknown };
};
const benchOptions = JSON.stringify({
  models: process.env.BENCH_MODELS ? process.env.BENCH_MODELS.split(',') : null,
  sizes: process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(',').map(Number) : null,
  capS: process.env.BENCH_CAP_S ? Number(process.env.BENCH_CAP_S) : null,
  note: process.env.BENCH_NOTE || null,
});
for (const p of config.test.projects) {
  p.test.include = ['src/**/*.bench.test.ts'];
  p.test.exclude = ['**/node_modules/**', '**/dist/**'];
  p.test.provide = { ...p.test.provide, benchOptions };
}
config.test.fileParallelism = false;
config.test.maxWorkers = 1;
export default config;
