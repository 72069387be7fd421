/**
 * The shared 4-backend configuration (node-cpu, node-wasm, webgl, webgpu) with the benchmark files
 * instead of the unit tests: only `src/**\/*.bench.test.ts`, one file at a time, no parallel
 * projects (timings must not compete with each other).
 */
import { restorekitTestConfig } from '../vitest.shared';

const config = restorekitTestConfig(import.meta.dirname, { testTimeout: 900_000 }) as {
  test: { projects: { test: { include: string[]; exclude: string[] } }[]; [k: string]: unknown };
};
for (const p of config.test.projects) {
  p.test.include = ['src/**/*.bench.test.ts'];
  p.test.exclude = ['**/node_modules/**', '**/dist/**'];
}
config.test.fileParallelism = false;
config.test.maxWorkers = 1;
export default config;
