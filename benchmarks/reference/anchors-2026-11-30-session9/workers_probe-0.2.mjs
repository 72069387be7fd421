// Part B: do two Node worker_threads, each with its own single-threaded tfjs wasm backend and its own copy of a
// restorekit model, processing half of a batch of 128^2 tiles each, give ~2x the throughput of one such worker?
// usage: node workers_probe.mjs --out WORKERS.json [--models drcnet,anyir] [--tiles 8] [--size 128]
// For each model: mode A = 1 worker does all TILES tiles; mode B = 2 workers do TILES/2 each, concurrently.
// Every worker initialises the wasm backend, builds the model (random weights) and runs one warm-up tile, then
// waits at a barrier; the wall time from the 'go' message to the last worker's 'done' is measured.
// Tiles are run one at a time (batch 1, as tiled inference does; DRCNet's region norm pools over the batch,
// so batching tiles would change the result). Speed-up = wall(A) / wall(B).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

if (!isMainThread) {
  const tf = await import('@tensorflow/tfjs-core');
  const { useBackend } = await import('@restorekit/core');
  const { createModel } = await import('@restorekit/models');
  const { model, size, tiles, id } = workerData;
  const t0 = performance.now();
  await useBackend('wasm');
  const net = await createModel(model, { preset: 'official' });
  const xs = Array.from({ length: Math.max(tiles, 1) }, (_, i) => tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 100 * id + i));
  const forward = (x) => {
    const out = net.apply(x);
    const list = Array.isArray(out) ? out : [out];
    list[list.length - 1].dataSync();
    tf.dispose(list);
  };
  forward(xs[0]); // build + warm-up
  parentPort.postMessage({ type: 'ready', setup_s: (performance.now() - t0) / 1000 });
  parentPort.once('message', () => {
    const per = [];
    const t1 = performance.now();
    for (let i = 0; i < tiles; i++) { const t = performance.now(); forward(xs[i]); per.push((performance.now() - t) / 1000); }
    parentPort.postMessage({ type: 'done', busy_s: (performance.now() - t1) / 1000, per_tile_s: per });
  });
} else {
  const { writeFileSync } = await import('node:fs');
  const os = await import('node:os');
  const args = Object.fromEntries(
    process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
  );
  const models = (args.models ?? 'drcnet,anyir').split(',').filter(Boolean);
  const tiles = Number(args.tiles ?? 8);
  const size = Number(args.size ?? 128);

  async function mode(model, nWorkers) {
    const shares = Array.from({ length: nWorkers }, (_, i) => Math.floor(tiles / nWorkers) + (i < tiles % nWorkers ? 1 : 0));
    const ws = shares.map((n, id) => new Worker(new URL(import.meta.url), { workerData: { model, size, tiles: n, id } }));
    const msgs = ws.map((w) => {
      const q = [];
      let wake = null;
      w.on('message', (m) => { q.push(m); if (wake) { wake(); wake = null; } });
      w.on('error', (e) => { q.push({ type: 'error', error: String(e.message ?? e) }); if (wake) { wake(); wake = null; } });
      return async () => { while (!q.length) await new Promise((r) => (wake = r)); return q.shift(); };
    });
    const ready = await Promise.all(msgs.map((next) => next()));
    const bad = ready.find((m) => m.type !== 'ready');
    if (bad) { await Promise.all(ws.map((w) => w.terminate())); throw new Error(bad.error ?? 'worker failed'); }
    const t0 = performance.now();
    ws.forEach((w) => w.postMessage('go'));
    const done = await Promise.all(msgs.map((next) => next()));
    const wall = (performance.now() - t0) / 1000;
    await Promise.all(ws.map((w) => w.terminate()));
    return { workers: nWorkers, tiles, shares, wall_s: wall, tiles_per_s: tiles / wall, setup_s: ready.map((m) => m.setup_s), workers_busy_s: done.map((m) => m.busy_s), per_tile_s: done.map((m) => m.per_tile_s) };
  }

  const res = { probe: 'worker_threads x tfjs-wasm (1 thread each)', node: process.version, size, tiles, loadavg_start: os.loadavg(), models: {} };
  const tAll = performance.now();
  for (const model of models) {
    try {
      const one = await mode(model, 1);
      console.log(`[workers] ${model}: 1 worker, ${tiles} tiles of ${size}^2: ${one.wall_s.toFixed(2)} s (${one.tiles_per_s.toFixed(3)} tiles/s)`);
      const two = await mode(model, 2);
      console.log(`[workers] ${model}: 2 workers x ${two.shares.join('+')} tiles: ${two.wall_s.toFixed(2)} s (${two.tiles_per_s.toFixed(3)} tiles/s)`);
      const speedup = one.wall_s / two.wall_s;
      res.models[model] = { one, two, speedup };
      console.log(`[workers] ${model}: speed-up ${speedup.toFixed(2)}x`);
    } catch (e) {
      res.models[model] = { error: String(e.message ?? e).slice(0, 300) };
      console.log(`[workers] ${model}: failed: ${res.models[model].error}`);
    }
  }
  res.total_s = (performance.now() - tAll) / 1000;
  res.loadavg_end = os.loadavg();
  writeFileSync(args.out, JSON.stringify(res, null, 1));
  console.log(`[workers] done in ${res.total_s.toFixed(0)} s -> ${args.out}`);
}
