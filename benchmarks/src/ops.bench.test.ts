/**
 * Where the time of one Restormer Transformer block goes, per backend: each op of a level-1 block of the
 * official Restormer (C = 48, 1 head, GDFN hidden 127) at 128² (batch 1), timed on its own, and the whole
 * block. The ops are restorekit's own (core conv2d, channelLayerNorm, gelu) and the tfjs ops MDTA uses.
 * Each timing: one untimed warm-up, then REPS calls back to back and one read-back of the last output, so a
 * figure is the op's time plus 1/REPS of reading its output back (what a forward pays per op, roughly).
 * The models benchmark gives whole forwards; this file explains them (e.g. why SwiftShader's webgpu is
 * slower than its webgl). Results merge into results/ops-<backend>.json; results/ops.md is regenerated
 * from every backend's JSON. BENCH_NOTE (vitest.config.ts) is stored as a remark. Not a unit test.
 */
import { it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { channelLayerNorm, conv2d, gelu } from '@restorekit/core';
import { GDFN_WEIGHT_HALVES_BACKENDS, TransformerBlock } from '@restorekit/restormer';
import { isBrowser, readText, writeText } from './results-io.js';
import { BACKENDS, TFJS_NODE_ABSENT, benchOptions } from './options.js';

const S = 128;
const C = 48;
const HIDDEN = 127; // trunc(48 · 2.66)
const REPS = 3;
const N = S * S;

interface Entry { op: string; ms: number; gflop: number; date: string; remark?: string }
interface Results { backend: string; env: string; size: number; reps: number; entries: Entry[] }

/**
 * [label, multiply-adds, build the op's inputs, the op]: the block's steps in order (MDTA's and GDFN's forwards,
 * written out with the same calls), so the rows add up to about the whole block. Inputs are made once per op.
 */
type Op = [string, number, () => tf.Tensor[], (ins: tf.Tensor[]) => tf.Tensor, ((backend: string) => boolean)?];
/** GDFN's z₁, z₂ from weight halves (cpu, wasm) or from one conv and a split (other backends), as GDFN does. */
const halves = (b: string) => GDFN_WEIGHT_HALVES_BACKENDS.has(b);
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
/** The hidden channels a..a+127 of a GDFN weight (GDFN computes z₁ and z₂ from weight halves). */
const half = (w: tf.Tensor, a: number) => tf.slice(w, [0, 0, 0, a], [w.shape[0]!, w.shape[1]!, w.shape[2]!, HIDDEN]) as tf.Tensor4D;
const l2 = (t: tf.Tensor) => tf.tidy(() => tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-24))));
const OPS: Op[] = [
  ['LayerNorm over C (WithBias), ×2', 0, () => [nhwc(C, 1), rand([C], 2), rand([C], 3)], ([x, w, b]) => all(() => channelLayerNorm(x!, w!, b!), () => channelLayerNorm(x!, w!, b!))],
  ['MDTA qkv: 1×1 conv 48→144', N * C * 3 * C, () => [nhwc(C, 1), rand([1, 1, C, 3 * C], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D)],
  ['MDTA qkv: depthwise 3×3, 144 ch', N * 3 * C * 9, () => [nhwc(3 * C, 1), rand([3, 3, 1, 3 * C], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, { padding: 1, groups: 3 * C })],
  ['MDTA q, k, v: one transpose of qkv to [3,1,48,HW], 3 slices', 0, () => [nhwc(3 * C, 1)], ([t]) => qkvParts(t!)],
  ['MDTA L2-normalise the rows of q and k, ×2', 0, () => [rand([1, 1, C, N], 1)], ([q]) => all(() => l2(q!), () => l2(q!))],
  ['MDTA q·kᵀ: [48×HW]·[HW×48]', C * C * N, () => [rand([1, 1, C, N], 1), rand([1, 1, C, N], 2)], ([q, k]) => tf.matMul(q!, k!, false, true)],
  ['MDTA temperature and softmax over 48×48', 0, () => [rand([1, 1, C, C], 1), rand([1, 1, 1, 1], 2)], ([a, t]) => tf.tidy(() => tf.softmax(tf.mul(a!, t!), -1))],
  ['MDTA attn·v: [48×48]·[48×HW]', C * C * N, () => [rand([1, 1, C, C], 1), rand([1, 1, C, N], 2)], ([a, v]) => tf.matMul(a!, v!)],
  ['MDTA back to NHWC: transpose + reshape', 0, () => [rand([1, 1, C, N], 1)], ([t]) => tf.reshape(tf.transpose(t!, [0, 3, 1, 2]), [1, S, S, C])],
  ['MDTA project_out: 1×1 conv 48→48', N * C * C, () => [nhwc(C, 1), rand([1, 1, C, C], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D)],
  ['GDFN project_in: one 1×1 conv 48→254', N * C * 2 * HIDDEN, () => [nhwc(C, 1), rand([1, 1, C, 2 * HIDDEN], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D), (b) => !halves(b)],
  ['GDFN depthwise 3×3, 254 ch', N * 2 * HIDDEN * 9, () => [nhwc(2 * HIDDEN, 1), rand([3, 3, 1, 2 * HIDDEN], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, { padding: 1, groups: 2 * HIDDEN }), (b) => !halves(b)],
  ['GDFN split into z₁, z₂ (127 ch each)', 0, () => [nhwc(2 * HIDDEN, 1)], ([z]) => all(...(tf.split(z!, 2, 3) as tf.Tensor[]).map((t) => () => t)), (b) => !halves(b)],
  ['GDFN project_in: two 1×1 convs 48→127 on weight halves', N * C * 2 * HIDDEN, () => [nhwc(C, 1), rand([1, 1, C, 2 * HIDDEN], 2)], ([x, w]) => all(...[0, HIDDEN].map((a) => () => tf.tidy(() => conv2d(x as tf.Tensor4D, half(w!, a))))), halves],
  ['GDFN depthwise 3×3, two × 127 ch on weight halves', N * 2 * HIDDEN * 9, () => [nhwc(HIDDEN, 1), rand([3, 3, 1, 2 * HIDDEN], 2)], ([x, w]) => all(...[0, HIDDEN].map((a) => () => tf.tidy(() => conv2d(x as tf.Tensor4D, half(w!, a), { padding: 1, groups: HIDDEN })))), halves],
  ['GDFN gate: GELU(z₁)·z₂ (exact erf GELU)', 0, () => [nhwc(HIDDEN, 1), nhwc(HIDDEN, 2)], ([a, b]) => tf.tidy(() => tf.mul(gelu(a!), b!))],
  ['GDFN project_out: 1×1 conv 127→48', N * HIDDEN * C, () => [nhwc(HIDDEN, 1), rand([1, 1, HIDDEN, C], 2)], ([x, w]) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D)],
  ['residual adds, ×2', 0, () => [nhwc(C, 1), nhwc(C, 2)], ([a, b]) => all(() => tf.add(a!, b!), () => tf.add(a!, b!))],
];
const BLOCK = 'TransformerBlock (the whole block in one call)';
const SUM = 'sum of the rows above';
/** The block's multiply-adds: the convs and the two attention products above (LayerNorm, softmax, GELU uncounted). */
const BLOCK_MACS = OPS.reduce((s, [, macs, , , on]) => s + (on && !on('webgl') ? 0 : macs), 0);

async function timeOp(f: () => tf.Tensor): Promise<number> {
  const warm = f();
  await warm.data();
  warm.dispose();
  const t0 = performance.now();
  let y: tf.Tensor | null = null;
  for (let i = 0; i < REPS; i++) {
    y?.dispose();
    y = f();
  }
  await y!.data();
  const ms = (performance.now() - t0) / REPS;
  y!.dispose();
  return ms;
}

it(`ops of a Restormer level-1 Transformer block at ${S}²`, async () => {
  const backend = tf.getBackend();
  const { note } = benchOptions();
  const date = new Date().toISOString();
  const entries: Entry[] = [];
  for (const [op, macs, make, run, on] of OPS) {
    if (on && !on(backend)) continue; // a step this backend's GDFN does not take
    const ins = make();
    const ms = await timeOp(() => run(ins));
    tf.dispose(ins);
    entries.push({ op, ms, gflop: (2 * macs) / 1e9, date, ...(note ? { remark: note } : {}) });
    console.log(`[ops ${backend}] ${op}: ${ms.toFixed(1)} ms`);
  }
  const block = new TransformerBlock({ dim: C, heads: 1, ffnExpansionFactor: 2.66, bias: false, layerNormType: 'WithBias' });
  const x = rand([1, S, S, C], 1);
  tf.dispose(block.apply(x) as tf.Tensor); // builds the weights
  const ms = await timeOp(() => block.apply(x) as tf.Tensor);
  entries.push({ op: SUM, ms: entries.reduce((t, e) => t + e.ms, 0), gflop: (2 * BLOCK_MACS) / 1e9, date, ...(note ? { remark: note } : {}) });
  entries.push({ op: BLOCK, ms, gflop: (2 * BLOCK_MACS) / 1e9, date, ...(note ? { remark: note } : {}) });
  console.log(`[ops ${backend}] whole block: ${ms.toFixed(1)} ms`);
  block.dispose();
  tf.dispose(x);
  const env = isBrowser ? navigator.userAgent : `node ${process.version} on ${process.platform}/${process.arch}`;
  await writeText(`results/ops-${backend}.json`, JSON.stringify({ backend, env, size: S, reps: REPS, entries } satisfies Results, null, 2) + '\n');
  await writeText('results/ops.md', await markdown());
}, 3_600_000);

async function markdown(): Promise<string> {
  const all: Results[] = [];
  for (const b of BACKENDS) {
    const t = await readText(`results/ops-${b}.json`);
    if (t) all.push(JSON.parse(t) as Results);
  }
  const ops = [...OPS.map(([op]) => op), SUM, BLOCK];
  const cell = (r: Results, op: string) => {
    const e = r.entries.find((x) => x.op === op);
    if (!e) return '–';
    return `${e.ms.toFixed(1)}${e.gflop > 0 ? ` (${(e.gflop / (e.ms / 1000)).toFixed(2)})` : ''}`;
  };
  const remarks = all.flatMap((r) => (r.entries[0]?.remark ? [`- ${r.backend}: ${r.entries[0].remark}`] : []));
  return [
    `# One Restormer Transformer block, op by op (level 1 of the official model: C = 48, 1 head, GDFN hidden 127; 1×${S}×${S}×48)`,
    '',
    'Measured by `pnpm --filter @restorekit/benchmarks exec vitest run --config vitest.config.ts --project <backend> src/ops.bench.test.ts`',
    '(benchmarks/src/ops.bench.test.ts) on the development machine (2 cores, Node 20). webgl and webgpu ran in headless Chromium',
    'on **SwiftShader, a software GPU: these timings say nothing about real GPUs**. Each figure: milliseconds per call',
    `(${REPS} calls back to back after a warm-up, then one read-back of the last output), with GFLOP/s in parentheses where the op`,
    'has multiply-adds (2 × MACs). The rows are the block\'s steps in order (a row marked ×k runs its step k times); the last',
    'row is the whole block (two LayerNorms, MDTA, GDFN, two residual adds) in one call, through restorekit\'s blocks.',
    'GDFN computes z₁ and z₂ from halves of its weights on cpu and wasm (channel slices of activations are slow there) and with',
    'one conv and a split elsewhere: each backend has figures for the rows of its own path only.',
    'Until 2026-11-24 MDTA sliced q, k, v out of qkv\'s channels and transposed each, and GDFN split its 254-channel activation',
    'in two: the whole block then took cpu 9719 ms, wasm 172 ms, webgl 973 ms, webgpu 7998 ms (this machine, this file; on cpu',
    'those channel slices took 6.8 s of the 9.7). Both now slice weights or a contiguous outer axis instead.',
    '',
    ...(all.some((r) => r.backend === 'tensorflow') ? [] : [TFJS_NODE_ABSENT, '']),
    `| op | ${all.map((r) => r.backend).join(' | ')} |`,
    `|---|${all.map(() => '---').join('|')}|`,
    ...ops.map((op) => `| ${op} | ${all.map((r) => cell(r, op)).join(' | ')} |`),
    '',
    ...(all.length ? [`Measured: ${all.map((r) => `${r.backend} ${r.entries[0]?.date.slice(0, 10) ?? '?'}`).join(', ')}.`] : []),
    ...(remarks.length ? ['', 'Remarks:', ...remarks] : []),
    '',
  ].join('\n');
}
