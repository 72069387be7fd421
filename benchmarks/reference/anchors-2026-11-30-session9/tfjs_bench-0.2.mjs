// restorekit in Node on a tfjs backend: tfjs-backend-wasm (default) or tfjs-node's native 'tensorflow' backend
// (libtensorflow + oneDNN). Official presets (batch 1, NHWC [1,S,S,3] U(0,1)) and the backend's own matMul / conv2d
// throughput. Run it from a directory whose node_modules is the packed-and-installed client (wasm: run.sh copies it
// next to a node_modules symlink to `client_dir`; tensorflow: run.sh copies it into a scratch npm project with the
// same tarballs, @tensorflow/tfjs and a working @tensorflow/tfjs-node).
// usage: node tfjs_bench.mjs --out TFJS.json [--backend wasm|tensorflow] [--torch TORCH.json] [--sizes 128,256]
//        [--reps 3] [--models restormer,anyir,drcnet,anyir-idfreq] [--skip restormer@256,...]
// Per model: createModel(name, { preset: 'official' }) ('anyir-idfreq': AnyIR official with
// frequencyBranch 'identity'); per size: one warm-up forward under tf.profile (build + first allocations;
// its peakBytes is the peak memory, weights included: tensor bytes as tfjs-core counts them, which on 'tensorflow'
// leaves out libtensorflow's own scratch memory), then REPS timed forwards (apply + `await data()` of the final
// output), median. GFLOP/s use the MAC counts of the PyTorch run (--torch) when given.
// 'tensorflow': `import '@tensorflow/tfjs-node'` (dynamically, with TF_CPP_MIN_LOG_LEVEL=2 unless set) registers the
// backend, then useBackend('tensorflow'); libtensorflow picks its own thread count (all CPUs).
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@restorekit/core';
import { createModel } from '@restorekit/models';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import os from 'node:os';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const reps = Number(args.reps ?? 3);
const sizes = (args.sizes ?? '128,256').split(',').filter(Boolean).map(Number);
const models = (args.models ?? 'restormer,anyir,drcnet,anyir-idfreq').split(',').filter(Boolean);
const skip = new Set((args.skip ?? '').split(',').filter(Boolean));
const torch = args.torch ? JSON.parse(readFileSync(args.torch, 'utf8')) : null;
const backend = args.backend ?? 'wasm';
if (backend !== 'wasm' && backend !== 'tensorflow') throw new Error(`--backend wasm|tensorflow, not '${backend}'`);
const tag = backend === 'wasm' ? '[tfjs]' : '[tfjs-tf]';
const require = createRequire(`${process.cwd()}/package.json`);
const ver = (p) => { try { return require(`${p}/package.json`).version; } catch { return null; } };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const res = {
  engine: backend === 'wasm' ? 'restorekit + tfjs-backend-wasm' : 'restorekit + tfjs-node (tensorflow backend)',
  node: process.version, backend: null, versions: {}, reps, loadavg_start: os.loadavg(), peaks: {}, models: {},
};
if (backend === 'wasm') {
  await useBackend('wasm');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  Object.assign(res, {
    versions: {
      'tfjs-core': ver('@tensorflow/tfjs-core'), 'tfjs-backend-wasm': ver('@tensorflow/tfjs-backend-wasm'),
      '@restorekit/models': ver('@restorekit/models'), '@restorekit/core': ver('@restorekit/core'),
    },
    wasm_threads: typeof wasm.getThreadsCount === 'function' ? wasm.getThreadsCount() : null,
    wasm_simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    wasm_multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
  });
} else {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // read when libtensorflow loads, i.e. by the import below
  const tfn = await import('@tensorflow/tfjs-node');
  await useBackend('tensorflow');
  const be = tf.backend();
  let libSource = null;
  try {
    const pkgDir = dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
    libSource = JSON.parse(readFileSync(join(pkgDir, 'scripts', 'custom-binary.json'), 'utf8'))['tf-lib'] ?? null;
  } catch { /* a stock install has no custom-binary.json */ }
  Object.assign(res, {
    versions: {
      'tfjs-core': ver('@tensorflow/tfjs-core'),
      'tfjs-node': (tfn.version ?? tfn.default?.version)?.['tfjs-node'] ?? ver('@tensorflow/tfjs-node'),
      libtensorflow: be?.binding?.TF_Version ?? null,
      '@restorekit/models': ver('@restorekit/models'), '@restorekit/core': ver('@restorekit/core'),
    },
    libtensorflow_source: libSource,
    // libtensorflow's intra-op pool defaults to the machine's CPUs (tfjs-node sets no thread count)
    tf_threads: os.availableParallelism?.() ?? os.cpus().length,
    tf_env: Object.fromEntries(['TF_CPP_MIN_LOG_LEVEL', 'TF_ENABLE_ONEDNN_OPTS', 'TF_NUM_INTRAOP_THREADS', 'OMP_NUM_THREADS']
      .filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
  });
}
res.backend = tf.getBackend();
const t0all = performance.now();
if (backend === 'wasm') console.log(`${tag} backend ${res.backend}, threads ${res.wasm_threads}, SIMD ${res.wasm_simd}, multithread ${res.wasm_multithread}`);
else console.log(`${tag} backend ${res.backend}, tfjs-node ${res.versions['tfjs-node']}, libtensorflow ${res.versions.libtensorflow}` +
  `${res.libtensorflow_source ? ` (${res.libtensorflow_source})` : ''}, ${res.tf_threads} CPUs`);

// ---- peaks
function peak(key, gflop, make, op) {
  const inputs = make();
  const run = () => { const y = op(...inputs); y.dataSync(); y.dispose(); };
  run();
  const ts = [];
  const start = performance.now();
  while (ts.length < 10 || performance.now() - start < 2000) {
    const t = performance.now(); run(); ts.push((performance.now() - t) / 1000);
  }
  tf.dispose(inputs);
  const med = median(ts), best = Math.min(...ts);
  res.peaks[key] = { gflop, median_s: med, best_s: best, n: ts.length, gflops_median: gflop / med, gflops_best: gflop / best };
  console.log(`${tag} peak ${key}: ${(gflop / med).toFixed(1)} GFLOP/s median, ${(gflop / best).toFixed(1)} best (n=${ts.length})`);
}
peak('matmul_1024', 2 * 1024 ** 3 / 1e9,
  () => [tf.randomUniform([1024, 1024], 0, 1, 'float32', 1), tf.randomUniform([1024, 1024], 0, 1, 'float32', 2)],
  (a, b) => tf.matMul(a, b));
peak('conv3x3_128x128x64to64', 2 * 128 * 128 * 64 * 64 * 9 / 1e9,
  () => [tf.randomUniform([1, 128, 128, 64], 0, 1, 'float32', 3), tf.randomUniform([3, 3, 64, 64], 0, 1, 'float32', 4)],
  (x, w) => tf.conv2d(x, w, 1, 'same'));

// ---- models
async function forward(net, x) {
  const out = net.apply(x);
  const list = Array.isArray(out) ? out : [out];
  await list[list.length - 1].data(); // read back the final image: the timing covers the whole computation
  tf.dispose(list);
}
for (const name of models) {
  const entry = (res.models[name] = { sizes: {} });
  const opts = name === 'anyir-idfreq' ? { preset: 'official', frequencyBranch: 'identity' } : { preset: 'official' };
  entry.create = opts;
  const family = name === 'anyir-idfreq' ? 'anyir' : name;
  let net;
  try {
    net = await createModel(family, opts); // restorekit 0.2: createModel is async (session 8 adaptation)
  } catch (e) { entry.error = String(e.message ?? e).slice(0, 300); console.log(`${tag} ${name}: ${entry.error}`); continue; }
  for (const s of sizes) {
    if (skip.has(`${name}@${s}`)) { entry.sizes[String(s)] = { skipped: true }; continue; }
    const x = tf.randomUniform([1, s, s, 3], 0, 1, 'float32', 5);
    const r = {};
    try {
      const before = tf.memory().numTensors;
      let t = performance.now();
      const prof = await tf.profile(async () => { await forward(net, x); });
      r.warmup_s = (performance.now() - t) / 1000;
      r.peak_mib = Number.isFinite(prof?.peakBytes) ? prof.peakBytes / 2 ** 20 : null;
      r.kernels = prof?.kernels?.length ?? null;
      const ts = [];
      for (let i = 0; i < reps; i++) { t = performance.now(); await forward(net, x); ts.push((performance.now() - t) / 1000); }
      r.times_s = ts; r.median_s = median(ts);
      // tensors still alive after this size's runs: at the first size these are the model's weights (built by the
      // first apply); with AnyIR's 'fft' branch also @restorekit/fft's DFT-basis cache (releaseFFTCache frees it)
      r.tensors_added = tf.memory().numTensors - before;
      const gflop = torch?.models?.[name]?.sizes?.[String(s)]?.gflop;
      if (gflop) { r.gflop = gflop; r.gflops_per_s = gflop / r.median_s; }
      console.log(`${tag} ${name} ${s}x${s}: median ${r.median_s.toFixed(3)} s of [${ts.map((v) => v.toFixed(3)).join(', ')}]` +
        `${r.gflops_per_s ? `, ${r.gflops_per_s.toFixed(1)} GFLOP/s` : ''}, peak ${r.peak_mib?.toFixed(0) ?? '?'} MiB, ${r.kernels} kernels (warm-up ${r.warmup_s.toFixed(1)} s)`);
    } catch (e) {
      r.error = String(e.message ?? e).slice(0, 300);
      console.log(`${tag} ${name} ${s}: ${r.error}`);
    } finally { x.dispose(); }
    entry.sizes[String(s)] = r;
  }
  if (net.built) entry.params = net.countParams?.();
  net.dispose?.();
}
res.rss_peak_mib = process.resourceUsage().maxRSS / 1024;
res.total_s = (performance.now() - t0all) / 1000;
res.loadavg_end = os.loadavg();
writeFileSync(args.out, JSON.stringify(res, null, 1));
console.log(`${tag} done in ${res.total_s.toFixed(0)} s -> ${args.out}`);
