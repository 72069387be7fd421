/**
 * The model matrix: every registered family's default preset (Restormer, AnyIR and DRCNet 'official', LCDNet,
 * FSDRNet and compact 'default'; compact only where @restorekit/models registers it; AnyIR's default fusion skips the
 * identity round trip through the DFT) plus AnyIR with that round trip written out (`frequencyBranch: 'fft'`, as the
 * official code computes it), × input sides 64, 128, 256
 * (BENCH_SIZES, up to 1024), on the current backend, batch 1, random weights (speed does not depend on the values).
 *
 * Per cell: one warm-up forward under tf.profile and a kernel counter (FLOPs from the kernels' shapes: convolutions
 * and matrix products, FFTs not counted, as in ../shared/anchors; peak tensor memory; process RSS at every kernel
 * call), then the median and spread of timed forwards (`apply` + `await data()` of the last output), megapixels/s,
 * GFLOP/s, and the fraction of this backend's peak measured at the start of the same run (a 1024² matMul and a 3×3
 * conv [1,128,128,64]→64). A cell whose forward is predicted (from the previous size, ×pixels) over the cap is
 * skipped with the prediction written down; on a software GPU (SwiftShader) only sides ≤ 128 run.
 *
 * Writes results/runs/<date>-models-<backend>.json (this run), merges into results/models-<backend>.json (a
 * measurement is never replaced by a skip), and regenerates the reports and charts (src/report.ts). Not a unit test.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createModel, getModelSpec, listModels } from '@restorekit/models';
import { countParams } from '@restorekit/core';
import { writeText } from './results-io.js';
import { benchOptions } from './options.js';
import { countKernels, environment, measurePeaks, timeRuns, type Peaks } from './measure.js';
import { readModelResults, writeReports, type ModelEntry } from './report.js';

/** Default input sides here; BENCH_SIZES overrides (a real machine can take 512 and 1024). */
const SIZES = [64, 128, 256];
/** Longest single forward attempted by default, per backend; BENCH_CAP_S overrides. */
const CAP_MS: Record<string, number> = { cpu: 60_000, wasm: 120_000, tensorflow: 120_000, webgl: 120_000, webgpu: 120_000 };
/** On a software GPU (SwiftShader) nothing above this side runs: its timings say nothing about GPUs, and 256² takes hours. */
const SOFTWARE_GPU_MAX_SIDE = 128;

interface Row {
  id: string;
  model: string;
  preset: string;
  variant?: string;
  overrides: Record<string, unknown>;
}

/** Every registered family's default preset, plus AnyIR with its fusion's FFT round trip written out. */
function matrixRows(selected: string[] | null): Row[] {
  const rows: Row[] = [];
  for (const m of listModels()) {
    const preset = getModelSpec(m.name).defaultPreset;
    rows.push({ id: m.name, model: m.name, preset, overrides: {} });
    if (m.name === 'anyir') rows.push({ id: 'anyir-fft', model: 'anyir', preset, variant: 'FFT fusion written out', overrides: { frequencyBranch: 'fft' } });
  }
  const order = ['restormer', 'anyir', 'anyir-fft', 'drcnet', 'lcdnet', 'fsdrnet', 'compact'];
  rows.sort((a, b) => ((order.indexOf(a.id) + 99) % 99) - ((order.indexOf(b.id) + 99) % 99) || a.id.localeCompare(b.id));
  if (!selected) return rows;
  // 'family:preset' adds a non-default preset
  return selected.flatMap((s) => {
    const [name, preset] = s.split(':') as [string, string | undefined];
    if (preset) return [{ id: `${name}:${preset}`, model: name, preset, overrides: {} }];
    return rows.filter((r) => r.id === name);
  });
}

async function forward(net: tfl.layers.Layer, x: tf.Tensor): Promise<void> {
  const out = net.apply(x) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(out) ? out : [out];
  await list[list.length - 1]!.data(); // read back: the timing covers the whole computation
  tf.dispose(list);
}

const key = (e: { row: string; size: number }) => `${e.row}@${e.size}`;
const stamp = (d: Date) => d.toISOString().slice(0, 16).replace(':', '-');

async function save(backend: string, env: Record<string, unknown>, peaks: Peaks, fresh: ModelEntry[], runFile: string, started: Date): Promise<void> {
  await writeText(
    runFile,
    JSON.stringify({ format: 2, kind: 'models', backend, date: started.toISOString(), env, peaks, options: benchOptions(), entries: fresh }, null, 2),
  );
  const old = await readModelResults(backend);
  const byKey = new Map<string, ModelEntry>();
  for (const e of old?.entries ?? []) byKey.set(key(e), e);
  for (const e of fresh) {
    const prev = byKey.get(key(e));
    if (e.ms === undefined && prev?.ms !== undefined) continue; // keep a measurement over a new skip
    byKey.set(key(e), e);
  }
  const entries = [...byKey.values()].sort((a, b) => a.row.localeCompare(b.row) || a.size - b.size);
  await writeText(`results/models-${backend}.json`, JSON.stringify({ format: 2, backend, date: new Date().toISOString(), env, peaks, entries }, null, 2));
  await writeReports();
}

describe('model matrix: latency, throughput, memory and fraction of peak', () => {
  it('measures every selected row and size within the time cap', async () => {
    const opts = benchOptions();
    if (opts.models && opts.models.length === 0) return writeReports(); // BENCH_MODELS=none: the reports only
    const backend = tf.getBackend();
    const rows = matrixRows(opts.models);
    const sizes = opts.sizes ?? SIZES;
    const cap = opts.capS ? opts.capS * 1000 : (CAP_MS[backend] ?? 120_000);
    const started = new Date();
    const runFile = `results/runs/${stamp(started)}-models-${backend}.json`;
    const env = await environment(backend);
    const peaks = await measurePeaks();
    console.log(
      `[models.bench] ${backend} on ${env.device}: peak matMul ${peaks.matmul.gflops.toFixed(1)} GFLOP/s, conv3x3 ${peaks.conv3x3.gflops.toFixed(1)} GFLOP/s`,
    );
    const knownGflop = new Map<string, number>();
    for (const b of ['wasm', 'tensorflow', 'cpu', 'webgl', 'webgpu'])
      for (const e of (await readModelResults(b))?.entries ?? []) if (!e.legacy && e.gflop) knownGflop.set(`${e.row}@${e.size}`, e.gflop);
    const entries: ModelEntry[] = [];
    for (const row of rows) {
      const net = (await createModel(row.model, { preset: row.preset, ...row.overrides })) as unknown as tfl.layers.Layer;
      let params: number | undefined;
      let prev: { size: number; ms: number } | null = null;
      for (const size of sizes) {
        const e: ModelEntry = {
          row: row.id,
          model: row.model,
          preset: row.preset,
          ...(row.variant ? { variant: row.variant } : {}),
          size,
          date: new Date().toISOString(),
          device: env.device as string,
          software: env.software as boolean,
          peakMatmulGflops: peaks.matmul.gflops,
          peakConvGflops: peaks.conv3x3.gflops,
          ...(opts.note ? { remark: opts.note } : {}),
        };
        entries.push(e);
        // from the previous side (× pixels); for the first side, from a FLOP count of another backend at 30 % of this one's peak
        const known = prev ? undefined : knownGflop.get(`${row.id}@${size}`);
        const predicted = prev ? prev.ms * (size / prev.size) ** 2 : known ? (known / (0.3 * peaks.conv3x3.gflops)) * 1000 : 0;
        if (env.software && size > SOFTWARE_GPU_MAX_SIDE) {
          e.skipped = `not run: ${size}² on a software GPU (${env.device}); SwiftShader rows stop at ${SOFTWARE_GPU_MAX_SIDE}²`;
        } else if (predicted > cap) {
          e.skipped = `not run: predicted ${(predicted / 1000).toFixed(0)} s per forward ${prev ? `from ${prev.size}²` : `(${known!.toFixed(0)} GFLOP at 30 % of the conv peak)`} (cap ${cap / 1000} s)`;
        }
        if (e.skipped) {
          console.log(JSON.stringify(e));
          await save(backend, env, peaks, entries, runFile, started);
          continue;
        }
        const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
        try {
          const t = performance.now();
          let profile: Awaited<ReturnType<typeof tf.profile>> | undefined;
          const { count } = await countKernels(async () => {
            profile = await tf.profile(() => forward(net, x) as unknown as tf.TensorContainer);
          });
          e.warmupMs = performance.now() - t;
          params ??= countParams(net as never);
          e.params = params;
          e.gflop = count.flops / 1e9;
          e.fftGflop = count.fftFlops / 1e9;
          e.kernels = count.kernels;
          e.peakMiB = profile!.peakBytes / 2 ** 20;
          if (count.rssPeak !== null) {
            e.rssPeakMiB = count.rssPeak / 2 ** 20;
            e.rssBeforeMiB = count.rssBefore! / 2 ** 20;
          }
          const st = await timeRuns(() => forward(net, x), e.warmupMs);
          Object.assign(e, st);
          e.mps = (size * size) / 1e6 / (st.ms / 1000);
          e.gflops = e.gflop / (st.ms / 1000);
          e.fractionOfPeak = e.gflops / peaks.conv3x3.gflops;
          prev = { size, ms: st.ms };
        } catch (err) {
          e.error = (err as Error).message.slice(0, 300);
        } finally {
          x.dispose();
        }
        console.log(JSON.stringify({ ...e, times: undefined }));
        await save(backend, env, peaks, entries, runFile, started);
      }
      net.dispose();
    }
    expect(entries.length).toBe(rows.length * sizes.length);
  });
});
