#!/usr/bin/env node
/**
 * Builds a reference JSON (the format of benchmarks/README.md, "Reference JSON") from the results of the anchors kit
 * (`bash ../shared/anchors/run.sh`, which needs PyTorch; this script does not): PyTorch-CPU, PyTorch+OpenBLAS and
 * ONNX Runtime (Node) times of the same models and sizes on the same machine, plus the restorekit times of that day.
 *
 *   node benchmarks/scripts/reference-from-anchors.mjs <anchors results.json>... [--out benchmarks/reference/anchors-<date>.json]
 *
 * Several files: each engine is taken from the first file that has it (e.g. a run without the tensorflow column, then
 * one with it). The numbers are copied, not recomputed; every engine names its source file (with its sha256).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args[outAt + 1] : null;
const files = args.filter((a, i) => a !== '--out' && i !== outAt + 1);
if (!files.length) {
  console.error('usage: node reference-from-anchors.mjs <anchors results.json>... [--out file]');
  process.exit(2);
}

const runs = files.map((f) => {
  const text = readFileSync(f, 'utf8');
  return { file: f, json: JSON.parse(text), sha256: createHash('sha256').update(text).digest('hex') };
});

// engine key in the reference → [key in the anchors JSON, row field with seconds]
const ENGINES = {
  pytorch: ['pytorch', 'pytorch_s'],
  'pytorch-openblas': ['pytorch_openblas', 'pytorch_s'],
  ort: ['ort', 'ort_s'],
  'restorekit-wasm': ['restorekit_wasm', 'restorekit_wasm_s'],
  'restorekit-tensorflow': ['restorekit_tensorflow', 'restorekit_tensorflow_s'],
};
const ROW_SECONDS = {
  pytorch: 'pytorch_s',
  'pytorch-openblas': 'pytorch_openblas_s',
  ort: 'ort_s',
  'restorekit-wasm': 'restorekit_wasm_s',
  'restorekit-tensorflow': 'restorekit_tensorflow_s',
};

function label(key, e) {
  if (key === 'pytorch')
    return `PyTorch ${e.torch} CPU, ${e.threads} threads, official code, BLAS as installed${e.blas_env && Object.keys(e.blas_env).length ? '' : ' (Debian: netlib reference BLAS, slow matMuls)'}`;
  if (key === 'pytorch-openblas') return `PyTorch ${e.torch} CPU, ${e.threads} threads, official code, with OpenBLAS (≈ a pip wheel's BLAS)`;
  if (key === 'ort') return `ONNX Runtime Node ${e.version}, CPU EP, ${e.threads} threads, torch.onnx.export graphs (opset 17)`;
  if (key === 'restorekit-wasm')
    return `restorekit ${e.versions?.['@restorekit/models'] ?? ''} on tfjs-backend-wasm ${e.versions?.['tfjs-backend-wasm'] ?? ''} (1 thread), that day`;
  return `restorekit ${e.versions?.['@restorekit/models'] ?? ''} on tfjs-node ${e.versions?.['tfjs-node'] ?? ''} (libtensorflow ${e.versions?.libtensorflow ?? ''}), that day`;
}

const sources = runs.map((r) => ({ file: basename(r.file), from: '../shared/anchors (run.sh)', date: r.json.date, sha256: r.sha256 }));
const engines = {};
const pick = {};
for (const [key, [field]] of Object.entries(ENGINES)) {
  const i = runs.findIndex((r) => r.json[field]);
  if (i < 0) continue;
  const e = runs[i].json[field];
  pick[key] = i;
  engines[key] = {
    label: label(key, e),
    ...(e.threads ? { threads: e.threads } : {}),
    version: e.torch ?? e.version ?? e.versions?.['@restorekit/models'],
    source: i,
    peaks: { matmulGflops: round(e.peaks?.matmul_1024?.gflops_median), convGflops: round(e.peaks?.conv3x3_128x128x64to64?.gflops_median) },
  };
}

function round(v, d = 4) {
  return typeof v === 'number' ? Number(v.toPrecision(d)) : undefined;
}

const PRESET = { restormer: 'official', anyir: 'official', drcnet: 'official', lcdnet: 'default', fsdrnet: 'default', compact: 'default' };
const entries = [];
const first = runs[0].json;
for (const row of first.rows) {
  const variant = /identity|idfreq/.test(row.model);
  const model = row.model.replace(/[-_]?(identity|idfreq).*$/, '');
  const id = variant ? `${model}-identity` : model;
  const seconds = {};
  const notes = {};
  for (const [key, field] of Object.entries(ROW_SECONDS)) {
    if (pick[key] === undefined) continue;
    const r = runs[pick[key]].json.rows.find((x) => x.model === row.model && x.size === row.size);
    if (r && typeof r[field] === 'number') seconds[key] = round(r[field]);
    else if (key === 'ort' && r?.ort_error)
      notes.ort = r.ort_error.replace(
        /^export failed: UnsupportedOperatorError: Exporting the operator '([^']+)'.*$/,
        'ONNX export failed ($1 has no ONNX symbolic in torch 1.13)',
      );
  }
  entries.push({
    row: id,
    model,
    preset: PRESET[model] ?? 'official',
    ...(variant ? { variant: 'FFT fusion → identity' } : {}),
    size: row.size,
    gflop: round(row.gflop),
    seconds,
    ...(Object.keys(notes).length ? { notes } : {}),
  });
}

// part B of the anchors: two worker_threads (each a 1-thread tfjs-wasm backend and model) against one, same tiles
const wi = runs.findIndex((r) => r.json.workers?.models);
const workers =
  wi < 0
    ? undefined
    : {
        source: wi,
        what: `${runs[wi].json.workers.tiles} tiles of ${runs[wi].json.workers.size}², worker_threads × tfjs-wasm (1 thread each), warm-up excluded`,
        speedup: Object.fromEntries(Object.entries(runs[wi].json.workers.models).map(([k, v]) => [k, round(v.speedup, 3)])),
      };
const cpu = first.pytorch?.cpu;
const ref = {
  format: 'restorekit-benchmark-reference/1',
  title: 'PyTorch and ONNX Runtime on CPU, anchors kit',
  date: String(first.date).slice(0, 10),
  machine: cpu ? `${cpu.cpus} CPUs (${cpu.model}; ${cpu.simd.join(', ')}), engines one after another, machine otherwise idle` : 'unknown machine',
  method:
    'batch 1, NCHW (PyTorch, ORT) / NHWC (restorekit), U(0,1) input, random weights, eval/inference mode; one warm-up, then the median of 3 timed runs. GFLOP = 2 × multiply-adds of convolutions and matrix products (TorchDispatchMode count; FFTs, norms, elementwise ops not counted).',
  sources,
  engines,
  entries,
  ...(workers ? { workers } : {}),
};
const text = `${JSON.stringify(ref, null, 2)}\n`;
if (out) writeFileSync(out, text);
else process.stdout.write(text);
