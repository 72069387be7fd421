/**
 * What every benchmark measures the same way: FLOPs counted from the kernels a forward runs, peak memory (tf.profile's
 * peakBytes and, in Node, the process RSS sampled at every kernel call), timing statistics after a warm-up, the
 * backend's own peak throughput (a large matMul and a large 3×3 conv, the shapes of ../shared/anchors), and a
 * description of the machine and the device.
 */
import * as tf from '@tensorflow/tfjs-core';
import { countFlops, type FlopCount as CoreFlopCount } from '@restorekit/core';
import { isBrowser } from './results-io.js';

/** @restorekit/core's FLOP count (the one definition, shared with `restorekit bench`) plus the process RSS. */
export interface FlopCount extends CoreFlopCount {
  /** Highest process RSS seen at a kernel call (Node only), bytes. */
  rssPeak: number | null;
  /** Process RSS before the call, bytes (Node only). */
  rssBefore: number | null;
  /** Highest `tf.memory().numBytes` seen at a kernel call: the live tensors' bytes, the call's own and those before it. */
  tensorBytesPeak: number;
}

function rss(): number | null {
  if (isBrowser) return null;
  const mu = (globalThis as { process?: { memoryUsage?: { rss?: () => number } } }).process?.memoryUsage;
  return mu?.rss ? mu.rss() : null;
}

/**
 * Runs `fn` with every kernel call counted by @restorekit/core's `countFlops` (convolutions, their gradients and
 * matrix products from the kernels' shapes; products called by @restorekit/fft's code apart; norms, element-wise ops
 * and FFTs not counted — the anchors' TorchDispatchMode definition), and the process RSS sampled at each call.
 */
export async function countKernels<T>(fn: () => Promise<T>): Promise<{ result: T; count: FlopCount }> {
  const before = rss();
  let peak = before;
  let tensorBytesPeak = tf.memory().numBytes;
  const { result, count } = await countFlops(fn, () => {
    const r = rss();
    if (r !== null && (peak === null || r > peak)) peak = r;
    const b = tf.memory().numBytes;
    if (b > tensorBytesPeak) tensorBytesPeak = b;
  });
  return { result, count: { ...count, rssPeak: peak, rssBefore: before, tensorBytesPeak } };
}

export interface TimingStats {
  /** Median of the timed runs, ms. */
  ms: number;
  minMs: number;
  maxMs: number;
  /** (max − min) / median of the timed runs. */
  spread: number;
  runs: number;
  /** Every timed run, ms. */
  times: number[];
}

export function stats(times: number[]): TimingStats {
  const s = [...times].sort((a, b) => a - b);
  const n = s.length;
  const ms = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  return { ms, minMs: s[0]!, maxMs: s[n - 1]!, spread: (s[n - 1]! - s[0]!) / ms, runs: n, times: times.map((t) => Math.round(t * 100) / 100) };
}

/**
 * Timed runs after a warm-up that took `warmMs`: at least `minRuns` (default 3), more while they fit in `budgetMs`
 * (at most `maxRuns`); a warm-up over `longMs` gets 2 runs only (still a median and a spread).
 */
export async function timeRuns(
  run: () => Promise<void>,
  warmMs: number,
  { minRuns = 3, maxRuns = 7, budgetMs = 8000, longMs = 30_000 } = {},
): Promise<TimingStats> {
  const want = warmMs > longMs ? 2 : Math.max(minRuns, Math.min(maxRuns, Math.floor(budgetMs / Math.max(warmMs, 1))));
  const times: number[] = [];
  for (let i = 0; i < want; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return stats(times);
}

export interface Peak {
  /** What was run. */
  op: string;
  gflop: number;
  /** GFLOP/s of the median run, and of the best. */
  gflops: number;
  gflopsBest: number;
  runs: number;
}
export interface Peaks {
  matmul: Peak;
  conv3x3: Peak;
}

/** Median GFLOP/s of one op after a warm-up: runs until ≥ 3 runs and ≥ 2 s, at most 10 runs or 20 s. */
async function peakOf(op: string, gflop: number, make: () => tf.Tensor[], f: (...t: tf.Tensor[]) => tf.Tensor): Promise<Peak> {
  const inputs = make();
  const run = async () => {
    const y = f(...inputs);
    await y.data();
    y.dispose();
  };
  try {
    await run();
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < 10 && (times.length < 3 || performance.now() - t0 < 2000) && (times.length < 1 || performance.now() - t0 < 20_000)) {
      const t = performance.now();
      await run();
      times.push(performance.now() - t);
    }
    const st = stats(times);
    return { op, gflop, gflops: gflop / (st.ms / 1000), gflopsBest: gflop / (st.minMs / 1000), runs: st.runs };
  } finally {
    tf.dispose(inputs);
  }
}

/** The current backend's peak: a 1024×1024 matMul and a 3×3 conv [1,128,128,64] → 64 ('same'), as in ../shared/anchors. */
export async function measurePeaks(): Promise<Peaks> {
  const matmul = await peakOf(
    'matMul 1024×1024·1024×1024',
    (2 * 1024 ** 3) / 1e9,
    () => [tf.randomUniform([1024, 1024], 0, 1, 'float32', 1), tf.randomUniform([1024, 1024], 0, 1, 'float32', 2)],
    (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  );
  const conv3x3 = await peakOf(
    'conv2d 3×3 [1,128,128,64]→64',
    (2 * 128 * 128 * 64 * 64 * 9) / 1e9,
    () => [tf.randomUniform([1, 128, 128, 64], 0, 1, 'float32', 3), tf.randomUniform([3, 3, 64, 64], 0, 1, 'float32', 4)],
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
  );
  return { matmul, conv3x3 };
}

/** The device a backend runs on: the GPU renderer for webgl/webgpu (SwiftShader is software), else the CPU. */
export async function deviceOf(backend: string): Promise<{ device: string; software: boolean }> {
  if (backend === 'webgl') {
    try {
      const gl = document.createElement('canvas').getContext('webgl2') as WebGL2RenderingContext | null;
      const ext = gl?.getExtension('WEBGL_debug_renderer_info');
      const r = gl && ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : 'unknown WebGL renderer';
      return { device: r, software: /swiftshader|llvmpipe|software/i.test(r) };
    } catch {
      return { device: 'unknown WebGL renderer', software: false };
    }
  }
  if (backend === 'webgpu') {
    try {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
      const adapter = await gpu?.requestAdapter();
      const info = adapter?.info ?? {};
      const r = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown WebGPU adapter';
      return { device: r, software: /swiftshader|llvmpipe|software|cpu/i.test(r) };
    } catch {
      return { device: 'unknown WebGPU adapter', software: false };
    }
  }
  return { device: await cpuName(), software: false };
}

async function cpuName(): Promise<string> {
  if (isBrowser) return `${navigator.hardwareConcurrency} logical CPUs`;
  const os = await import('node:os');
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}`;
}

/** Machine and software, for the JSON and the Markdown header. */
export async function environment(backend: string): Promise<Record<string, unknown>> {
  const env: Record<string, unknown> = { backend, tfjs: tf.version_core, ...(await deviceOf(backend)) };
  if (isBrowser) return { ...env, userAgent: navigator.userAgent, cpus: navigator.hardwareConcurrency };
  const os = await import('node:os');
  const load = os.loadavg();
  return {
    ...env,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpus: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    commit: await commitOf(),
    loadavg: load.map((l) => Math.round(l * 100) / 100),
    ...(backend === 'tensorflow' ? await tensorflowDevice(env.device as string) : {}),
  };
}

/** The repository commit the packages were built from, '+dirty' when packages/ has uncommitted changes. */
async function commitOf(): Promise<string | null> {
  try {
    const { execSync } = await import('node:child_process');
    const head = execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execSync('git status --porcelain -- ../packages', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

/**
 * tfjs-node's package and version, and what libtensorflow's CPU engine ran with (oneDNN on or off and why, TF's
 * pooling allocator); with tfjs-node-gpu the device is the CUDA GPU libtensorflow picks.
 */
async function tensorflowDevice(cpu: string): Promise<Record<string, unknown>> {
  const tfjsNode = await tfjsNodeVersion();
  const { tensorflowCpuState } = await import('@restorekit/runtime/node');
  const s = tensorflowCpuState();
  const engine = { oneDNN: s.oneDNN, oneDNNWhy: s.why, bfcAllocator: s.bfcAllocator };
  return tfjsNode?.includes('-gpu') ? { tfjsNode, device: `CUDA GPU through ${tfjsNode} (host: ${cpu})`, ...engine } : { tfjsNode, ...engine };
}

async function tfjsNodeVersion(): Promise<string | null> {
  try {
    const { inject } = await import('vitest');
    const mod = (inject as unknown as (k: string) => string | undefined)('tfjsNode');
    if (!mod) return null;
    const fs = await import('node:fs');
    const url = await import('node:url');
    const path = await import('node:path');
    let dir = path.dirname(url.fileURLToPath(mod));
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const p = path.join(dir, 'package.json');
      if (fs.existsSync(p)) {
        const j = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (j.name?.startsWith('@tensorflow/tfjs-node')) return `${j.name}@${j.version}`;
      }
    }
  } catch {
    // not in a vitest run
  }
  return null;
}
