/**
 * @restorekit/runtime on large images (Node projects wasm and tensorflow only): `restore(model, image, { tileSize,
 * overlap: 32 })` of random 8-bit RGB images of 1024², 2048², 4096² and 8192² (BENCH_RUNTIME_SIZES) with tiles of 256
 * and 512 (BENCH_TILES), with the smallest model: compact (default preset) where @restorekit/models registers it,
 * else a conv-only net (3×3 convs 3→32→32→3 with GELU, about the same multiply-adds per pixel). Per cell: the time of
 * one restore (the model warmed up first), the process RSS (peak of samples after every tile, and before), and one
 * tile's forward, so that the cost of tiling (overlap, cutting, blending, read-backs) is visible as a ratio.
 * A cell predicted (from the previous size, × pixels) over the cap (BENCH_CAP_S, default 240 s) is skipped.
 *
 * Worker threads (wasm project only): the same model on a BENCH_WORKERS_SIZE image (default 1024², tiles of 256),
 * `createWorkerPool(model, { workers: 1 | 2, backend: 'wasm' })`, pool start-up and a warm-up restore excluded, timed
 * restores alternating between the two pools, median of 3 each, for each model of BENCH_WORKERS_MODELS (default
 * compact; e.g. compact,drcnet:small). BENCH_TILES=none runs the workers part alone.
 *
 * Writes results/runs/<date>-runtime-<backend>.json and results/runtime-<backend>.json, then the reports. Not a unit test.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Sequential, countParams } from '@restorekit/core';
import { createModel, listModels } from '@restorekit/models';
// The runtime is not a declared dependency of the benchmarks (the lockfile is not theirs to change): its built files.
import { createWorkerPool, restore, warmup } from '@restorekit/runtime/node';
import { readText, writeText } from './results-io.js';
import { benchOptions } from './options.js';
import { countKernels, environment } from './measure.js';
import { writeReports, type RuntimeResults, type TilingEntry, type WorkersEntry } from './report.js';

const SIDES = [1024, 2048, 4096, 8192];
const TILES = [256, 512];
const OVERLAP = 32;
const CAP_MS = 240_000;

/** A deterministic 8-bit RGB image (a cheap hash per sample). */
function image(side: number) {
  const data = new Uint8Array(side * side * 3);
  let h = 2166136261;
  for (let i = 0; i < data.length; i++) {
    h = Math.imul(h ^ i, 16777619);
    data[i] = h >>> 24;
  }
  return { data, width: side, height: side, channels: 3 as const };
}

const rss = () => process.memoryUsage.rss() / 2 ** 20;
const stamp = (d: Date) => d.toISOString().slice(0, 16).replace(':', '-');

async function smallestModel(): Promise<{ model: tfl.layers.Layer; name: string; preset?: string; description: string; imports: string[] }> {
  if (listModels().some((m) => m.name === 'compact')) {
    const model = (await createModel('compact', { preset: 'default' })) as unknown as tfl.layers.Layer;
    return {
      model,
      name: 'compact',
      preset: 'default',
      description: 'compact (default preset, 908,292 parameters)',
      imports: [import.meta.resolve('@restorekit/models')],
    };
  }
  const model = new Sequential({
    layers: [
      { type: 'Conv2d', inChannels: 3, outChannels: 32, kernelSize: 3, padding: 1 },
      { type: 'GELU' },
      { type: 'Conv2d', inChannels: 32, outChannels: 32, kernelSize: 3, padding: 1 },
      { type: 'GELU' },
      { type: 'Conv2d', inChannels: 32, outChannels: 3, kernelSize: 3, padding: 1 },
    ],
  }) as unknown as tfl.layers.Layer;
  return { model, name: 'conv-only', description: 'conv-only net (3×3 convs 3→32→32→3 with GELU; compact is not registered in this build)', imports: [] };
}

describe('runtime: tiling cost vs image size, and worker threads', () => {
  it('restores large images tile by tile', async () => {
    const opts = benchOptions();
    const backend = tf.getBackend();
    if (!['wasm', 'tensorflow'].includes(backend) || (opts.runtimeSizes && opts.runtimeSizes.length === 0) || (opts.models && opts.models.length === 0)) return;
    const sides = opts.runtimeSizes ?? SIDES;
    const tiles = opts.tiles ?? TILES;
    const cap = opts.capS ? opts.capS * 1000 : CAP_MS;
    const started = new Date();
    const env = await environment(backend);
    const m = await smallestModel();
    // GFLOP per megapixel, counted on one 256² forward
    const { count } = await countKernels(async () => {
      const y = m.model.apply(tf.zeros([1, 256, 256, 3])) as tf.Tensor;
      await y.data();
      tf.dispose(y);
    });
    const res: RuntimeResults = {
      format: 2,
      backend,
      date: started.toISOString(),
      env,
      model: {
        name: m.name,
        ...(m.preset ? { preset: m.preset } : {}),
        description: `${m.description}, ${(count.flops / 1e9 / ((256 * 256) / 1e6)).toFixed(1)} GFLOP per megapixel`,
        gflopPerMegapixel: count.flops / 1e9 / ((256 * 256) / 1e6),
      },
      tiling: [],
      workers: [],
    };
    const previous = JSON.parse((await readText(`results/runtime-${backend}.json`)) ?? 'null') as RuntimeResults | null;
    const save = async () => {
      const text = JSON.stringify({ ...res, params: countParams(m.model as never) }, null, 2);
      await writeText(`results/runs/${stamp(started)}-runtime-${backend}.json`, text);
      // a part this run left out (BENCH_TILES=none, BENCH_WORKERS_SIZE=0) keeps its previous results
      const merged = {
        ...res,
        params: countParams(m.model as never),
        // kept tiling results keep the model they were measured with (the workers entries name theirs)
        ...(res.tiling.length || !previous ? {} : { tiling: previous.tiling, model: previous.model }),
        ...(res.workers.length || !previous
          ? {}
          : { workers: previous.workers, speedup: previous.speedup, speedups: previous.speedups, ceiling: previous.ceiling }),
      };
      await writeText(`results/runtime-${backend}.json`, JSON.stringify(merged, null, 2));
      await writeReports();
    };
    for (const tileSize of tiles) {
      const w = await warmup(m.model as never, { tileSize, runs: 4 });
      const tileMs = [...w.milliseconds.slice(1)].sort((a, b) => a - b)[1]!; // median of the 3 runs after the first
      let prev: { side: number; ms: number } | null = null;
      for (const side of sides) {
        const e: TilingEntry = { imageSide: side, tileSize, overlap: OVERLAP, tiles: 0, tileMs, date: new Date().toISOString() };
        res.tiling.push(e);
        const predicted = prev ? prev.ms * (side / prev.side) ** 2 : 0;
        if (predicted > cap) {
          e.skipped = `not run: predicted ${(predicted / 1000).toFixed(0)} s from ${prev!.side}² (cap ${cap / 1000} s)`;
          await save();
          continue;
        }
        try {
          let img: ReturnType<typeof image> | null = image(side);
          e.rssBeforeMiB = rss();
          let peak = e.rssBeforeMiB;
          const t = performance.now();
          let out: { data: unknown } | null = await restore(m.model as never, img, {
            tileSize,
            overlap: OVERLAP,
            onProgress: (p) => {
              e.tiles = p.total;
              peak = Math.max(peak, rss());
            },
          });
          e.ms = performance.now() - t;
          e.rssPeakMiB = Math.max(peak, rss());
          e.mps = (side * side) / 1e6 / (e.ms / 1000);
          e.overheadRatio = e.ms / (e.tiles * tileMs);
          prev = { side, ms: e.ms };
          out = null;
          img = null;
          void out;
          void img;
        } catch (err) {
          e.error = (err as Error).message.slice(0, 300);
        }
        console.log(JSON.stringify(e));
        await save();
      }
    }
    const ws = opts.workersSize ?? 1024;
    // BENCH_WORKERS_MODELS: the models of the workers part ('compact' = the smallest model above; 'family:preset' for
    // others, e.g. drcnet:small, whose tiles take longer, so the pool's per-tile overhead weighs less).
    const workerModels = (process.env.BENCH_WORKERS_MODELS ?? 'compact').split(',').filter(Boolean);
    if (backend === 'wasm' && ws > 0)
      for (const spec of workerModels) {
        const own = spec === m.name ? null : spec.split(':');
        const wm = own
          ? {
              name: spec,
              model: (await createModel(own[0]!, { preset: own[1] })) as unknown as tfl.layers.Layer,
              imports: m.imports.length ? m.imports : [import.meta.resolve('@restorekit/models')],
            }
          : m;
        // Both pools live at once (an idle worker costs no CPU); timed restores alternate 1, 2, 1, 2, ... so that a change in
        // the machine's load hits both alike; the median of REPS each.
        const REPS = 3;
        const img = image(ws);
        const entries = [1, 2].map(
          (n): WorkersEntry => ({ model: wm.name, imageSide: ws, tileSize: 256, workers: n, date: new Date().toISOString(), times: [] }),
        );
        res.workers.push(...entries);
        const pools: Awaited<ReturnType<typeof createWorkerPool>>[] = [];
        try {
          for (const e of entries) {
            const t0 = performance.now();
            const pool = await createWorkerPool(wm.model as never, { workers: e.workers, backend: 'wasm', imports: wm.imports });
            e.startMs = performance.now() - t0;
            pools.push(pool);
            await pool.restore(image(512), { tileSize: 256, overlap: OVERLAP }); // every worker's first tiles (kernels, allocations)
          }
          for (let r = 0; r < REPS; r++)
            for (const [i, e] of entries.entries()) {
              const t = performance.now();
              await pools[i]!.restore(img, { tileSize: 256, overlap: OVERLAP });
              e.times!.push(performance.now() - t);
            }
          for (const e of entries) {
            e.ms = [...e.times!].sort((a, b) => a - b)[Math.floor(REPS / 2)]!;
            e.mps = (ws * ws) / 1e6 / (e.ms / 1000);
            console.log(JSON.stringify(e));
          }
        } catch (err) {
          for (const e of entries) e.error = (err as Error).message.slice(0, 300);
        } finally {
          for (const p of pools) await p.close();
          if (own) wm.model.dispose();
        }
        const [one, two] = entries;
        if (one?.ms && two?.ms) {
          res.speedups = { ...res.speedups, [wm.name]: one.ms / two.ms };
          if (wm === m) res.speedup = one.ms / two.ms;
        }
        if (wm !== m) continue;
        // The machine's ceiling: one process running tile forwards alone, then two such processes at once (no pool,
        // no messages, no blending). Two cores that share caches and memory bandwidth give less than 2×.
        try {
          const side = 256; // the pool's tiles: tileSize includes the overlap
          const loop = (): Promise<number> =>
            new Promise((resolve, reject) =>
              execFile(process.execPath, [fileURLToPath(new URL('../scripts/forward-loop.mjs', import.meta.url)), String(side), '12'], (err, stdout) =>
                err ? reject(err) : resolve((JSON.parse(stdout.trim().split('\n').at(-1)!) as { msPerForward: number }).msPerForward),
              ),
            );
          const alone = await loop();
          const pair = await Promise.all([loop(), loop()]);
          res.ceiling = { tileSide: side, aloneMs: alone, pairMs: pair, speedup: (2 * alone) / ((pair[0]! + pair[1]!) / 2) };
          console.log(JSON.stringify({ ceiling: res.ceiling }));
        } catch (err) {
          res.ceiling = { error: (err as Error).message.slice(0, 300) };
        }
      }
    await save();
    m.model.dispose();
    expect(res.tiling.length).toBe(tiles.length * sides.length);
  });
});
