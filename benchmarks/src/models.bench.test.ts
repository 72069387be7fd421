/**
 * Forward latency, peak memory and achieved GFLOP/s of the official presets (Restormer 'official',
 * AnyIR 'official', DRCNet 'official') at 256² and 512² on the current backend, batch 1, random weights
 * (speed does not depend on the values). FLOPs = 2 × the multiply-adds counted in the specs at 256²
 * (conv + attention matmuls; all three models scale linearly with the pixel count):
 * Restormer 154.88 G (restormer-anyir-fsderain.md §2.5), AnyIR 34.29 G (§3.6), DRCNet 114.4 G conv MACs
 * (drcnet-lcdnet-fsdrnet.md §1.6). Peak memory is tf.profile's peakBytes over one forward (the
 * weights included). One untimed warm-up run (shader compilation, allocations), then timed runs.
 * A size whose predicted run time exceeds the cap is skipped, with the prediction written down.
 * Sizes: 64² (probe), 256², 512²; the rate measured at one size predicts the next.
 * A forward predicted to take over a minute runs once only: that single run, under tf.profile, is the
 * measurement (it includes shader compilation and first allocations, negligible at that length).
 * BENCH_MODELS / BENCH_SIZES / BENCH_CAP_S select models, sizes and the cap (vitest.config.ts); results
 * are merged into results/models-<backend>.json after every entry (a measured entry is never replaced
 * by a skipped one), and results/models.md is regenerated from all backends. Not a unit test.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { isBrowser, readText, writeText } from './results-io.js';
import { BACKENDS, TFJS_NODE_ABSENT, benchOptions } from './options.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createModel } from '@restorekit/models';

const MODELS: { name: string; preset: string; gmac256: number }[] = [
  { name: 'restormer', preset: 'official', gmac256: 154.88 },
  { name: 'anyir', preset: 'official', gmac256: 34.29 },
  { name: 'drcnet', preset: 'official', gmac256: 114.4 },
];
/** 64² is a cheap probe: it gives every backend a measured throughput that predicts the larger sizes. */
const SIZES = [64, 256, 512];
/** Longest single forward we run by default, per backend (pure-JS cpu is ~0.3 GFLOP/s); BENCH_CAP_S overrides. */
const CAP_MS: Record<string, number> = { cpu: 150_000, wasm: 120_000, webgl: 90_000, webgpu: 90_000, tensorflow: 300_000 };
/** Before anything was measured on a backend, this rate predicts run times (GFLOP/s). */
const PRIOR_GFLOPS: Record<string, number> = { cpu: 0.3, wasm: 10, webgl: 1, webgpu: 0.2, tensorflow: 20 };
/** A forward longer than this is run once (the profiled run is the measurement). */
const SINGLE_RUN_MS = 60_000;

interface Entry { model: string; preset: string; size: number; gflop: number; ms?: number; runs?: number; gflops?: number; peakMB?: number; skipped?: string; error?: string; date?: string; remark?: string }
interface Results { backend: string; env: string; date: string; entries: Entry[] }

async function forward(net: tfl.layers.Layer, x: tf.Tensor): Promise<void> {
  const out = net.apply(x) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(out) ? out : [out];
  await list[list.length - 1]!.data(); // read back: the timing covers the whole computation
  tf.dispose(list);
}

const key = (e: { model: string; size: number }) => `${e.model}@${e.size}`;

async function save(backend: string, fresh: Entry[]): Promise<void> {
  const env = isBrowser ? navigator.userAgent : `node ${process.version} on ${process.platform}/${process.arch}`;
  const old = await readText(`results/models-${backend}.json`);
  const byKey = new Map<string, Entry>();
  for (const e of old ? (JSON.parse(old) as Results).entries : []) byKey.set(key(e), e);
  for (const e of fresh) {
    const prev = byKey.get(key(e));
    if (e.ms === undefined && prev?.ms !== undefined) continue; // keep a measurement over a new skip
    byKey.set(key(e), e);
  }
  const order = (e: Entry) => MODELS.findIndex((m) => m.name === e.model) * 1e6 + e.size;
  const entries = [...byKey.values()].sort((a, b) => order(a) - order(b));
  await writeText(`results/models-${backend}.json`, JSON.stringify({ backend, env, date: new Date().toISOString(), entries }, null, 2));
  await markdown();
}

/**
 * Entries measured before these instants ran the code from before the latest peak-memory work on that model: their
 * peak memory is marked † in the report. Restormer and AnyIR (07:26): intermediates freed early, convs padding in the
 * kernel, GDFN in channel chunks, the models freeing their encoder/decoder tensors; then (10:45, 10:58) q, k, v from
 * one transpose of qkv, GDFN without activation splits on cpu/wasm, AnyIR's attention freeing its stages. DRCNet
 * (10:20): DFR, SimAM and the model freeing their intermediates once consumed. Latency changed little, except on cpu.
 */
const MEMORY_WORK_LANDED: Record<string, string> = {
  restormer: '2026-11-24T10:45:00Z',
  anyir: '2026-11-24T10:58:00Z',
  drcnet: '2026-11-24T10:20:00Z',
};
const beforeMemoryWork = (e: Entry) => !e.date || e.date < (MEMORY_WORK_LANDED[e.model] ?? '');

/** Regenerates results/models.md from every backend's JSON. */
async function markdown(): Promise<void> {
  const rows: string[] = [];
  let tensorflowMeasured = false;
  for (const b of BACKENDS) {
    const txt = await readText(`results/models-${b}.json`);
    if (!txt) continue;
    if (b === 'tensorflow') tensorflowMeasured = true;
    const r = JSON.parse(txt) as Results;
    for (const x of r.entries) {
      const note = (x.skipped ?? x.error ?? (x.runs === 0 ? '1 run (the profiled one, incl. compilation)' : `median of ${x.runs} timed run(s)`)) + (x.remark ? `; ${x.remark}` : '');
      rows.push(`| ${b} | ${x.model} (${x.preset}) | ${x.size}² | ${x.gflop.toFixed(0)} | ${x.ms ? (x.ms / 1000).toFixed(2) + ' s' : '–'} | ${x.gflops ? x.gflops.toFixed(2) : '–'} | ${x.peakMB ? x.peakMB.toFixed(0) + (beforeMemoryWork(x) ? ' †' : '') : '–'} | ${note}${x.date ? ` (${x.date.slice(0, 10)})` : ''} |`);
    }
  }
  await writeText('results/models.md', [
    '# Official presets: forward pass (batch 1)',
    '',
    'Measured by `pnpm --filter @restorekit/benchmarks bench` (benchmarks/src/models.bench.test.ts) on the development machine',
    '(2 cores, Node 20). webgl and webgpu ran in headless Chromium on **SwiftShader, a software GPU: these timings say',
    'nothing about real GPUs**. GFLOP = 2 × the spec\'s multiply-add count (conv + attention matmuls). Peak memory is',
    'tf.profile\'s peakBytes over one forward, weights included, in MiB (2²⁰ bytes). Forwards over a minute were run once.',
    'Restormer at 512² on webgl first failed with "Failed to compile fragment shader." and an empty compiler log (a lost',
    'WebGL context): Chromium\'s GPU watchdog killed the GPU process during one long SwiftShader draw. The test config now',
    'launches Chromium with --disable-gpu-watchdog (vitest.shared.ts), and the same forward ran to the end.',
    'On SwiftShader webgpu a forward at 64² is dominated by per-dispatch overhead (one Restormer forward runs ~3,300',
    'kernels, AnyIR ~6,600, DRCNet ~1,000); at 256² the arithmetic dominates (DRCNet: 1061 s, more than the 663 s the 64²',
    'rate predicted, while sharing the cores). Entries with a remark ran while something else shared the 2 cores.',
    'DRCNet at 512² on webgl first failed with "Requested texture size [8689x8689] greater than WebGL maximum": tfjs builds one',
    'im2col texture per conv; restorekit\'s convs now run in row bands past that limit (@restorekit/core), and the forward ran.',
    '† Peak memory measured before the peak-memory work of 2026-11-24: GDFN, MDTA, PreNormResidualBlock and Sequential free',
    'intermediates as soon as they are consumed; convs pad inside the tfjs kernel instead of copying a padded input; GDFN',
    'computes hidden activations over 128 MiB in channel chunks (GDFN maxHiddenBytes); the Restormer and AnyIR models free',
    'their encoder/decoder tensors once consumed. Restormer on wasm: 256² 1120 → 643 MiB; 512² failed ("memory access out of',
    'bounds": the wasm heap ends at 4 GB and had reached 3.9 GB) and then peaked at 1642 MiB. DRCNet (later the same day): DFR,',
    'SimAM and the model free their intermediates once consumed: wasm 512² 1797 → 929 MiB. Then MDTA and',
    'AnyIR\'s attention take q, k, v with one transpose of qkv (no channel slices), GDFN skips its activation split on cpu and wasm,',
    'and AnyIR\'s attention frees its stages: wasm Restormer 512² 1642 → 1450 MiB, AnyIR 512² 1697 → 1109 MiB.',
    'Unmarked figures are of the current code.',
    'Where a block\'s time goes on each backend: results/ops.md (one Restormer block op by op). On SwiftShader\'s webgpu, tfjs\'s',
    'tiled matmul/conv and reduction kernels (workgroup memory and barriers, emulated on the CPU) run 5–20× slower than',
    'webgl\'s: the LayerNorms and 1×1 convs of a block, not restorekit\'s code paths, make the webgpu forwards the slowest here.',
    'Regenerate this file from the JSON files only: `BENCH_MODELS=none` (any project).',
    'Re-run a part: `BENCH_MODELS=drcnet BENCH_SIZES=512 BENCH_CAP_S=3600 pnpm --filter @restorekit/benchmarks exec vitest run --project webgl src/models.bench.test.ts`.',
    '',
    ...(tensorflowMeasured ? [] : [TFJS_NODE_ABSENT, '']),
    '| backend | model | input | GFLOP | latency | GFLOP/s | peak MiB | note |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'));
}

describe('official presets: forward latency, peak memory, GFLOP/s', () => {
  it('measures every selected model and size within the time cap', async () => {
    const opts = benchOptions();
    const backend = tf.getBackend();
    const cap = opts.capS ? opts.capS * 1000 : (CAP_MS[backend] ?? 120_000);
    const models = MODELS.filter((m) => !opts.models || opts.models.includes(m.name));
    const sizes = opts.sizes ?? SIZES;
    if (models.length === 0) return markdown(); // BENCH_MODELS=none: the report only
    const entries: Entry[] = [];
    for (const m of models) {
      let rate = PRIOR_GFLOPS[backend] ?? 1; // updated with what this model achieved on this backend
      const prev = await readText(`results/models-${backend}.json`);
      const known = prev ? (JSON.parse(prev) as Results).entries.filter((e) => e.model === m.name && e.gflops) : [];
      if (known.length) rate = known[known.length - 1]!.gflops!; // the largest measured size predicts best
      const net = createModel(m.name, { preset: m.preset });
      for (const size of sizes) {
        const gflop = (2 * m.gmac256 * (size * size)) / (256 * 256);
        const e: Entry = { model: m.name, preset: m.preset, size, gflop, date: new Date().toISOString(), ...(opts.note ? { remark: opts.note } : {}) };
        entries.push(e);
        const predicted = (gflop / rate) * 1000;
        if (predicted > cap) {
          e.skipped = `not run: predicted ${(predicted / 1000).toFixed(0)} s per forward at ${rate.toFixed(2)} GFLOP/s (cap ${cap / 1000} s)`;
          await save(backend, [e]);
          continue;
        }
        const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
        try {
          // warm-up under tf.profile: peak memory of one forward (weights included)
          const t = performance.now();
          const prof = await tf.profile(() => forward(net, x) as unknown as tf.TensorContainer);
          const first = performance.now() - t;
          e.peakMB = prof.peakBytes / 2 ** 20;
          if (first > SINGLE_RUN_MS) {
            e.ms = first;
            e.runs = 0;
          } else {
            const times: number[] = [];
            const t0 = performance.now();
            do {
              const t1 = performance.now();
              await forward(net, x);
              times.push(performance.now() - t1);
            } while (times.length < 3 && performance.now() - t0 + times[0]! < cap / 2);
            times.sort((a, b) => a - b);
            e.ms = times[Math.floor(times.length / 2)]!;
            e.runs = times.length;
          }
          e.gflops = gflop / (e.ms / 1000);
          rate = e.gflops;
        } catch (err) {
          e.error = (err as Error).message.slice(0, 300);
        } finally {
          x.dispose();
        }
        console.log(JSON.stringify(e));
        await save(backend, [e]);
      }
      net.dispose();
    }
    expect(entries.length).toBe(models.length * sizes.length);
  });
});
