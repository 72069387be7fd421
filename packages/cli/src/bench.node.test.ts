/**
 * `restorekit bench`: the executable end to end (`node dist/cli.js bench ...`, JSON and table, the default backends
 * with a tfjs-node in the project), and `run(['bench', ...])` in-process: FLOPs against a hand count, no tensor left
 * behind, the caller's backend given back, and the usage errors and failures with their exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Sequential } from '@restorekit/core';
import { registerModel } from '@restorekit/models';
import { countFlops, kernelFlops, timingStats } from './bench-measure.js';
import type { BenchReport } from './commands/bench.js';
import { parseSizes } from './commands/bench.js';
import { run } from './index.js';
import { defaultModel } from './models.js';
import { cli, ensureBuilt, pkgDir } from './test-helpers.js';

let dir: string;
const at = (...p: string[]) => join(dir, ...p);

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'restorekit-bench-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A stream that records what is written. */
function sink() {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), write: (s: string) => chunks.push(s) };
}

/** `run(argv)` in-process with `cwd` = the test folder: exit code, stdout, stderr. */
async function runHere(argv: string[], cwd = dir) {
  const out = sink();
  const err = sink();
  const code = await run(argv, { stdout: out, stderr: err, cwd });
  return { code, stdout: out.text(), stderr: err.text() };
}

/**
 * restormer:tiny (dim 8, heads [1,1,2,2], one block per level; the decoder's level 1 and the refinement at 2·dim): its
 * MDTAs as [channels C, head size d = C/h, image pixels per level pixel] — encoder, latent, decoder, refinement. wasm
 * runs an attention's output product as one block-diagonal product over all C channels where cpu's per-head products
 * spend 1/h of it: extra work only at h = 2 (level 3, C 32, and the latent block, C 64).
 */
const tinyAttentions: [number, number, number][] = [
  [8, 8, 1],
  [16, 16, 4],
  [32, 16, 16],
  [64, 32, 64],
  [32, 16, 16],
  [16, 16, 4],
  [16, 16, 1],
  [16, 16, 1],
];
/** Σ over the MDTAs of an h×w image of f(C, d, N) — N its level's pixels — where MDTA folds project_out (N > C) or not. */
const overTiny = (h: number, w: number, f: (c: number, d: number, n: number, folded: boolean) => number) =>
  tinyAttentions.reduce((s, [c, d, div]) => s + f(c, d, (h * w) / div, (h * w) / div > c), 0);
// MDTA folds project_out into its output product, v·(Aᵀ·W), where a level has more pixels than channels. The cpu count
// (per-head products) then changes by 2·C·d·(C − N) per block — the per-head A_hᵀ·W_h added, A·v gone —, which does
// not scale with the pixels.
const foldCpuTiny = (h: number, w: number) => overTiny(h, w, (c, d, n, folded) => (folded ? 2 * c * d * (c - n) : 0));
// wasm's block-diagonal products over all C channels: 2·N·C·(C − d) more multiply-adds than cpu's per-head ones where
// the projection is not folded (A·v), 2·C²·(C − d) where it is (Aᵀ·W).
const wasmExtraTiny = (h: number, w: number) => overTiny(h, w, (c, d, n, folded) => (folded ? 2 * c * c * (c - d) : 2 * n * c * (c - d)));

describe('restorekit bench (the executable)', () => {
  it('--models restormer:tiny --backends cpu,wasm --sizes 16,32 --runs 2 --json: well-formed numbers, GFLOP equal across backends and ×4 from 16² to 32² outside the folded MDTA projections', async () => {
    const r = await cli(['bench', '--models', 'restormer:tiny', '--backends', 'cpu,wasm', '--sizes', '16,32', '--runs', '2', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout) as BenchReport;
    expect(j.options).toMatchObject({ models: ['restormer:tiny'], backends: ['cpu', 'wasm'], runs: 2, warmup: 1, batch: 1 });
    expect(j.cells.map((c) => `${c.height}×${c.width} ${c.backend}`)).toEqual(['16×16 cpu', '16×16 wasm', '32×32 cpu', '32×32 wasm']);
    expect(j.failed).toBe(0);
    for (const c of j.cells) {
      const label = `${c.backend} ${c.height}`;
      expect(c.error, label).toBeUndefined();
      expect(c).toMatchObject({ model: 'restormer:tiny', family: 'restormer', preset: 'tiny', params: 208_213 });
      expect(c.times, label).toHaveLength(2);
      expect(c.ms!, label).toBeGreaterThan(0);
      expect(c.minMs!).toBeLessThanOrEqual(c.ms!);
      expect(c.maxMs!).toBeGreaterThanOrEqual(c.ms!);
      expect(c.ms!).toBeCloseTo((c.times![0]! + c.times![1]!) / 2, 2); // the median of two runs
      expect(c.mps!).toBeCloseTo((c.height * c.width) / 1e6 / (c.ms! / 1000), 12);
      expect(c.gflops!).toBeCloseTo(c.gflop! / (c.ms! / 1000), 12);
      // Before the forward: the weights (float32, no buffers), the input and what the blocks derive from their
      // weights and keep between inference calls (core's DerivedWeights: GDFN's rescaled weights, on wasm MDTA's
      // weight thirds) — checked below to be the same at every size, so nothing is left over from an earlier cell or
      // backend. During it, activations on top.
      expect(c.baseBytes!, label).toBeGreaterThanOrEqual(208_213 * 4 + c.height * c.width * 3 * 4);
      expect(c.peakBytes!, label).toBeGreaterThan(c.baseBytes!);
      expect(c.fftGflop).toBe(0);
    }
    const [cpu16, wasm16, cpu32, wasm32] = j.cells as [BenchReport['cells'][0], BenchReport['cells'][0], BenchReport['cells'][0], BenchReport['cells'][0]];
    // One GFLOP figure per model and size (the cpu count: the fewer), whatever the backend.
    expect(wasm16.gflop).toBe(cpu16.gflop);
    expect(wasm32.gflop).toBe(cpu32.gflop);
    expect(cpu16.gflop).toBe(cpu16.kernelGflop);
    // Every counted kernel of this model but MDTA's folded projections scales with the pixels: ×4 exactly from 16² to
    // 32² once those are taken out (integer multiply-add counts).
    const unfolded = (c: BenchReport['cells'][0]) => Math.round(c.gflop! * 1e9) - foldCpuTiny(c.height, c.width);
    expect(unfolded(cpu32)).toBe(4 * unfolded(cpu16));
    expect(foldCpuTiny(32, 32)).not.toBe(4 * foldCpuTiny(16, 16)); // level 3 folds at 32² only
    expect(cpu16.gflop!).toBeGreaterThan(0.01);
    // wasm's kernels ran more multiply-adds, by exactly the hand count of its block-diagonal attention product.
    expect(Math.round((wasm16.kernelGflop! - cpu16.kernelGflop!) * 1e9)).toBe(wasmExtraTiny(16, 16));
    expect(Math.round((wasm32.kernelGflop! - cpu32.kernelGflop!) * 1e9)).toBe(wasmExtraTiny(32, 32));
    // The weight-derived caches do not depend on the image size: base − weights − input is the same at 16² and 32².
    const cached = (c: BenchReport['cells'][0]) => c.baseBytes! - 208_213 * 4 - c.height * c.width * 3 * 4;
    expect(cached(cpu32)).toBe(cached(cpu16));
    expect(cached(wasm32)).toBe(cached(wasm16));
    // wasm keeps MDTA's weight thirds (a copy of qkv and qkv_dwconv) besides what cpu keeps: its cache is the larger.
    expect(cached(wasm16)).toBeGreaterThan(cached(cpu16));

    const e = j.environment;
    expect(e.node).toBe(process.version);
    expect(e.cpu.count).toBe(cpus().length);
    expect(e.cpu.model.length).toBeGreaterThan(0);
    expect(e.tfjs).toBe(tf.version_core);
    expect(e.loadavg).toHaveLength(3);
    expect(e.backends.cpu).toEqual({ ok: true });
    expect(e.backends.wasm).toMatchObject({ ok: true, simd: expect.any(Boolean), multithread: expect.any(Boolean), threads: expect.any(Number) });
    expect(Math.abs(Date.parse(j.date) - Date.now())).toBeLessThan(120_000);
  });

  it('prints a table (per-cell lines on stderr) and -o writes the JSON, creating its folder', async () => {
    const r = await cli(
      ['bench', '--models', 'restormer:tiny', '--backends', 'wasm', '--sizes', '16x24', '--runs', '1', '--warmup', '0', '-o', 'out/r.json'],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/restormer:tiny on wasm at 16×24: [\d.]+ ms median of 1/);
    expect(r.stderr).toContain('wrote out/r.json');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^model\s+params\s+input\s+backend\s+median ms\s+min–max ms\s+MP\/s\s+GFLOP\s+GFLOP\/s\s+peak MiB$/);
    const j = JSON.parse(readFileSync(at('out', 'r.json'), 'utf8')) as BenchReport;
    const c = j.cells[0]!;
    expect(j.cells).toHaveLength(1);
    expect([c.height, c.width, c.backend]).toEqual([16, 24, 'wasm']);
    // The table's row shows the file's numbers.
    const row = lines.find((l) => l.startsWith('restormer:tiny'))!.split(/\s{2,}/);
    expect(row.slice(0, 4)).toEqual(['restormer:tiny', '208,213', '16×24', 'wasm']);
    expect(Number(row[4])).toBeCloseTo(c.ms!, c.ms! >= 100 ? -1 : 0);
    expect(Number(row[8])).toBeCloseTo(c.gflops!, 0);
    expect(Number(row[9])).toBeCloseTo(c.peakBytes! / 2 ** 20, 1);
    // Alone, wasm's count is the figure.
    expect(c.gflop).toBe(c.kernelGflop);
    expect(r.stdout).toContain(`Node ${process.version}`);
    expect(r.stdout).toMatch(/wasm: SIMD (on|off), \d+ threads?/);
  });

  it('by default: the default model on cpu, wasm and tensorflow when @tensorflow/tfjs-node is in the project', async () => {
    // A stand-in tfjs-node (the real one needs a native build): registers tfjs's cpu kernels as 'tensorflow'.
    const p = at('with-tfjs-node');
    const mod = join(p, 'node_modules', '@tensorflow', 'tfjs-node');
    mkdirSync(mod, { recursive: true });
    writeFileSync(join(mod, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }));
    const req = createRequire(join(pkgDir, 'package.json'));
    writeFileSync(
      join(mod, 'index.js'),
      `const tf = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-core'))});
const { MathBackendCPU } = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-backend-cpu'))});
tf.registerBackend('tensorflow', () => new MathBackendCPU(), 0);
for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
`,
    );
    const r = await cli(['bench', '--sizes', '16', '--runs', '1', '--json'], p);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as BenchReport;
    expect(j.options.models).toEqual([defaultModel().id]);
    expect(j.options.backends).toEqual(['cpu', 'wasm', 'tensorflow']);
    // With libtensorflow's CPU engine as this machine has it (the rules are cli.node.test.ts's and the runtime's tests).
    const tfEnv = j.environment.backends.tensorflow!;
    expect(tfEnv).toMatchObject({ ok: true, package: '@tensorflow/tfjs-node@4.22.0' });
    expect([true, false, null]).toContain(tfEnv.oneDNN);
    expect(tfEnv.oneDNNWhy).toMatch(/^(TF_ENABLE_ONEDNN_OPTS=|libtensorflow's default|restorekit's default: )/);
    if (process.env.TF_CPU_ALLOCATOR_USE_BFC === undefined) expect(tfEnv.bfcAllocator).toBe(true);
    expect(j.cells.map((c) => c.backend)).toEqual(['cpu', 'wasm', 'tensorflow']);
    // The stand-in runs cpu's kernels: the same count as cpu.
    expect(j.cells[2]!.kernelGflop).toBe(j.cells[0]!.kernelGflop);
    for (const c of j.cells) expect(c.ms!).toBeGreaterThan(0);
  });
});

describe('restorekit bench in-process: run(["bench", ...])', () => {
  it('counts the FLOPs of a plain conv model as by hand on cpu and wasm, leaves tf.memory() as it was and gives the backend back', async () => {
    // conv 3×3 3→8, depthwise 3×3 over 8, conv 1×1 8→3 ('same' sizes): 2·H·W·(9·3·8 + 9·8 + 8·3) FLOPs.
    registerModel({
      name: 'benchconv',
      paper: 'a plain convolution stack (bench test)',
      citation: '',
      inputRange: [0, 1],
      sizeMultiple: 1,
      defaultPreset: 'default',
      presets: { default: { description: 'three convolutions', config: {} } },
      create: () =>
        new Sequential({
          layers: [
            { type: 'Conv2d', inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 },
            { type: 'Conv2d', inChannels: 8, outChannels: 8, kernelSize: 3, padding: 1, groups: 8 },
            { type: 'Conv2d', inChannels: 8, outChannels: 3, kernelSize: 1 },
          ],
        }),
    });
    const backend = tf.getBackend();
    const keep = tf.ones([5, 7]); // a tensor of the caller's, alive across the run
    const before = tf.memory();
    const r = await runHere(['bench', '--models', 'benchconv', '--backends', 'cpu,wasm', '--sizes', '16x24,8', '--runs', '3', '--json', '-o', 'conv.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(tf.getBackend()).toBe(backend);
    keep.dispose();
    const j = JSON.parse(r.stdout) as BenchReport;
    expect(readFileSync(at('conv.json'), 'utf8')).toBe(r.stdout);
    const hand = (h: number, w: number) => 2 * h * w * (9 * 3 * 8 + 9 * 8 + 8 * 3);
    expect(j.cells.map((c) => [c.backend, c.height, c.width])).toEqual([
      ['cpu', 16, 24],
      ['wasm', 16, 24],
      ['cpu', 8, 8],
      ['wasm', 8, 8],
    ]);
    for (const c of j.cells) {
      expect(c.params).toBe(3 * 8 * 9 + 8 + 8 * 9 + 8 + 8 * 3 + 3);
      expect(Math.round(c.kernelGflop! * 1e9), `${c.backend} ${c.height}`).toBe(hand(c.height, c.width));
      expect(Math.round(c.gflop! * 1e9)).toBe(hand(c.height, c.width));
      expect(c.kernels).toBeGreaterThanOrEqual(3);
      expect(c.times).toHaveLength(3);
      expect(c.ms!).toBeCloseTo(timingStats(c.times!).ms, 2);
      // Weights, the input and the caller's 5×7 tensor before the forward.
      expect(c.baseBytes).toBe(331 * 4 + c.height * c.width * 3 * 4 + 35 * 4);
    }
  });

  it('--progress: a bar over the cells once the run has taken a second (through the Ui), on stderr only', async () => {
    const r = await runHere(['bench', '--models', 'restormer:tiny', '--backends', 'cpu', '--sizes', '56,64', '--runs', '2', '--progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cells \(restormer:tiny on cpu, \d+×\d+\) \[[^\]]*\] [12]\/2/);
    expect(r.stdout).not.toContain('cells (');
  });

  it('usage errors exit 2 before any work, naming what is valid', async () => {
    const cases: [string[], RegExp][] = [
      [['bench', '--models', 'restormr'], /unknown model 'restormr' \(did you mean 'restormer'\?\) \(models: (?=.*anyir)(?=.*restormer)/],
      [['bench', '--models', 'restormer:tiny,restormer:huge'], /model 'restormer' has no preset 'huge' \(presets: official, .*tiny\)/],
      [['bench', '--backends', 'cpu,cuda'], /unknown backend 'cuda' \(backends: cpu, wasm, tensorflow; webgl and webgpu run in browsers only\)/],
      [
        ['bench', '--backends', 'webgl'],
        /backend 'webgl' runs in browsers only.*pnpm --filter @restorekit\/benchmarks bench:browser \(see benchmarks\/README\.md\)/,
      ],
      [['bench', '--backends', 'wasm,webgpu'], /backend 'webgpu' runs in browsers only/],
      [['bench', '--sizes', '0'], /'0' is not a size/],
      [['bench', '--sizes', '16x'], /'16x' is not a size/],
      [['bench', '--sizes', '20000'], /integers from 1 to 16384/],
      [['bench', '--runs', '0'], /the number of timed runs is a positive integer/],
      [['bench', '--warmup', '1.5'], /the number of warm-up runs is an integer ≥ 0/],
      [['bench', '--models', ','], /expected a comma-separated list of names/],
      [['bench', '--frobnicate'], /unknown option '--frobnicate'/],
    ];
    const backend = tf.getBackend();
    for (const [args, message] of cases) {
      const r = await runHere(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(tf.getBackend()).toBe(backend);
  });

  it('a backend that cannot start: its cells carry the error, the others are measured, exit 1', async () => {
    const before = tf.memory().numTensors;
    const r = await runHere(['bench', '--models', 'restormer:tiny', '--backends', 'tensorflow,cpu', '--sizes', '8', '--runs', '1', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: backend 'tensorflow' needs @tensorflow\/tfjs-node .* installed in your project/);
    expect(r.stderr).toContain('1 of 2 cells failed');
    const j = JSON.parse(r.stdout) as BenchReport;
    expect(j.failed).toBe(1);
    expect(j.environment.backends.tensorflow).toMatchObject({ ok: false, error: expect.stringMatching(/needs @tensorflow\/tfjs-node/) });
    const [tfCell, cpuCell] = j.cells;
    expect(tfCell).toMatchObject({ backend: 'tensorflow', model: 'restormer:tiny', height: 8, width: 8 });
    expect(tfCell!.error).toMatch(/^backend 'tensorflow' needs @tensorflow\/tfjs-node .* installed in your project/);
    expect(tfCell!.ms).toBeUndefined();
    expect(cpuCell).toMatchObject({ backend: 'cpu', params: 208_213 });
    expect(cpuCell!.error).toBeUndefined();
    expect(cpuCell!.ms!).toBeGreaterThan(0);
    expect(cpuCell!.gflop!).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    // The table says it too.
    const t = await runHere(['bench', '--models', 'restormer:tiny', '--backends', 'tensorflow', '--sizes', '8', '--runs', '1']);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/^restormer:tiny\s+8×8\s+tensorflow\s+error: backend 'tensorflow' needs @tensorflow\/tfjs-node/m);
  });
});

describe('bench parts', () => {
  it('--sizes: <side> or <height>x<width>, duplicates dropped', () => {
    expect(parseSizes('64, 128x96,64,32×48')).toEqual([
      { height: 64, width: 64 },
      { height: 128, width: 96 },
      { height: 32, width: 48 },
    ]);
  });

  it('timingStats: median (odd and even counts), min, max', () => {
    expect(timingStats([5, 1, 3])).toMatchObject({ ms: 3, minMs: 1, maxMs: 5, times: [5, 1, 3] });
    expect(timingStats([4, 1, 3, 10])).toMatchObject({ ms: 3.5, minMs: 1, maxMs: 10 });
  });

  it('countFlops: conv, depthwise, transposed conv and matMul (transposed or not) as by hand; other kernels 0', async () => {
    const before = tf.memory().numTensors;
    const x = tf.randomUniform([1, 6, 5, 4], 0, 1, 'float32', 1);
    const w = tf.randomUniform([3, 3, 4, 7], 0, 1, 'float32', 2);
    const dw = tf.randomUniform([3, 3, 4, 2], 0, 1, 'float32', 3);
    const a = tf.randomUniform([2, 9, 4], 0, 1, 'float32', 4);
    const b = tf.randomUniform([2, 9, 6], 0, 1, 'float32', 5);
    const up = tf.ones([2, 2, 3, 4]);
    const { result, count } = await countFlops(async () => {
      const outs = [
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), // [1,6,5,7]·(3·3·4)
        tf.depthwiseConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, 1, 'valid'), // [1,4,3,8]·(3·3)
        tf.conv2dTranspose(x as tf.Tensor4D, up as tf.Tensor4D, [1, 12, 10, 3], 2, 'same'), // dy [1,6,5,4]·(2·2·3)
        tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, true, false), // [2,4,6]·9
        tf.relu(x),
      ];
      return outs;
    });
    expect(count.flops).toBe(2 * (6 * 5 * 7 * 36 + 4 * 3 * 8 * 9 + 6 * 5 * 4 * 12 + 2 * 4 * 6 * 9));
    expect(count.fftFlops).toBe(0);
    expect(count.kernels).toBeGreaterThanOrEqual(5);
    tf.dispose(result);
    tf.dispose([x, w, dw, a, b, up]);
    expect(tf.memory().numTensors).toBe(before);
    expect(kernelFlops('Add', {}, undefined, x)).toBe(0);
  });
});
