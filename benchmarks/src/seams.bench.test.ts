/**
 * What tiling changes in the output of models with global attention. A convolutional model whose receptive field
 * fits the overlap restores tiled exactly as untiled (packages/runtime tests that to 1e-5); Restormer's transposed
 * attention and AnyIR's frequency branch see the whole input, so their tiled output differs from their untiled one.
 * This measures by how much: `restore(model, image, { tileSize, overlap })` of @restorekit/runtime against one
 * forward of the whole image, for overlaps 0 (tiles cut edge to edge, no blending), 16, 32 and 64 (BENCH_OVERLAPS),
 * on a 256×256 crop of Kodak kodim23 (BENCH_SEAMS_SIDE; Kodak images are free to redistribute) with seeded Gaussian
 * noise σ = 25, float32 in and out (no rounding to 8 bits), tiles of 128 (BENCH_SEAMS_TILE).
 *
 * Models: the official Restormer and AnyIR presets (random weights: no trained official weights can be downloaded on
 * these machines, and with random weights the attention still mixes the whole image: the differences measure the
 * tiling, not the quality), and the shipped compact model with its trained weights (a NAFNet: convolutions plus
 * simplified channel attention, whose global average pooling sees the whole tile). Per cell: max |tiled − untiled| and PSNR(tiled, untiled) on [0, 1], and the
 * same inside a band of ±8 pixels around the seams (where tiles meet), against the rest.
 *
 * Writes results/seams-<backend>.json and results/seams.md. Not a unit test.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { compactWeightsUrl, createModel } from '@restorekit/models';
import { planTiles, readImage, restore } from '@restorekit/runtime/node';
import { Rng, gaussianNoise } from '@restorekit/train';
import { readText, writeText } from './results-io.js';
import { environment } from './measure.js';

interface SeamEntry {
  model: string;
  preset: string;
  weights: string;
  overlap: number;
  tiles?: number;
  maxAbs?: number;
  psnr?: number;
  seamMaxAbs?: number;
  seamPsnr?: number;
  restMaxAbs?: number;
  restPsnr?: number;
  tiledMs?: number;
  untiledMs?: number;
  error?: string;
}

const KODAK = new URL('../../../shared/datasets/kodak24/', import.meta.url);

function psnrOf(a: Float32Array, b: Float32Array, mask?: Uint8Array, want = 1): { psnr: number; maxAbs: number } {
  let se = 0;
  let n = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (mask && mask[Math.floor(i / 3)] !== want) continue;
    const d = Math.min(1, Math.max(0, a[i]!)) - Math.min(1, Math.max(0, b[i]!)); // both clamped to [0, 1], as restore's output
    se += d * d;
    n++;
    m = Math.max(m, Math.abs(d));
  }
  return { psnr: se === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(n / se), maxAbs: m };
}

describe('seams: tiled vs untiled output of global-attention models', () => {
  it('measures the difference per overlap', async () => {
    const backend = tf.getBackend();
    if (!['wasm', 'tensorflow'].includes(backend) || process.env.BENCH_SEAMS === 'none') return;
    const side = Number(process.env.BENCH_SEAMS_SIDE ?? 256);
    const tileSize = Number(process.env.BENCH_SEAMS_TILE ?? 128);
    const overlaps = (process.env.BENCH_OVERLAPS ?? '0,16,32,64').split(',').map(Number);
    const env = await environment(backend);
    // The image: a side×side crop of kodim23, noisy (σ 25, seed 1), float32 HWC in [0, 1].
    const src = await readImage(new URL('kodim23.png', KODAK).pathname);
    const crop = new Float32Array(side * side * 3);
    const x0 = Math.floor((src.width - side) / 2);
    const y0 = Math.floor((src.height - side) / 2);
    for (let y = 0; y < side; y++) for (let x = 0; x < side * 3; x++) crop[y * side * 3 + x] = src.data[((y0 + y) * src.width + x0) * 3 + x]! / 255;
    const noisy = gaussianNoise({ sigma: 25 / 255 })({ data: crop, shape: [side, side, 3] }, new Rng(1)).image.data;
    const image = { data: noisy, width: side, height: side, channels: 3 as const };
    const entries: SeamEntry[] = [];
    const rows = [
      { model: 'restormer', preset: 'official', weights: 'random (default init)' },
      { model: 'anyir', preset: 'official', weights: 'random (default init)' },
      { model: 'compact', preset: 'default', weights: 'shipped (trained)' },
    ];
    for (const row of rows) {
      const net = await createModel(row.model, { preset: row.preset, ...(row.model === 'compact' ? { weights: compactWeightsUrl() } : {}) });
      try {
        const t0 = performance.now();
        const whole = tf.tidy(() => net.apply(tf.tensor4d(noisy, [1, side, side, 3])) as tf.Tensor);
        const ref = (await whole.data()) as Float32Array;
        whole.dispose();
        const untiledMs = performance.now() - t0;
        for (const overlap of overlaps) {
          const e: SeamEntry = { ...row, overlap, untiledMs };
          entries.push(e);
          try {
            const plan = planTiles(side, side, { tileSize, overlap });
            const band = new Uint8Array(side * side);
            // where neighbouring tiles overlap: from the next tile's start to the previous tile's end, ±8 pixels
            const seams = (starts: number[], size: number) =>
              starts.slice(1).map((st, i) => [Math.max(0, st - 8), Math.min(side, starts[i]! + size + 8)] as const);
            for (const [lo, hi] of seams(plan.columnStarts, plan.tileWidth))
              for (let y = 0; y < side; y++) for (let x = lo; x < hi; x++) band[y * side + x] = 1;
            for (const [lo, hi] of seams(plan.rowStarts, plan.tileHeight)) for (let y = lo; y < hi; y++) for (let x = 0; x < side; x++) band[y * side + x] = 1;
            const t = performance.now();
            const out = await restore(net as never, image, { tileSize, overlap });
            e.tiledMs = performance.now() - t;
            e.tiles = plan.tiles.length;
            const got = out.data as Float32Array;
            const all = psnrOf(got, ref);
            const seam = psnrOf(got, ref, band, 1);
            const rest = psnrOf(got, ref, band, 0);
            Object.assign(e, {
              maxAbs: all.maxAbs,
              psnr: all.psnr,
              seamMaxAbs: seam.maxAbs,
              seamPsnr: seam.psnr,
              restMaxAbs: rest.maxAbs,
              restPsnr: rest.psnr,
            });
          } catch (err) {
            e.error = (err as Error).message.slice(0, 300);
          }
          console.log(JSON.stringify(e));
        }
      } finally {
        net.dispose();
      }
    }
    const res = { format: 1, backend, date: new Date().toISOString(), env, side, tileSize, entries };
    await writeText(`results/seams-${backend}.json`, JSON.stringify(res, null, 2));
    const f = (v: number | undefined, d: number) => (v === undefined ? '–' : Number.isFinite(v) ? v.toFixed(d) : '∞');
    const lines = [
      '# Tiled vs untiled output of global-attention models',
      '',
      'Generated by benchmarks/src/seams.bench.test.ts (its header says how). `restore(model, image, { tileSize, overlap })` against one',
      'forward of the whole image; float32 in and out, values on [0, 1]; **PSNR** = PSNR(tiled, untiled) (∞: identical), **seam band** =',
      'pixels within 8 of where tiles meet (including the overlap), **rest** = the others. A convolutional model whose receptive field fits',
      'the overlap gives ∞ (tested in packages/runtime); these models see the whole image, so tiling changes their output everywhere a',
      'little and most near the seams, and a larger overlap brings the seams closer to the untiled result.',
      '',
    ];
    for (const b of ['wasm', 'tensorflow']) {
      const text = b === backend ? JSON.stringify(res) : await readText(`results/seams-${b}.json`);
      if (!text) continue;
      const r = JSON.parse(text) as typeof res;
      lines.push(
        `## ${b}: ${r.side}×${r.side} crop of kodim23 + σ 25 noise, tiles of ${r.tileSize}; ${(r.env as { device?: string }).device ?? ''}, ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
        '',
        '| model | weights | overlap | tiles | max abs diff | PSNR | seam band: max / PSNR | rest: max / PSNR | tiled | untiled |',
        '|---|---|---|---|---|---|---|---|---|---|',
      );
      for (const e of r.entries)
        lines.push(
          `| ${e.model}:${e.preset} | ${e.weights} | ${e.overlap} | ${e.tiles ?? '–'} | ${f(e.maxAbs, 4)} | ${f(e.psnr, 1)} dB | ${f(e.seamMaxAbs, 4)} / ${f(e.seamPsnr, 1)} dB | ${f(e.restMaxAbs, 4)} / ${f(e.restPsnr, 1)} dB | ${f((e.tiledMs ?? Number.NaN) / 1000, 2)} s | ${f((e.untiledMs ?? Number.NaN) / 1000, 2)} s |${e.error ? ` ${e.error}` : ''}`,
        );
      lines.push('');
    }
    await writeText('results/seams.md', lines.join('\n'));
    expect(entries.length).toBe(rows.length * overlaps.length);
  });
});
