/**
 * One training step of every registered family's default preset (Restormer, AnyIR and DRCNet 'official', LCDNet,
 * FSDRNet and compact 'default') on the current backend: @restorekit/train's `Trainer` (AdamW, L1 loss on the
 * model's last output, no clipping or EMA), batch 1, a BENCH_TRAIN_SIZE² patch (default 128), random weights.
 *
 * Per model: the first step (kernel compilation, optimizer state allocation) timed apart, then the median of
 * BENCH_TRAIN_STEPS (default 3) steps; the step's GFLOP counted from the kernels it runs (convolutions and matrix
 * products of the forward and of the backward — Conv2DBackpropInput/Filter, DepthwiseConv2dNativeBackpropInput/Filter —
 * as src/measure.ts counts the forward; norms, elementwise ops, FFTs and the optimizer update are not counted), the
 * step's GFLOP/s and its fraction of the backend's 3×3-conv peak measured at the start of the run; the forward's
 * GFLOP alone, for the backward / forward ratio; the tensors held after the steps (none may be added per step).
 * A model whose first step is predicted over BENCH_CAP_S (default 300 s) from the forward's FLOPs is skipped.
 * BENCH_TRAIN_RECOMPUTE=on|off (default on for wasm, off elsewhere): the Trainer's `recompute` (gradient checkpointing of
 * the repeated units; tfjs-backend-wasm's heap ends at 4 GB, which the official presets' 128² steps need more than
 * without it). Peak tensor memory of the first step: the highest `tf.memory().numBytes` at any kernel call.
 *
 * First (BENCH_TRAIN_GRADIENTS=on, the default), restorekit's conv2d alone at four official-preset shapes: the forward and
 * the forward + backward (input and filter gradients), the backward's GFLOP/s (2 × the forward's GFLOP) and % of peak —
 * the gradient paths restorekit supplies where the backend lacks or is slow at them (wasm).
 *
 * Writes results/runs/<date>-train-<backend>.json, results/train-<backend>.json and results/train.md (every
 * backend's JSON). Not a unit test.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { conv2d, countParams } from '@restorekit/core';
import { createModel, getModelSpec, listModels } from '@restorekit/models';
import { AdamW, Trainer } from '@restorekit/train';
import { readText, writeText } from './results-io.js';
import { benchOptions } from './options.js';
import { countKernels, environment, measurePeaks } from './measure.js';

const ORDER = ['restormer', 'anyir', 'drcnet', 'lcdnet', 'fsdrnet', 'compact'];
const BACKENDS = ['cpu', 'wasm', 'tensorflow', 'webgl', 'webgpu'];

interface TrainEntry {
  model: string;
  preset: string;
  size: number;
  params?: number;
  firstStepMs?: number;
  stepMs?: number;
  stepTimes?: number[];
  /** Process CPU time of each timed step (Node), ms: what other processes on a loaded machine do not stretch. */
  stepCpuTimes?: number[];
  stepCpuMs?: number;
  stepGflop?: number;
  forwardGflop?: number;
  gflops?: number;
  ofConvPeak?: number;
  tensorsAddedPerStep?: number;
  /** Gradient checkpointing on (Trainer option `recompute`) and how many blocks it marked. */
  recompute?: boolean;
  recomputed?: number;
  /** Highest live tensor bytes during the first step (weights, optimizer state and inputs included), MiB. */
  peakTensorMiB?: number;
  skipped?: string;
  error?: string;
  date: string;
}
/** One convolution's forward and backward (input and filter gradients) through @restorekit/core's conv2d. */
interface GradientPathEntry {
  shape: string;
  forwardGflop: number;
  forwardMs: number;
  /** Forward + backward (tf.grads w.r.t. input and filter), ms; the backward's GFLOP = 2 × forward's. */
  forwardBackwardMs: number;
  backwardGflops: number;
  backwardOfPeak: number;
}
interface TrainResults {
  format: 1;
  backend: string;
  date: string;
  env: Record<string, unknown>;
  peakConvGflops: number;
  entries: TrainEntry[];
  /** The convolution gradient paths alone (BENCH_TRAIN_GRADIENTS, default on). */
  gradientPaths?: GradientPathEntry[];
}

/** Convolutions of the official presets' sizes: 3×3 and 1×1, 48–192 channels, 64²–128². */
const GRADIENT_SHAPES: [number, number, number, number][] = [
  [128, 48, 48, 3],
  [64, 96, 96, 3],
  [128, 48, 144, 1],
  [64, 192, 192, 1],
];

async function gradientPaths(peak: number): Promise<GradientPathEntry[]> {
  const out: GradientPathEntry[] = [];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  for (const [size, cin, cout, k] of GRADIENT_SHAPES) {
    const x = tf.randomNormal([1, size, size, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, cin, cout], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    const probe = tf.randomNormal([1, size, size, cout], 0, 1, 'float32', 3);
    const pad = (k - 1) / 2;
    const fwd = async () => {
      const y = conv2d(x, w, { padding: pad });
      await y.data();
      y.dispose();
    };
    const both = async () => {
      // dy given: the backward is the conv's own gradient paths, no loss ops
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { padding: pad }))([x, w], probe);
      await Promise.all(g.map((t) => t.data()));
      tf.dispose(g);
    };
    // the two timed alternately (a warm-up each, then 7 pairs): the backward is their difference, so a change in the
    // machine's speed between two separate series (one run read the forward at 29 ms against 16 alone) must not land
    // on one side only
    const ts: [number[], number[]] = [[], []];
    await fwd();
    await both();
    for (let i = 0; i < 7; i++)
      for (const [k, f] of [fwd, both].entries()) {
        const t0 = performance.now();
        await f();
        ts[k]!.push(performance.now() - t0);
      }
    const forwardMs = median(ts[0]);
    const forwardBackwardMs = median(ts[1]);
    const forwardGflop = (2 * size * size * cin * cout * k * k) / 1e9;
    const backwardGflops = (2 * forwardGflop) / ((forwardBackwardMs - forwardMs) / 1000);
    out.push({ shape: `${size}² ${cin}→${cout} ${k}×${k}`, forwardGflop, forwardMs, forwardBackwardMs, backwardGflops, backwardOfPeak: backwardGflops / peak });
    tf.dispose([x, w, probe]);
  }
  return out;
}

const num = (v: number | undefined, d = 1) => (v === undefined ? '–' : v.toFixed(d));
const secs = (ms: number | undefined) => (ms === undefined ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

async function writeReport(): Promise<void> {
  const lines = [
    '# One training step per model (forward, backward, AdamW update)',
    '',
    'Generated from `results/train-<backend>.json` (benchmarks/src/train.bench.test.ts): @restorekit/train `Trainer` with AdamW and an',
    "L1 loss on the model's last output, batch 1, a random patch, random weights; the median of the timed steps after a first",
    'step timed apart. **GFLOP / step**: multiply-adds × 2 of every convolution and matrix product the step runs, forward and',
    'backward (src/measure.ts; elementwise ops, norms, FFTs and the optimizer update not counted); **bwd/fwd** = (step − forward)',
    "÷ forward GFLOP (≈ 2 when every layer's input and weight gradients are computed). **% of peak**: against the backend's 3×3-conv",
    'throughput measured at the start of the same run. **tensors +/step**: tensors held after the last step minus after the first,',
    'divided by the steps between (0: memory flat). **step CPU time** (Node): the process CPU time of the median step, over all',
    'threads (tensorflow runs on both cores, so it can exceed the wall time); GFLOP/s use the wall time.',
    '',
  ];
  for (const b of BACKENDS) {
    const text = await readText(`results/train-${b}.json`);
    if (!text) continue;
    const r = JSON.parse(text) as TrainResults;
    const env = r.env as { device?: string; node?: string; loadavg?: number[]; commit?: string };
    lines.push(
      `## ${b}`,
      '',
      `${env.device ?? b}, Node ${env.node ?? '?'}, commit ${env.commit ?? '?'}, load average at start ${(env.loadavg ?? []).join(' / ')}; conv peak ${num(r.peakConvGflops)} GFLOP/s; run ${r.date.slice(0, 16).replace('T', ' ')} UTC.`,
      '',
      '| model | preset | patch | params | recompute | peak tensors | first step | step (median) | step CPU time | GFLOP / step | bwd/fwd | GFLOP/s | % of peak | tensors +/step | note |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const e of r.entries)
      lines.push(
        `| ${e.model} | ${e.preset} | ${e.size}² | ${e.params?.toLocaleString('en-US') ?? '–'} | ${e.recompute === undefined ? '–' : e.recompute ? `on (${e.recomputed} blocks)` : 'off'} | ${e.peakTensorMiB === undefined ? '–' : `${e.peakTensorMiB.toFixed(0)} MiB`} | ${secs(e.firstStepMs)} | ${secs(e.stepMs)} | ${secs(e.stepCpuMs)} | ${num(e.stepGflop)} | ${
          e.stepGflop && e.forwardGflop ? ((e.stepGflop - e.forwardGflop) / e.forwardGflop).toFixed(2) : '–'
        } | ${num(e.gflops)} | ${e.ofConvPeak === undefined ? '–' : `${(100 * e.ofConvPeak).toFixed(0)} %`} | ${e.tensorsAddedPerStep ?? '–'} | ${e.skipped ?? e.error ?? ''} |`,
      );
    lines.push('');
    if (r.gradientPaths?.length) {
      lines.push(
        `Convolution gradient paths alone (restorekit's \`conv2d\`, its input and filter gradients for a given dy; backward GFLOP = 2 × forward; % of the same conv peak):`,
        '',
        '| conv | forward | forward + backward | backward GFLOP/s | % of peak |',
        '|---|---|---|---|---|',
      );
      for (const g of r.gradientPaths)
        lines.push(
          `| ${g.shape} | ${secs(g.forwardMs)} | ${secs(g.forwardBackwardMs)} | ${num(g.backwardGflops)} | ${(100 * g.backwardOfPeak).toFixed(0)} % |`,
        );
      lines.push('');
    }
  }
  await writeText('results/train.md', lines.join('\n'));
}

describe('training step per model', () => {
  it('times one AdamW step of every default preset', async () => {
    const opts = benchOptions();
    if (opts.models && opts.models.length === 0) return writeReport();
    const backend = tf.getBackend();
    const size = Number(process.env.BENCH_TRAIN_SIZE ?? 128);
    const steps = Number(process.env.BENCH_TRAIN_STEPS ?? 3);
    const cap = (opts.capS ?? 300) * 1000;
    const recompute = (process.env.BENCH_TRAIN_RECOMPUTE ?? (backend === 'wasm' ? 'on' : 'off')) === 'on';
    const started = new Date();
    const env = await environment(backend);
    const peaks = await measurePeaks();
    const res: TrainResults = { format: 1, backend, date: started.toISOString(), env, peakConvGflops: peaks.conv3x3.gflops, entries: [] };
    // The gradient paths restorekit supplies (filter gradients from forward ops, transposed convs as convs) run where
    // the backend lacks or is slow at its own kernels: wasm. Elsewhere the backend's kernels run, and with dy given their
    // backward is a few ms whose difference of medians says nothing (tensorflow: 1×1 192→192 came out at 464 % of peak).
    const supplied = backend === 'wasm';
    if (supplied && (process.env.BENCH_TRAIN_GRADIENTS ?? 'on') === 'on') res.gradientPaths = await gradientPaths(peaks.conv3x3.gflops);
    // a model this run leaves out (BENCH_MODELS) keeps its previous entry
    const previous = JSON.parse((await readText(`results/train-${backend}.json`)) ?? 'null') as TrainResults | null;
    const save = async () => {
      await writeText(`results/runs/${started.toISOString().slice(0, 16).replace(':', '-')}-train-${backend}.json`, JSON.stringify(res, null, 2));
      const kept = (previous?.entries ?? []).filter((p) => !res.entries.some((e) => e.model === p.model));
      if (supplied && !res.gradientPaths && previous?.gradientPaths) res.gradientPaths = previous.gradientPaths;
      const entries = [...kept, ...res.entries].sort((a, b) => ((ORDER.indexOf(a.model) + 99) % 99) - ((ORDER.indexOf(b.model) + 99) % 99));
      await writeText(`results/train-${backend}.json`, JSON.stringify({ ...res, entries }, null, 2));
      await writeReport();
    };
    const names = listModels()
      .map((m) => m.name)
      .filter((n) => !opts.models || opts.models.includes(n))
      .sort((a, b) => ((ORDER.indexOf(a) + 99) % 99) - ((ORDER.indexOf(b) + 99) % 99));
    for (const name of names) {
      const preset = getModelSpec(name).defaultPreset;
      const e: TrainEntry = { model: name, preset, size, date: new Date().toISOString() };
      res.entries.push(e);
      const net = (await createModel(name, { preset })) as unknown as tfl.layers.Layer;
      const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
      const y = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 2);
      let trainer: Trainer | null = null;
      try {
        e.params = countParams(net as never);
        const fwd = await countKernels(async () => {
          const out = net.apply(x) as tf.Tensor | tf.Tensor[];
          const list = Array.isArray(out) ? out : [out];
          await list[list.length - 1]!.data();
          tf.dispose(list);
        });
        e.forwardGflop = fwd.count.flops / 1e9;
        const predicted = ((3 * e.forwardGflop) / (0.2 * peaks.conv3x3.gflops)) * 1000;
        if (predicted > cap) {
          e.skipped = `not run: first step predicted ${(predicted / 1000).toFixed(0)} s (3 × ${e.forwardGflop.toFixed(1)} GFLOP at 20 % of the conv peak; cap ${cap / 1000} s)`;
          await save();
          continue;
        }
        trainer = new Trainer({
          model: net as never,
          optimizer: new AdamW({ lr: 1e-4 }),
          recompute,
          // L1 on the restored image: the output shaped like the target (FSDRNet also returns its routing logits)
          loss: (out, target) => {
            const t = target as tf.Tensor;
            const o = (Array.isArray(out) ? out : [out]).find((v) => v.shape.join() === t.shape.join());
            if (!o) throw new Error(`no output of shape [${t.shape}] among [${(Array.isArray(out) ? out : [out]).map((v) => `[${v.shape}]`).join(', ')}]`);
            return tf.mean(tf.abs(tf.sub(o, t))) as tf.Scalar;
          },
        });
        const t = trainer;
        const first = await countKernels(() => t.step({ input: x, target: y }));
        e.firstStepMs = first.result.stepMs;
        e.recompute = recompute;
        e.recomputed = t.recomputed;
        e.peakTensorMiB = first.count.tensorBytesPeak / 2 ** 20;
        e.stepGflop = first.count.flops / 1e9;
        const held = tf.memory().numTensors;
        e.stepTimes = [];
        e.stepCpuTimes = [];
        const cpu = () => {
          const u = globalThis.process?.cpuUsage?.();
          return u ? (u.user + u.system) / 1000 : Number.NaN;
        };
        for (let i = 0; i < steps; i++) {
          const c0 = cpu();
          e.stepTimes.push((await t.step({ input: x, target: y })).stepMs);
          e.stepCpuTimes.push(cpu() - c0);
        }
        if (e.stepCpuTimes.every(Number.isFinite)) e.stepCpuMs = [...e.stepCpuTimes].sort((a, b) => a - b)[Math.floor(steps / 2)]!;
        else delete e.stepCpuTimes;
        e.tensorsAddedPerStep = (tf.memory().numTensors - held) / steps;
        e.stepMs = [...e.stepTimes].sort((a, b) => a - b)[Math.floor(steps / 2)]!;
        e.gflops = e.stepGflop / (e.stepMs / 1000);
        e.ofConvPeak = e.gflops / peaks.conv3x3.gflops;
      } catch (err) {
        e.error = (err as Error).message.replace(/\s+/g, ' ').slice(0, 300);
      } finally {
        trainer?.dispose();
        net.dispose();
        tf.dispose([x, y]);
      }
      console.log(JSON.stringify(e));
      await save();
    }
    expect(res.entries.length).toBe(names.length);
  });
});
