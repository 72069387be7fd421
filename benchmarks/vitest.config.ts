/**
 * The shared configuration (node-cpu, node-wasm, node-tensorflow where tfjs-node is installed, webgl, webgpu) with the
 * benchmark files instead of the unit tests: only `src/**\/*.bench.test.ts`, one file at a time, no parallel
 * projects (timings must not compete with each other). scripts/run.mjs runs the projects one after another.
 *
 * Selection and limits come from the environment and reach the browser projects through `provide`:
 *   BENCH_MODELS=restormer,anyir   rows of models.bench: families (their default preset), family:preset, anyir-identity;
 *                                  'none' regenerates the reports only (default: every family's default preset)
 *   BENCH_SIZES=64,128,256         input sides of models.bench (default: 64,128,256; up to 1024)
 *   BENCH_CAP_S=120                longest single forward to attempt, seconds (default: per backend)
 *   BENCH_NOTE='…'                 a remark stored with every entry of this run (e.g. what else the machine ran)
 *   BENCH_RUNTIME_SIZES=1024,2048  image sides of runtime.bench (default 1024,2048,4096,8192; 'none' skips it)
 *   BENCH_TILES=256,512            tile sides of runtime.bench (default 256,512)
 *   BENCH_WORKERS_SIZE=1024        image side of the workers 1 vs 2 measurement (0 skips it)
 *   BENCH_REFERENCE=reference/x.json  the PyTorch / ONNX Runtime reference the reports compare with (default: the newest shipped)
 *   BENCH_GPU=hardware             webgl/webgpu on the machine's GPU: Chromium without the SwiftShader flags
 */
import { playwright } from '@vitest/browser-playwright';
import { restorekitTestConfig, chromium } from '../vitest.shared';

type Project = { test: { name: string; include: string[]; exclude: string[]; provide: Record<string, unknown>; browser?: { provider: unknown } } };
const config = restorekitTestConfig(import.meta.dirname, { testTimeout: 14_400_000 }) as unknown as {
  test: { projects: Project[]; [k: string]: unknown };
};
const list = (v: string | undefined) =>
  v && v !== 'none'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : v === 'none'
      ? []
      : null;
const nums = (v: string | undefined) => list(v)?.map(Number) ?? null;
const benchOptions = JSON.stringify({
  models: list(process.env.BENCH_MODELS),
  sizes: nums(process.env.BENCH_SIZES),
  capS: process.env.BENCH_CAP_S ? Number(process.env.BENCH_CAP_S) : null,
  note: process.env.BENCH_NOTE || null,
  runtimeSizes: nums(process.env.BENCH_RUNTIME_SIZES),
  tiles: nums(process.env.BENCH_TILES),
  workersSize: process.env.BENCH_WORKERS_SIZE !== undefined ? Number(process.env.BENCH_WORKERS_SIZE) : null,
  reference: process.env.BENCH_REFERENCE || null,
});
// A real GPU: Chromium's own GPU stack (ANGLE's default, WebGPU on the native adapter) instead of SwiftShader.
const hardwareArgs = [
  '--no-sandbox',
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--ignore-gpu-blocklist',
  '--disable-gpu-watchdog',
  '--no-first-run',
];
for (const p of config.test.projects) {
  p.test.include = ['src/**/*.bench.test.ts'];
  p.test.exclude = ['**/node_modules/**', '**/dist/**'];
  p.test.provide = { ...p.test.provide, benchOptions };
  if (p.test.browser && process.env.BENCH_GPU === 'hardware')
    p.test.browser.provider = playwright({ launchOptions: { executablePath: chromium, args: hardwareArgs } });
}
config.test.fileParallelism = false;
config.test.maxWorkers = 1;
export default config;
