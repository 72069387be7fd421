/**
 * `restorekit bench [--models ...] [--backends ...] [--sizes ...] [--runs n] [--warmup n] [--json] [-o file]`: forward
 * latency, throughput, FLOPs and peak tensor memory of models × Node backends × input sizes, the quick user-facing
 * version of the repository's benchmark suite (benchmarks/).
 *
 * The backends run in this process one after another: for each, the backend is started (tf.setBackend), each model is
 * built on it (random weights: speed does not depend on the values), its sizes are measured, and it is disposed before
 * the next model, so nothing crosses from one backend to the next and no tensor outlives its cell. The backend that
 * was active before is active again at the end.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { countParams, type Block } from '@restorekit/core';
import { createModel, getModelSpec } from '@restorekit/models';
import { findTfjsNode } from '@restorekit/runtime/node';
import { BACKENDS, NODE_BACKENDS, selectBackend, type ChosenBackend, type NodeBackend } from '../backend.js';
import { countedForward, forward, timingStats } from '../bench-measure.js';
import { abs, seconds, type Context } from '../context.js';
import { EXIT_FAILURE, EXIT_OK, FailureError, UsageError, reason } from '../errors.js';
import { writeFileWhole } from '../files.js';
import { defaultModel, modelInChannels, parseModel, type ModelChoice } from '../models.js';

export interface BenchSize {
  height: number;
  width: number;
}

export interface BenchFlags {
  models?: string[];
  backends?: string[];
  sizes?: BenchSize[];
  runs: number;
  warmup: number;
  json?: boolean;
  output?: string;
}

export const DEFAULT_BENCH_SIZES: readonly BenchSize[] = [
  { height: 128, width: 128 },
  { height: 256, width: 256 },
];
export const DEFAULT_BENCH_RUNS = 5;
export const DEFAULT_BENCH_WARMUP = 1;
/** The largest side --sizes accepts. */
export const MAX_BENCH_SIDE = 16384;

/** One model × backend × size. Absent numbers: the cell failed (`error` says why). */
export interface BenchCell {
  /** `family:preset`. */
  model: string;
  family: string;
  preset: string;
  backend: NodeBackend;
  height: number;
  width: number;
  params?: number;
  /** Median of the timed forwards, ms; min and max of them; every one. */
  ms?: number;
  minMs?: number;
  maxMs?: number;
  times?: number[];
  /** Input megapixels per second at the median. */
  mps?: number;
  /**
   * GFLOP of one forward: the fewest counted on any backend of this run for this model and size (a backend may run a
   * product in a form that spends more multiply-adds, e.g. wasm's one block-diagonal product over attention heads).
   */
  gflop?: number;
  /** `gflop` per second at the median. */
  gflops?: number;
  /** GFLOP the kernels of this backend ran (convolutions and matrix products, as counted; see bench-measure.ts). */
  kernelGflop?: number;
  /** GFLOP of @restorekit/fft's DFT-as-matrix-product kernels, not in `gflop`. */
  fftGflop?: number;
  /** Kernels one forward ran. */
  kernels?: number;
  /** Highest tf.memory().numBytes during a forward (weights, input and everything else alive included). */
  peakBytes?: number;
  /**
   * tf.memory().numBytes before that forward: the weights, the input and what the model's blocks derive from their
   * weights and keep between inference calls (core's DerivedWeights), built by the warm-up.
   */
  baseBytes?: number;
  error?: string;
}

export interface BackendInfo {
  ok: boolean;
  error?: string;
  /** wasm: SIMD and multithreading support, and the threads it runs. */
  simd?: boolean;
  multithread?: boolean;
  threads?: number;
  /** tensorflow: the package (and version) that registered it. */
  package?: string;
  /** tensorflow: whether libtensorflow runs oneDNN's kernels (null: it decides, not told here), and why (TF_ENABLE_ONEDNN_OPTS or the CPU). */
  oneDNN?: boolean | null;
  oneDNNWhy?: string;
  /** tensorflow: whether CPU tensors come from TF's pooling allocator (TF_CPU_ALLOCATOR_USE_BFC). */
  bfcAllocator?: boolean;
}

export interface BenchReport {
  command: 'restorekit bench';
  date: string;
  environment: {
    node: string;
    platform: string;
    cpu: { model: string; count: number };
    memGiB: number;
    /** 1, 5 and 15-minute load averages when the run started. */
    loadavg: number[];
    tfjs: string;
    backends: Partial<Record<NodeBackend, BackendInfo>>;
  };
  options: { models: string[]; backends: NodeBackend[]; sizes: BenchSize[]; runs: number; warmup: number; batch: 1; weights: 'random' };
  cells: BenchCell[];
  /** Cells with an error. */
  failed: number;
  /** Wall time of the whole run, s. */
  seconds: number;
}

/** `--models a,b` / `--backends a,b`: a comma-separated list of names (empty items dropped, at least one). */
export function parseList(text: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new InvalidArgumentError('expected a comma-separated list of names.');
  return items;
}

/** `--sizes 64,128,256x192`: input sides, each `<side>` (square) or `<height>x<width>`, from 1 to 16384. */
export function parseSizes(text: string): BenchSize[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new InvalidArgumentError('expected sizes such as 128,256 or 256x192 (height x width).');
  const sizes: BenchSize[] = [];
  for (const item of items) {
    const m = /^(\d+)(?:\s*[x×]\s*(\d+))?$/i.exec(item);
    const [h, w] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [Number.NaN, Number.NaN];
    if (!(h >= 1 && h <= MAX_BENCH_SIDE && w >= 1 && w <= MAX_BENCH_SIDE))
      throw new InvalidArgumentError(`'${item}' is not a size: give <side> or <height>x<width>, integers from 1 to ${MAX_BENCH_SIDE}.`);
    if (!sizes.some((s) => s.height === h && s.width === w)) sizes.push({ height: h, width: w });
  }
  return sizes;
}

/** `--runs <n>`: a positive integer. */
export function parseRuns(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError('the number of timed runs is a positive integer.');
  return v;
}

/** `--warmup <n>`: an integer ≥ 0. */
export function parseWarmup(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v)) throw new InvalidArgumentError('the number of warm-up runs is an integer ≥ 0.');
  return v;
}

const BROWSER_ONLY = BACKENDS.filter((b) => !(NODE_BACKENDS as readonly string[]).includes(b));

/**
 * The backends to measure: the requested ones (usage errors for unknown names and for the browser-only webgl and
 * webgpu), or every Node backend there is here — cpu, wasm, and tensorflow when @tensorflow/tfjs-node(-gpu)
 * resolves from `cwd`.
 */
export function resolveBenchBackends(requested: string[] | undefined, cwd: string): NodeBackend[] {
  if (!requested) return ['cpu', 'wasm', ...(findTfjsNode(cwd) ? (['tensorflow'] as const) : [])];
  const out: NodeBackend[] = [];
  for (const name of requested) {
    if ((BROWSER_ONLY as readonly string[]).includes(name))
      throw new UsageError(
        `backend '${name}' runs in browsers only, and restorekit bench runs in Node (backends: ${NODE_BACKENDS.join(', ')}). To measure ${BROWSER_ONLY.join(' and ')}, run the repository's browser benchmarks in headless Chromium: pnpm --filter @restorekit/benchmarks bench:browser (see benchmarks/README.md)`,
      );
    if (!(NODE_BACKENDS as readonly string[]).includes(name))
      throw new UsageError(`unknown backend '${name}' (backends: ${NODE_BACKENDS.join(', ')}; ${BROWSER_ONLY.join(' and ')} run in browsers only)`);
    if (!out.includes(name as NodeBackend)) out.push(name as NodeBackend);
  }
  return out;
}

/** The models to measure: the requested `family[:preset]`s (usage errors listing the valid ones), or the CLI's default model. */
export function resolveBenchModels(requested: string[] | undefined): ModelChoice[] {
  const choices = requested ? requested.map(parseModel) : [defaultModel()];
  return choices.filter((c, i) => choices.findIndex((d) => d.id === c.id) === i);
}

/** The package.json (name and version) of the tfjs-node package whose entry is `file`. */
function tfjsNodePackage(file: string): string | undefined {
  let dir = dirname(file);
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const j = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (j.name?.startsWith('@tensorflow/tfjs-node')) return `${j.name}@${j.version}`;
    } catch {
      // no package.json at this level
    }
  }
  return undefined;
}

/** What the active backend says about itself (wasm's SIMD and threads, tfjs-node's package). */
async function describeBackend(name: NodeBackend, chosen: ChosenBackend): Promise<BackendInfo> {
  if (name === 'wasm') {
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount?: () => number };
    return {
      ok: true,
      simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
      multithread: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
      ...(wasm.getThreadsCount ? { threads: wasm.getThreadsCount() } : {}),
    };
  }
  if (name === 'tensorflow') {
    const pkg = chosen.tfjsNode ? tfjsNodePackage(chosen.tfjsNode) : undefined;
    const cpu = chosen.tensorflowCpu;
    return { ok: true, ...(pkg ? { package: pkg } : {}), ...(cpu ? { oneDNN: cpu.oneDNN, oneDNNWhy: cpu.why, bfcAllocator: cpu.bfcAllocator } : {}) };
  }
  return { ok: true };
}

/** One cell on the active backend: warm-ups, timed forwards, then one counted forward (FLOPs, peak memory). */
async function measureCell(cell: BenchCell, model: Block, channels: number, range: [number, number], runs: number, warmup: number): Promise<void> {
  const x = tf.randomUniform([1, cell.height, cell.width, channels], range[0], range[1], 'float32', 1);
  try {
    for (let i = 0; i < warmup; i++) await forward(model, x);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await forward(model, x);
      times.push(performance.now() - t);
    }
    const st = timingStats(times);
    // Counted after the timed runs: tf.profile and the kernel counter slow a forward down (and with --warmup 0 the
    // first timed run is then the true first forward).
    const counted = await countedForward(model, x);
    cell.params = countParams(model as never);
    Object.assign(cell, { ms: st.ms, minMs: st.minMs, maxMs: st.maxMs, times: st.times.map((t) => Math.round(t * 1000) / 1000) });
    cell.mps = (cell.height * cell.width) / 1e6 / (st.ms / 1000);
    cell.kernelGflop = counted.count.flops / 1e9;
    cell.fftGflop = counted.count.fftFlops / 1e9;
    cell.kernels = counted.count.kernels;
    cell.peakBytes = counted.peakBytes;
    cell.baseBytes = counted.baseBytes;
  } finally {
    x.dispose();
  }
}

const sizeText = (s: { height: number; width: number }) => `${s.height}×${s.width}`;

/** Fills `gflop` (the fewest counted over the backends, per model and size) and `gflops` of every measured cell. */
export function settleFlops(cells: BenchCell[]): void {
  const fewest = new Map<string, number>();
  const key = (c: BenchCell) => `${c.model}@${c.height}x${c.width}`;
  for (const c of cells) if (c.kernelGflop !== undefined) fewest.set(key(c), Math.min(fewest.get(key(c)) ?? Number.POSITIVE_INFINITY, c.kernelGflop));
  for (const c of cells)
    if (c.ms !== undefined && fewest.has(key(c))) {
      c.gflop = fewest.get(key(c))!;
      c.gflops = c.gflop / (c.ms / 1000);
    }
}

/** A number with about three significant digits, never in exponent form for the values bench prints. */
function sig(x: number): string {
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  if (x === 0) return '0';
  return x.toFixed(Math.min(8, 2 - Math.floor(Math.log10(x))));
}

/** The results as a table (one line per cell, backends of a model and size next to each other). */
export function formatBenchTable(report: BenchReport): string {
  const head = ['model', 'params', 'input', 'backend', 'median ms', 'min–max ms', 'MP/s', 'GFLOP', 'GFLOP/s', 'peak MiB'];
  const rows: string[][] = [head];
  for (const c of report.cells) {
    const first = [c.model, c.params === undefined ? '' : c.params.toLocaleString('en-US'), sizeText(c), c.backend];
    if (c.error !== undefined || c.ms === undefined) rows.push([...first, `error: ${c.error ?? 'not measured'}`]);
    else
      rows.push([
        ...first,
        sig(c.ms),
        `${sig(c.minMs!)}–${sig(c.maxMs!)}`,
        sig(c.mps!),
        c.gflop === undefined ? '' : sig(c.gflop),
        c.gflops === undefined ? '' : sig(c.gflops),
        sig(c.peakBytes! / 2 ** 20),
      ]);
  }
  const full = rows.filter((r) => r.length === head.length);
  const widths = head.map((_, i) => Math.max(...full.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (r.length < head.length && i === r.length - 1 ? cell : i < 4 && i !== 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const e = report.environment;
  const flags = Object.entries(e.backends)
    .map(([name, b]) => {
      if (!b?.ok) return `${name}: failed to start`;
      if (name === 'wasm') return `wasm: SIMD ${b.simd ? 'on' : 'off'}, ${b.threads ?? 1} thread${(b.threads ?? 1) === 1 ? '' : 's'}`;
      if (name === 'tensorflow')
        return `tensorflow: ${b.package ?? 'tfjs-node'}${b.oneDNN === undefined ? '' : `, oneDNN ${b.oneDNN === null ? 'as libtensorflow decides' : b.oneDNN ? 'on' : 'off'} (${b.oneDNNWhy})`}`;
      return name;
    })
    .join('; ');
  const o = report.options;
  return [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    `median of ${o.runs} timed forward${o.runs === 1 ? '' : 's'} after ${o.warmup} warm-up${o.warmup === 1 ? '' : 's'} (batch 1, random weights; apply + read back the output). GFLOP: convolutions and matrix products, 2 per multiply-add. peak MiB: highest tf.memory().numBytes during a forward, weights included.`,
    `Node ${e.node} (${e.platform}), ${e.cpu.count} × ${e.cpu.model}, ${e.memGiB} GiB; tfjs ${e.tfjs}; ${flags}; load average ${e.loadavg.map((l) => l.toFixed(2)).join(' ')} at the start; ${report.date}`,
    '',
  ].join('\n');
}

export async function benchCommand(ctx: Context, flags: BenchFlags): Promise<number> {
  // Every usage error before any work.
  const models = resolveBenchModels(flags.models);
  const backends = resolveBenchBackends(flags.backends, ctx.cwd);
  const sizes = flags.sizes ?? [...DEFAULT_BENCH_SIZES];
  const { runs, warmup } = flags;
  const started = new Date();
  const t0 = performance.now();
  const cpuList = cpus();
  const report: BenchReport = {
    command: 'restorekit bench',
    date: started.toISOString(),
    environment: {
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
      cpu: { model: cpuList[0]?.model.trim() || 'unknown CPU', count: cpuList.length },
      memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      tfjs: tf.version_core,
      backends: {},
    },
    options: { models: models.map((m) => m.id), backends, sizes, runs, warmup, batch: 1, weights: 'random' },
    cells: [],
    failed: 0,
    seconds: 0,
  };
  const say = (line: string) => {
    if (!flags.json) ctx.ui.log(line);
  };
  const total = backends.length * models.length * sizes.length;
  const bar = ctx.ui.bar('cells', total);
  let done = 0;
  // A turn of the event loop at each step (outside the timings): a forward on cpu or wasm never yields to timers,
  // and the progress bar appears on one.
  const step = async (label?: string) => {
    bar.update(done, label);
    await new Promise((resolve) => setImmediate(resolve));
  };
  const previous = (tf.engine() as unknown as { backendName: string | null }).backendName;
  const cells: BenchCell[] = [];
  const blank = (m: ModelChoice, backend: NodeBackend, s: BenchSize): BenchCell => ({
    model: m.id,
    family: m.family,
    preset: m.preset,
    backend,
    height: s.height,
    width: s.width,
  });
  try {
    for (const backend of backends) {
      try {
        const chosen = await selectBackend(backend, ctx.cwd, (l) => ctx.ui.log(l));
        report.environment.backends[backend] = await describeBackend(backend, chosen);
      } catch (e) {
        // The messages of selectBackend name the backend already ("backend 'tensorflow' needs ...").
        const why = reason(e).startsWith(`backend '${backend}'`) ? reason(e) : `backend '${backend}' failed to start: ${reason(e)}`;
        report.environment.backends[backend] = { ok: false, error: why };
        ctx.ui.log(`error: ${why}`);
        for (const m of models)
          for (const s of sizes) {
            cells.push({ ...blank(m, backend, s), error: why });
            done++;
          }
        await step();
        continue;
      }
      for (const m of models) {
        const spec = getModelSpec(m.family);
        const mine = sizes.map((s) => blank(m, backend, s));
        cells.push(...mine);
        let model: Block | null = null;
        try {
          model = (await createModel(m.family, { preset: m.preset })) as Block;
        } catch (e) {
          for (const c of mine) c.error = `cannot build ${m.id}: ${reason(e)}`;
          ctx.ui.log(`error: ${m.id} on ${backend}: cannot build it: ${reason(e)}`);
          done += mine.length;
          await step();
          continue;
        }
        try {
          const channels = modelInChannels(model) ?? 3;
          for (const c of mine) {
            await step(`cells (${m.id} on ${backend}, ${sizeText(c)})`);
            const t = performance.now();
            try {
              await measureCell(c, model, channels, spec.inputRange, runs, warmup);
              say(`${m.id} on ${backend} at ${sizeText(c)}: ${sig(c.ms!)} ms median of ${runs} (${seconds(performance.now() - t)} in all)`);
            } catch (e) {
              c.error = reason(e);
              ctx.ui.log(`error: ${m.id} on ${backend} at ${sizeText(c)}: ${c.error}`);
            }
            done++;
          }
        } finally {
          model.dispose();
        }
        await step();
      }
    }
    bar.update(total);
  } finally {
    bar.done();
    // In-process callers (run(argv)) get their backend back.
    if (previous && tf.getBackend() !== previous) await tf.setBackend(previous).catch(() => false);
  }
  settleFlops(cells);
  // Backends of one model and size next to each other, in the order asked for.
  const ids = models.map((m) => m.id);
  const sizeIndex = (c: BenchCell) => sizes.findIndex((s) => s.height === c.height && s.width === c.width);
  report.cells = cells.sort(
    (a, b) => ids.indexOf(a.model) - ids.indexOf(b.model) || sizeIndex(a) - sizeIndex(b) || backends.indexOf(a.backend) - backends.indexOf(b.backend),
  );
  report.failed = cells.filter((c) => c.error !== undefined).length;
  report.seconds = Math.round((performance.now() - t0) / 10) / 100;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  ctx.stdout.write(flags.json ? json : formatBenchTable(report));
  if (flags.output !== undefined) {
    try {
      const file = abs(ctx, flags.output);
      mkdirSync(dirname(file), { recursive: true });
      await writeFileWhole(file, new TextEncoder().encode(json));
    } catch (e) {
      throw new FailureError(`${flags.output}: cannot write: ${reason(e)}`);
    }
    say(`wrote ${flags.output}`);
  }
  if (report.failed) {
    ctx.ui.log(`${report.failed} of ${cells.length} cells failed`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
