/**
 * Where the time of one Restormer Transformer block goes, per backend: each op of a level-1 block of the
 * official Restormer (C = 48, 1 head, GDFN hidden 127) at 128² (batch 1), timed on its own, the whole block, and
 * the whole official Restormer and AnyIR forwards (wasm and tensorflow: 128²; BENCH_OPS_SIZES=128,256 sets the sides) with their
 * GFLOP/s as a share of the backend's own 3×3-conv peak measured in the same run. The ops are restorekit's own (core
 * conv2d, channelLayerNorm, gelu) and the tfjs ops MDTA uses; a step two layouts do differently has a row for each
 * (the 'batched' attention of cpu, webgl, webgpu and tensorflow; the 'matrices' one of wasm), and every row runs on
 * every backend, so the table shows what each layout costs where. Rows marked "before" are the forms this code
 * replaced (kept for the comparison, same process, back to back).
 * Each op timing: one untimed warm-up, then ROUNDS rounds of REPS calls back to back and one read-back of the last
 * output; a figure is the median round's time per call: the op's time plus 1/REPS of reading its output back (what a
 * forward pays per op, roughly).
 *
 * Before/after in one process (Node only): BENCH_BEFORE=<another restorekit checkout, built> also loads that
 * checkout's built @restorekit/core, /restormer and /models (its dist/ files; tfjs-core stays this one) and times
 * the block and the models with both builds, alternating before/after run by run; figures are medians of wall time
 * and of process CPU time (the CPU time is what to compare on a loaded machine: other processes stretch wall time).
 * Results merge into results/ops-<backend>.json; results/ops.md is regenerated from every backend's JSON.
 * BENCH_NOTE (vitest.config.ts) is stored as a remark. Not a unit test.
 */
import { it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as core from '@restorekit/core';
import * as restormer from '@restorekit/restormer';
import * as models from '@restorekit/models';
import { channelLayerNorm, conv2d, gelu } from '@restorekit/core';
import { isBrowser, readText, writeText } from './results-io.js';
import { BACKENDS, TFJS_NODE_ABSENT, benchOptions } from './options.js';

const S = 128;
const C = 48;
const HIDDEN = 127; // trunc(48 · 2.66)
const REPS = 3;
/** Rounds of REPS calls per op row; a row's figure is the median round. */
const ROUNDS = 5;
const N = S * S;
/** Timed forwards per build for the block and model rows (each after one warm-up). */
const MODEL_REPS = 3;
/**
 * GFLOP (2 × multiply-adds of convolutions and matrix products) of the official models, from the PyTorch count of
 * ../shared/anchors (results-2026-11-30-reference.md): the figures its "% of wasm conv peak" column uses.
 */
const MODEL_GFLOP: Record<string, Record<number, number>> = { restormer: { 128: 77.4, 256: 309.8 }, anyir: { 128: 17.1, 256: 68.6 } };

interface Entry {
  op: string;
  ms: number;
  gflop: number;
  date: string;
  remark?: string;
  /** Process CPU time per call, ms (Node). */
  cpuMs?: number;
  /** false: a step this backend's own block does not take (the other layout, or a form it replaced). */
  own?: boolean;
  /** The same row with the BENCH_BEFORE build: wall and CPU medians, ms. */
  before?: { ms: number; cpuMs?: number };
  /** Whole-model and block rows: the 3×3-conv peak of the run that measured them, GFLOP/s (wall; CPU time). */
  peak?: { gflops: number; cpuGflops?: number };
  /** BENCH_BEFORE of the run that measured the row. */
  beforeBuild?: string;
}
interface Results {
  backend: string;
  env: string;
  size: number;
  reps: number;
  /** The 3×3-conv peak of this run, GFLOP/s: from the median wall time, and (Node) from the median CPU time. */
  peakGflops?: number;
  peakCpuGflops?: number;
  before?: string;
  entries: Entry[];
}

/**
 * [label, multiply-adds, build the op's inputs, the op, whether the backend's block takes this step (default: all)]:
 * the block's steps in order (MDTA's and GDFN's forwards, written out with the same calls), so a backend's own rows add
 * up to about the whole block. Inputs are made once per op.
 */
type Op = [string, number, () => tf.Tensor[], (ins: tf.Tensor[]) => tf.Tensor, ((backend: string) => boolean)?];
/** GDFN's z₁, z₂ from weight halves (cpu, wasm) or from one conv and a split (other backends), as GDFN does. */
const halves = (b: string) => core.prefers('weightHalves', b);
/** MDTA's layout: 'matrices' (2-D products, q, k, v from weight thirds) where core prefers('xnnpackForms'), else 'batched'. */
const matrices = (b: string) => core.prefers('xnnpackForms', b);
const batched = (b: string) => !matrices(b);
const never = () => false;
const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
const nhwc = (c: number, seed: number) => rand([1, S, S, c], seed);
/** Runs every step and returns the last output (the others are freed): one row for a step the block repeats. */
const all = (...steps: (() => tf.Tensor)[]) => {
  const outs = steps.map((f) => f());
  tf.dispose(outs.slice(0, -1));
  return outs[outs.length - 1]!;
};
/** MDTA's q, k, v of a qkv activation: one transpose to [3,1,48,HW], then three slices (the last one returned). */
const qkvParts = (qkv: tf.Tensor) =>
  tf.tidy(() => {
    const p = tf.transpose(tf.reshape(qkv, [1, N, 3, C]), [2, 0, 3, 1]);
    return all(...[0, 1, 2].map((i) => () => tf.reshape(tf.slice(p, [i, 0, 0, 0], [1, 1, C, N]), [1, 1, C, N])));
  });
/** Channels a..a+w of a weight's last axis (GDFN's halves, MDTA's thirds). */
const cols = (w: tf.Tensor, a: number, n: number) => tf.slice(w, [0, 0, 0, a], [w.shape[0]!, w.shape[1]!, w.shape[2]!, n]) as tf.Tensor4D;
const l2 = (t: tf.Tensor) => tf.tidy(() => tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-24))));
/** [H,W,C] → channels-first [C, H·W] (one transpose), as the 'matrices' layout does for q and k. */
const channelsFirst = (t: tf.Tensor) => tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, [S, S, C]), [2, 0, 1]), [C, N]));
/** The GELU of core before this change: 0.5·x·(1 + erf(x/√2)) with tfjs's Erf. */
const geluErf = (x: tf.Tensor) => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
/** channelLayerNorm before this change: tf.moments, then x − μ again. */
const layerNormMoments = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
  });
/** N(0, 1) activations: the spread of trained weights' GDFN activations (random weights give |x| ≪ 1). */
const normal = (c: number, seed: number) => tf.randomNormal([1, S, S, c], 0, 1, 'float32', seed);
const OPS: Op[] = [
  [
    'LayerNorm over C (WithBias), ×2',
    0,
    () => [nhwc(C, 1), rand([C], 2), rand([C], 3)],
    ([x, w, b]) =>
      all(
        () => channelLayerNorm(x!, w!, b!),
        () => channelLayerNorm(x!, w!, b!),
      ),
  ],
  [
    '  before: LayerNorm through tf.moments, ×2',
    0,
    () => [nhwc(C, 1), rand([C], 2), rand([C], 3)],
    ([x, w, b]) =>
      all(
        () => layerNormMoments(x!, w!, b!),
        () => layerNormMoments(x!, w!, b!),
      ),
    never,
  ],
  [
    '  tfjs ops: LayerNorm with setting webgpuKernels off, ×2',
    0,
    () => [nhwc(C, 1), rand([C], 2), rand([C], 3)],
    ([x, w, b]) =>
      core.withSettings({ webgpuKernels: false }, () =>
        all(
          () => channelLayerNorm(x!, w!, b!),
          () => channelLayerNorm(x!, w!, b!),
        ),
      ),
    never,
  ],
  // short rows of FSDRNet's K filter (not a Restormer step): a softmax over k² = 25 taps and the taps' weighted sum, per
  // pixel and channel (8 channels at 128²), with core's ops (restorekit's WebGPU kernels on webgpu) and tfjs's
  ['FSDRNet K filter: softmax over 25 taps, 128²·8 rows', 0, () => [rand([N * 8, 25], 1)], ([x]) => core.softmax(x!), never],
  ['  tfjs: tf.softmax over 25 taps, 128²·8 rows', 0, () => [rand([N * 8, 25], 1)], ([x]) => tf.softmax(x!), never],
  [
    'FSDRNet K filter: Σ of 25 weighted taps (dotLastAxis), 128²·8 rows',
    0,
    () => [rand([N * 8, 25], 1), rand([N * 8, 25], 2)],
    ([a, b]) => core.dotLastAxis(a!, b!),
    never,
  ],
  [
    '  tfjs: tf.sum(tf.mul(a, b), -1), 128²·8 rows',
    0,
    () => [rand([N * 8, 25], 1), rand([N * 8, 25], 2)],
    ([a, b]) => tf.tidy(() => tf.sum(tf.mul(a!, b!), -1)),
    never,
  ],
  // batched layout (one qkv conv, a transpose, batched products with a transposed operand)
  ['MDTA qkv: 1×1 conv 48→144', N * C * 3 * C, () => [nhwc(C, 1), rand([1, 1, C, 3 * C], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D), batched],
  [
    'MDTA qkv: depthwise 3×3, 144 ch',
    N * 3 * C * 9,
    () => [nhwc(3 * C, 1), rand([3, 3, 1, 3 * C], 2)],
    ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, { padding: 1, groups: 3 * C }),
    batched,
  ],
  ['MDTA q, k, v: one transpose of qkv to [3,1,48,HW], 3 slices', 0, () => [nhwc(3 * C, 1)], ([t]) => qkvParts(t!), batched],
  [
    'MDTA L2-normalise the rows of q and k, ×2',
    0,
    () => [rand([1, 1, C, N], 1)],
    ([q]) =>
      all(
        () => l2(q!),
        () => l2(q!),
      ),
    batched,
  ],
  [
    'MDTA q·kᵀ, batched: [1,1,48,HW]·[1,1,48,HW]ᵀ',
    C * C * N,
    () => [rand([1, 1, C, N], 1), rand([1, 1, C, N], 2)],
    ([q, k]) => tf.matMul(q!, k!, false, true),
    batched,
  ],
  [
    'MDTA temperature and softmax over 48×48',
    0,
    () => [rand([1, 1, C, C], 1), rand([1, 1, 1, 1], 2)],
    ([a, t]) => tf.tidy(() => tf.softmax(tf.mul(a!, t!), -1)),
  ],
  ['MDTA attn·v, batched: [1,1,48,48]·[1,1,48,HW]', C * C * N, () => [rand([1, 1, C, C], 1), rand([1, 1, C, N], 2)], ([a, v]) => tf.matMul(a!, v!), batched],
  ['MDTA back to NHWC: transpose + reshape', 0, () => [rand([1, 1, C, N], 1)], ([t]) => tf.reshape(tf.transpose(t!, [0, 3, 1, 2]), [1, S, S, C]), batched],
  // matrices layout (q, k, v from weight thirds, plain 2-D products; transposed-attention.ts)
  [
    'MDTA q, k, v: three 1×1 convs 48→48 on weight thirds',
    N * C * 3 * C,
    () => [nhwc(C, 1), rand([1, 1, C, 3 * C], 2)],
    ([x, w]) => all(...[0, C, 2 * C].map((a) => () => tf.tidy(() => conv2d(x as tf.Tensor4D, cols(w!, a, C))))),
    matrices,
  ],
  [
    'MDTA q, k, v: three depthwise 3×3, 48 ch each',
    N * 3 * C * 9,
    () => [nhwc(C, 1), rand([3, 3, 1, 3 * C], 2)],
    ([x, w]) => all(...[0, C, 2 * C].map((a) => () => tf.tidy(() => conv2d(x as tf.Tensor4D, cols(w!, a, C), { padding: 1, groups: C })))),
    matrices,
  ],
  [
    'MDTA q, k channels-first: 2 transposes [H,W,48] → [48,HW]',
    0,
    () => [nhwc(C, 1)],
    ([q]) =>
      all(
        () => channelsFirst(q!),
        () => channelsFirst(q!),
      ),
    matrices,
  ],
  [
    'MDTA 1/‖row‖ of q and k (norms folded into the logits), ×2',
    0,
    () => [rand([C, N], 1)],
    ([q]) => all(...[0, 1].map(() => () => tf.tidy(() => tf.div(1, tf.sqrt(tf.maximum(tf.sum(tf.square(q!), -1), 1e-24)))))),
    matrices,
  ],
  ['MDTA q·kᵀ, 2-D: [48×HW]·[HW×48] (k as it is in NHWC)', C * C * N, () => [rand([C, N], 1), rand([N, C], 2)], ([q, k]) => tf.matMul(q!, k!), matrices],
  [
    'MDTA attn·v, 2-D and straight to NHWC: [HW×48]·[48×48]',
    C * C * N,
    () => [rand([N, C], 1), rand([C, C], 2)],
    ([v, a]) => tf.reshape(tf.matMul(v!, a!), [1, S, S, C]),
    matrices,
  ],
  ['MDTA project_out: 1×1 conv 48→48', N * C * C, () => [nhwc(C, 1), rand([1, 1, C, C], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D)],
  [
    'GDFN project_in: one 1×1 conv 48→254',
    N * C * 2 * HIDDEN,
    () => [nhwc(C, 1), rand([1, 1, C, 2 * HIDDEN], 2)],
    ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D),
    (b) => !halves(b),
  ],
  [
    'GDFN depthwise 3×3, 254 ch',
    N * 2 * HIDDEN * 9,
    () => [nhwc(2 * HIDDEN, 1), rand([3, 3, 1, 2 * HIDDEN], 2)],
    ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, { padding: 1, groups: 2 * HIDDEN }),
    (b) => !halves(b),
  ],
  [
    'GDFN split into z₁, z₂ (127 ch each)',
    0,
    () => [nhwc(2 * HIDDEN, 1)],
    ([z]) => all(...(tf.split(z!, 2, 3) as tf.Tensor[]).map((t) => () => t)),
    (b) => !halves(b),
  ],
  [
    'GDFN project_in: two 1×1 convs 48→127 on weight halves',
    N * C * 2 * HIDDEN,
    () => [nhwc(C, 1), rand([1, 1, C, 2 * HIDDEN], 2)],
    ([x, w]) => all(...[0, HIDDEN].map((a) => () => tf.tidy(() => conv2d(x as tf.Tensor4D, cols(w!, a, HIDDEN))))),
    halves,
  ],
  [
    'GDFN depthwise 3×3, two × 127 ch on weight halves',
    N * 2 * HIDDEN * 9,
    () => [nhwc(HIDDEN, 1), rand([3, 3, 1, 2 * HIDDEN], 2)],
    ([x, w]) => all(...[0, HIDDEN].map((a) => () => tf.tidy(() => conv2d(x as tf.Tensor4D, cols(w!, a, HIDDEN), { padding: 1, groups: HIDDEN })))),
    halves,
  ],
  ['GDFN gate: GELU(z₁)·z₂ (exact GELU), z₁ ~ U(−1,1)', 0, () => [nhwc(HIDDEN, 1), nhwc(HIDDEN, 2)], ([a, b]) => tf.tidy(() => tf.mul(gelu(a!), b!))],
  ['  before: tf.erf GELU, z₁ ~ U(−1,1)', 0, () => [nhwc(HIDDEN, 1), nhwc(HIDDEN, 2)], ([a, b]) => tf.tidy(() => tf.mul(geluErf(a!), b!)), never],
  ["GDFN gate, z₁ ~ N(0,1) (a trained model's spread)", 0, () => [normal(HIDDEN, 1), nhwc(HIDDEN, 2)], ([a, b]) => tf.tidy(() => tf.mul(gelu(a!), b!)), never],
  ['  before: tf.erf GELU, z₁ ~ N(0,1)', 0, () => [normal(HIDDEN, 1), nhwc(HIDDEN, 2)], ([a, b]) => tf.tidy(() => tf.mul(geluErf(a!), b!)), never],
  [
    'GDFN project_out: 1×1 conv 127→48',
    N * HIDDEN * C,
    () => [nhwc(HIDDEN, 1), rand([1, 1, HIDDEN, C], 2)],
    ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D),
  ],
  [
    'residual adds, ×2',
    0,
    () => [nhwc(C, 1), nhwc(C, 2)],
    ([a, b]) =>
      all(
        () => tf.add(a!, b!),
        () => tf.add(a!, b!),
      ),
  ],
];
const BLOCK = 'TransformerBlock (the whole block in one call)';
const SUM = "sum of the backend's own rows above";
/** The block's multiply-adds: the convs and the two attention products (LayerNorm, softmax, GELU uncounted). */
const BLOCK_MACS = OPS.reduce((s, [, macs, , , on]) => s + (on && !on('webgl') ? 0 : macs), 0);
const modelRow = (name: string, size: number) => `${name === 'restormer' ? 'Restormer' : 'AnyIR'} (official), whole forward 1×${size}²×3`;
const PEAK = 'peak: conv2d 3×3 [1,128,128,64]→64, GFLOP/s of this run (wall; CPU)';
const PEAK_GFLOP = (2 * 128 * 128 * 64 * 64 * 9) / 1e9;

/** Process CPU time so far, ms (Node), or null. */
function cpuNow(): number | null {
  const p = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  if (isBrowser || !p?.cpuUsage) return null;
  const u = p.cpuUsage();
  return (u.user + u.system) / 1000;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The backend's 3×3-conv throughput, as ../shared/anchors and measure.ts measure it (conv2d [1,128,128,64]→64,
 * 'same'), from the median wall time and the median CPU time of ≥ 7 runs after a warm-up (≥ 2 s).
 */
async function peak(): Promise<{ gflops: number; cpuGflops?: number }> {
  const x = tf.randomUniform([1, 128, 128, 64], 0, 1, 'float32', 3);
  const w = tf.randomUniform([3, 3, 64, 64], 0, 1, 'float32', 4);
  const f = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
  tf.dispose(f());
  const runs: { ms: number; cpuMs: number | null }[] = [];
  const t0 = performance.now();
  while (runs.length < 7 || (performance.now() - t0 < 2000 && runs.length < 30)) runs.push(await once(f));
  tf.dispose([x, w]);
  const cpu = runs[0]!.cpuMs !== null ? median(runs.map((r) => r.cpuMs!)) : null;
  return { gflops: PEAK_GFLOP / (median(runs.map((r) => r.ms)) / 1000), ...(cpu ? { cpuGflops: PEAK_GFLOP / (cpu / 1000) } : {}) };
}

async function timeOp(f: () => tf.Tensor): Promise<{ ms: number; cpuMs?: number }> {
  const warm = f();
  await warm.data();
  warm.dispose();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = cpuNow();
    const t0 = performance.now();
    let y: tf.Tensor | null = null;
    for (let i = 0; i < REPS; i++) {
      y?.dispose();
      y = f();
    }
    await y!.data();
    walls.push((performance.now() - t0) / REPS);
    const c1 = cpuNow();
    y!.dispose();
    if (c0 !== null && c1 !== null) cpus.push((c1 - c0) / REPS);
  }
  return cpus.length ? { ms: median(walls), cpuMs: median(cpus) } : { ms: median(walls) };
}

/** One timed call (apply + read-back), wall and CPU ms. */
async function once(f: () => tf.Tensor): Promise<{ ms: number; cpuMs: number | null }> {
  const c0 = cpuNow();
  const t0 = performance.now();
  const y = f();
  await y.data();
  const ms = performance.now() - t0;
  const c1 = cpuNow();
  y.dispose();
  return { ms, cpuMs: c0 === null || c1 === null ? null : c1 - c0 };
}

/** Medians of `reps` timed calls after one warm-up each; with `before`, the two alternate call by call. */
async function timeAB(after: () => tf.Tensor, before: (() => tf.Tensor) | null, reps = MODEL_REPS) {
  for (const f of before ? [before, after] : [after]) tf.dispose(f());
  const a: { ms: number; cpuMs: number | null }[] = [];
  const b: { ms: number; cpuMs: number | null }[] = [];
  for (let i = 0; i < reps; i++) {
    if (before) b.push(await once(before));
    a.push(await once(after));
  }
  const med = (r: typeof a) => ({ ms: median(r.map((x) => x.ms)), ...(r[0]?.cpuMs != null ? { cpuMs: median(r.map((x) => x.cpuMs!)) } : {}) });
  return { after: med(a), before: before ? med(b) : null };
}

interface Build {
  core: typeof core;
  restormer: typeof restormer;
  models: typeof models;
}
/** The BENCH_BEFORE checkout's built packages (Node only), or null. */
async function beforeBuild(): Promise<{ dir: string; build: Build } | null> {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const dir = isBrowser ? undefined : env?.BENCH_BEFORE;
  if (!dir) return null;
  const url = await import('node:url');
  const load = (pkg: string) => import(/* @vite-ignore */ url.pathToFileURL(`${dir}/packages/${pkg}/dist/index.js`).href);
  const build = { core: await load('core'), restormer: await load('restormer'), models: await load('models') } as Build;
  // Its tfjs-core must be this one (one engine, one Tensor class): its blocks then run on the backend set here.
  const probe = tf.scalar(1);
  const y = build.core.gelu(probe);
  const same = y instanceof tf.Tensor;
  tf.dispose([probe, y]);
  if (!same) throw new Error(`BENCH_BEFORE=${dir}: its packages load another @tensorflow/tfjs-core than this one`);
  return { dir, build };
}

/**
 * Input sides of the whole-model rows: BENCH_OPS_SIZES (Node), by default 128 on wasm and tensorflow and none on the
 * others (a 128² Restormer forward takes minutes on cpu and on SwiftShader).
 */
function modelSizes(backend: string): number[] {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = isBrowser ? undefined : env?.BENCH_OPS_SIZES;
  if (v)
    return v
      .split(',')
      .map(Number)
      .filter((n) => n > 0);
  return backend === 'wasm' || backend === 'tensorflow' ? [S] : [];
}

it(`ops of a Restormer level-1 Transformer block at ${S}², the block, and whole official Restormer and AnyIR forwards`, async () => {
  const backend = tf.getBackend();
  const { note } = benchOptions();
  const date = new Date().toISOString();
  const base = { date, ...(note ? { remark: note } : {}) };
  const previous = await readText(`results/ops-${backend}.json`);
  const entries: Entry[] = [];
  const pk = await peak();
  console.log(`[ops ${backend}] conv 3×3 peak ${pk.gflops.toFixed(1)} GFLOP/s (wall)${pk.cpuGflops ? `, ${pk.cpuGflops.toFixed(1)} GFLOP/s (CPU time)` : ''}`);
  for (const [op, macs, make, run, on] of OPS) {
    const ins = make();
    const t = await timeOp(() => run(ins));
    tf.dispose(ins);
    entries.push({ op, ...t, gflop: (2 * macs) / 1e9, ...base, own: on ? on(backend) : true });
    console.log(`[ops ${backend}] ${op}: ${t.ms.toFixed(1)} ms${t.cpuMs !== undefined ? ` (CPU ${t.cpuMs.toFixed(1)} ms)` : ''}`);
  }
  const own = entries.filter((e) => e.own);
  const sumCpu = own.every((e) => e.cpuMs !== undefined) ? own.reduce((t, e) => t + e.cpuMs!, 0) : undefined;
  entries.push({
    op: SUM,
    ms: own.reduce((t, e) => t + e.ms, 0),
    ...(sumCpu !== undefined ? { cpuMs: sumCpu } : {}),
    gflop: (2 * BLOCK_MACS) / 1e9,
    ...base,
    own: true,
  });

  const old = await beforeBuild();
  const x = rand([1, S, S, C], 1);
  const blockOf = (r: typeof restormer) => new r.TransformerBlock({ channels: C, attention: { type: 'MDTA', heads: 1 } });
  const block = blockOf(restormer);
  const blockBefore = old ? blockOf(old.build.restormer) : null;
  const tb = await timeAB(() => block.apply(x) as tf.Tensor, blockBefore ? () => blockBefore.apply(x) as tf.Tensor : null, 5);
  const measuredWith = { peak: pk, ...(old ? { beforeBuild: old.dir } : {}) };
  entries.push({ op: BLOCK, ...tb.after, gflop: (2 * BLOCK_MACS) / 1e9, ...base, own: true, ...measuredWith, ...(tb.before ? { before: tb.before } : {}) });
  console.log(`[ops ${backend}] whole block: ${tb.after.ms.toFixed(1)} ms${tb.before ? ` (before: ${tb.before.ms.toFixed(1)} ms)` : ''}`);
  block.dispose();
  blockBefore?.dispose();
  tf.dispose(x);

  for (const size of modelSizes(backend))
    for (const name of ['restormer', 'anyir']) {
      const gflop = MODEL_GFLOP[name]?.[size] ?? 0;
      const m = await models.createModel(name as 'restormer', { preset: 'official' });
      const mb = old ? await old.build.models.createModel(name as 'restormer', { preset: 'official' }) : null;
      const input = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 7);
      const t = await timeAB(() => m.apply(input) as tf.Tensor, mb ? () => mb.apply(input) as tf.Tensor : null);
      entries.push({ op: modelRow(name, size), ...t.after, gflop, ...base, own: true, ...measuredWith, ...(t.before ? { before: t.before } : {}) });
      console.log(`[ops ${backend}] ${modelRow(name, size)}: ${t.after.ms.toFixed(0)} ms${t.before ? ` (before: ${t.before.ms.toFixed(0)} ms)` : ''}`);
      m.dispose();
      mb?.dispose();
      tf.dispose(input);
    }

  // Whole-forward rows of earlier runs that this one did not measure (other sizes, or BENCH_OPS_SIZES=none) stay.
  const kept = previous
    ? (JSON.parse(previous) as Results).entries.filter((e) => e.op.includes('whole forward') && e.peak && !entries.some((x) => x.op === e.op))
    : [];
  entries.push(...kept);
  const env = isBrowser ? navigator.userAgent : `node ${process.version} on ${process.platform}/${process.arch}`;
  const result: Results = {
    backend,
    env,
    size: S,
    reps: REPS,
    peakGflops: pk.gflops,
    ...(pk.cpuGflops ? { peakCpuGflops: pk.cpuGflops } : {}),
    ...(old ? { before: old.dir } : {}),
    entries,
  };
  await writeText(`results/ops-${backend}.json`, `${JSON.stringify(result, null, 2)}\n`);
  await writeText('results/ops.md', await markdown());
}, 14_400_000);

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)}`);

async function markdown(): Promise<string> {
  const all: Results[] = [];
  for (const b of BACKENDS) {
    const t = await readText(`results/ops-${b}.json`);
    if (t) all.push(JSON.parse(t) as Results);
  }
  const rowNames = [...OPS.map(([op]) => op), SUM, BLOCK];
  const modelNames = [...new Set(all.flatMap((r) => r.entries.map((e) => e.op).filter((op) => op.includes('whole forward'))))];
  const cell = (r: Results, op: string) => {
    const e = r.entries.find((x) => x.op === op);
    if (!e) return '–';
    const one = (ms: number) => `${fmt(ms)}${e.gflop > 0 ? ` (${(e.gflop / (ms / 1000)).toFixed(2)})` : ''}`;
    const v = `${one(e.ms)}${e.cpuMs !== undefined ? ` · CPU ${one(e.cpuMs)}` : ''}`;
    return e.own === false ? `_${v}_` : v;
  };
  const pct = (gflop: number, ms: number, peak?: number) => (peak ? `${((100 * gflop) / (ms / 1000) / peak).toFixed(0)} %` : '–');
  /** The peak of the run that measured a row, for figures from CPU time (when both exist) or wall time. */
  const peakFor = (e: Entry, cpu: boolean) => (cpu ? e.peak?.cpuGflops : e.peak?.gflops);
  const remarks = all.flatMap((r) => (r.entries[0]?.remark ? [`- ${r.backend}: ${r.entries[0].remark}`] : []));
  const models = all.flatMap((r) =>
    modelNames.flatMap((op) => {
      const e = r.entries.find((x) => x.op === op);
      if (!e) return [];
      const gfs = (ms: number) => (e.gflop ? (e.gflop / (ms / 1000)).toFixed(1) : '–');
      const cpu = (v?: number) => (v !== undefined ? fmt(v) : '–');
      const b = e.before;
      return [
        `| ${r.backend} | ${op} | ${e.gflop || '–'} | ${fmt(e.ms)} | ${cpu(e.cpuMs)} | ${gfs(e.cpuMs ?? e.ms)} | ${pct(e.gflop, e.cpuMs ?? e.ms, peakFor(e, e.cpuMs !== undefined))} | ${b ? fmt(b.ms) : '–'} | ${b ? cpu(b.cpuMs) : '–'} | ${b ? pct(e.gflop, b.cpuMs ?? b.ms, peakFor(e, b.cpuMs !== undefined)) : '–'} | ${b ? `${((b.cpuMs ?? b.ms) / (e.cpuMs ?? e.ms)).toFixed(2)}×` : '–'} | ${peakFor(e, e.cpuMs !== undefined)?.toFixed(1) ?? '–'} | ${e.date.slice(0, 16).replace('T', ' ')} |`,
      ];
    }),
  );
  const blocks = all.flatMap((r) => {
    const e = r.entries.find((x) => x.op === BLOCK);
    const b = e?.before;
    return e && b
      ? [
          `| ${r.backend} | ${BLOCK} | ${fmt(e.ms)} | ${e.cpuMs !== undefined ? fmt(e.cpuMs) : '–'} | ${fmt(b.ms)} | ${b.cpuMs !== undefined ? fmt(b.cpuMs) : '–'} | ${((b.cpuMs ?? b.ms) / (e.cpuMs ?? e.ms)).toFixed(2)}× |`,
        ]
      : [];
  });
  return [
    `# One Restormer Transformer block, op by op (level 1 of the official model: C = 48, 1 head, GDFN hidden 127; 1×${S}×${S}×48), and whole forwards`,
    '',
    'Measured by `pnpm --filter @restorekit/benchmarks exec vitest run --config vitest.config.ts --project <backend> src/ops.bench.test.ts`',
    '(benchmarks/src/ops.bench.test.ts) on the development machine (2 cores, Node 20). webgl and webgpu ran in headless Chromium',
    'on **SwiftShader, a software GPU: these timings say nothing about real GPUs**. Each figure: milliseconds per call',
    `(median of ${ROUNDS} rounds of ${REPS} calls back to back after a warm-up, each ending with one read-back), with GFLOP/s in parentheses where the op`,
    'has multiply-adds (2 × MACs); in Node also "CPU": the process\'s CPU time per call, which other processes on a loaded',
    "machine do not stretch (compare those). The rows are the block's steps in order (a row marked ×k runs its step k times). Where two",
    "layouts differ, both have rows: MDTA's 'batched' attention (cpu, webgl, webgpu, tensorflow: one qkv conv, batched products",
    "with a transposed operand) and its 'matrices' attention (wasm: q, k, v from weight thirds, plain 2-D products, which",
    'tfjs-backend-wasm runs through XNNPACK; it runs a batched or transposed BatchMatMul as a scalar loop). GDFN computes z₁ and z₂',
    "from halves of its weights on cpu and wasm and with one conv and a split elsewhere. _Italic_: a step the backend's own block",
    'does not take (the other layout, or a form this code replaced, rows marked "before"), measured for comparison; the sum adds',
    "the backend's own rows only. The last row is the whole block (two LayerNorms, MDTA, GDFN, two residual adds) in one call.",
    "On webgpu the LayerNorm row runs restorekit's WebGPU kernel (one invocation per pixel); the row after it, the tfjs ops",
    '(setting webgpuKernels off). The FSDRNet K filter rows (not part of the block) time a softmax and a weighted sum over',
    "rows of 25 taps, core's ops (restorekit's WebGPU kernels there) against tfjs's, which run a 64-thread workgroup per row.",
    "The GELU rows show both input spreads: untrained weights give |z₁| ≪ 1, where wasm's scalar Erf takes its fast branch;",
    "N(0,1) is the spread of a trained model's activations, where it does not (core's gelu then switches to a vectorised form).",
    "Until 2026-11-24 MDTA sliced q, k, v out of qkv's channels and transposed each, and GDFN split its 254-channel activation",
    'in two: the whole block then took cpu 9719 ms, wasm 172 ms, webgl 973 ms, webgpu 7998 ms (this machine, this file).',
    '',
    ...(all.some((r) => r.backend === 'tensorflow') ? [] : [TFJS_NODE_ABSENT, '']),
    `| op | ${all.map((r) => r.backend).join(' | ')} |`,
    `|---|${all.map(() => '---').join('|')}|`,
    `| ${PEAK} | ${all.map((r) => (r.peakGflops ? `${r.peakGflops.toFixed(1)}${r.peakCpuGflops ? `; ${r.peakCpuGflops.toFixed(1)}` : ''}` : '–')).join(' | ')} |`,
    ...rowNames.map((op) => `| ${op} | ${all.map((r) => cell(r, op)).join(' | ')} |`),
    '',
    ...(models.length
      ? [
          '## Whole forwards (official presets, random weights, batch 1)',
          '',
          `Median of ${MODEL_REPS} forwards after a warm-up (\`apply\` + read-back). GFLOP: the anchors' PyTorch count`,
          '(../shared/anchors/results-2026-11-30-reference.md); GFLOP/s and % of peak use the CPU time where there is one (Node:',
          "the process's CPU time, which other processes on a loaded machine do not stretch; the wall time is shown too), against",
          'the 3×3-conv peak measured the same way at the start of the same run (the anchors measured 41 GFLOP/s on the idle',
          'machine). "before": the BENCH_BEFORE build, timed in the same process,',
          'alternating with this one forward by forward; speed-up = before ÷ after (CPU time). From benchmarks/:',
          '`BENCH_BEFORE=<a built checkout of the code before> BENCH_OPS_SIZES=128,256 RESTOREKIT_NO_BROWSER=1 npx vitest run',
          '--config vitest.config.ts --project node-wasm src/ops.bench.test.ts` (BENCH_OPS_SIZES=none: op rows only, earlier',
          'whole-forward rows stay).',
          '',
          '| backend | forward | GFLOP | wall | CPU | GFLOP/s | % of peak | before: wall | before: CPU | before: % of peak | speed-up | peak GFLOP/s (its run) | measured (UTC) |',
          '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
          ...models,
          '',
        ]
      : []),
    ...(blocks.length
      ? [
          'Block, before and after (same process, alternating, median of 5):',
          '',
          '| backend | | wall | CPU | before: wall | before: CPU | speed-up |',
          '|---|---|---|---|---|---|---|',
          ...blocks,
          '',
        ]
      : []),
    ...(all.length
      ? [
          `Measured: ${all.map((r) => `${r.backend} ${r.entries[0]?.date.slice(0, 16).replace('T', ' ') ?? '?'}${r.before ? ' (and a BENCH_BEFORE build)' : ''}`).join(', ')}.`,
        ]
      : []),
    ...(remarks.length ? ['', 'Remarks:', ...remarks] : []),
    '',
  ].join('\n');
}
