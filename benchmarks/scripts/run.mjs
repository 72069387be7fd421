#!/usr/bin/env node
/**
 * Runs the benchmark projects one after another (never two at once: timings must not compete), for the backends in
 * BENCH_BACKENDS (default: cpu, wasm, tensorflow where tfjs-node is installed, webgl, webgpu). Extra arguments are
 * passed to vitest (e.g. a file filter: `node scripts/run.mjs src/models.bench.test.ts`). Every other BENCH_* variable
 * reaches the benchmarks (vitest.config.ts). Exits non-zero when a project failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(here);
const PROJECT = { cpu: 'node-cpu', wasm: 'node-wasm', tensorflow: 'node-tensorflow', webgl: 'webgl', webgpu: 'webgpu' };

function hasTfjsNode() {
  if (process.env.RESTOREKIT_TFJS_NODE === '0') return false;
  if (process.env.RESTOREKIT_TFJS_NODE || existsSync(join(root, '.tfjs-node', 'ok'))) return true;
  const req = createRequire(join(root, 'package.json'));
  return ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((p) => {
    try {
      req.resolve(p);
      return true;
    } catch {
      return false;
    }
  });
}

const requested = (process.env.BENCH_BACKENDS ?? 'cpu,wasm,tensorflow,webgl,webgpu')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = requested.filter((b) => !PROJECT[b]);
if (unknown.length) {
  console.error(`BENCH_BACKENDS: unknown backend(s) ${unknown.join(', ')} (known: ${Object.keys(PROJECT).join(', ')})`);
  process.exit(2);
}
const browser = requested.some((b) => b === 'webgl' || b === 'webgpu');
const failed = [];
for (const b of requested) {
  if (b === 'tensorflow' && !hasTfjsNode()) {
    console.log('[bench] tensorflow: tfjs-node is not installed here (bash scripts/tfjs-node.sh, or npm i @tensorflow/tfjs-node / -gpu); skipped');
    continue;
  }
  console.log(`[bench] ${b} (vitest project ${PROJECT[b]})`);
  const env = { ...process.env, ...(browser ? {} : { RESTOREKIT_NO_BROWSER: '1' }) };
  const r = spawnSync('vitest', ['run', '--config', 'vitest.config.ts', '--project', PROJECT[b], ...process.argv.slice(2)], {
    cwd: here,
    stdio: 'inherit',
    env,
    shell: false,
  });
  if (r.status !== 0) failed.push(`${b} (exit ${r.status ?? r.signal})`);
}
if (failed.length) {
  console.error(`[bench] failed: ${failed.join(', ')}`);
  process.exit(1);
}
