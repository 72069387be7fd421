import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@restorekit/core';
import {
  ONEDNN_DEFAULT_FEATURES,
  findTfjsNode,
  loadTfjsNode,
  loadedTensorflowCpu,
  machineProbe,
  oneDNNHazard,
  tensorflowCpuState,
  useFastestBackend,
} from './backend.js';

// Every test here runs on a machine of its own choosing, not on this one's CPU: by default one where libtensorflow
// keeps oneDNN off and nothing is hazardous (tests that need another set machineProbe themselves).
const realProbe = { ...machineProbe };
beforeEach(() => {
  machineProbe.flags = () => ['sse4_2', 'avx2', 'fma'];
  machineProbe.hazard = () => null;
});
afterEach(() => Object.assign(machineProbe, realProbe));

const root = mkdtempSync(join(tmpdir(), 'rk-backend-'));
let before = 'cpu';
beforeAll(() => {
  before = tf.getBackend();
});
afterAll(async () => {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
  await tf.setBackend(before);
  rmSync(root, { recursive: true, force: true });
});

/** A project folder whose node_modules has a @tensorflow/tfjs-node made of `code`. */
function project(name: string, code: string | null): string {
  const p = join(root, name);
  mkdirSync(p, { recursive: true });
  if (code === null) return p;
  const dir = join(p, 'node_modules', '@tensorflow', 'tfjs-node');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }));
  writeFileSync(join(dir, 'index.js'), code);
  return p;
}

describe('useFastestBackend (Node)', () => {
  it('without tfjs-node in the project: wasm, and says why', async () => {
    const p = project('plain', null);
    expect(findTfjsNode(p)).toBeNull();
    const c = await useFastestBackend({ from: p });
    expect(c).toEqual({ name: 'wasm', why: `no @tensorflow/tfjs-node in ${p}`, skipped: [] });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('a tfjs-node that registers nothing in this tfjs-core (another copy): skipped with the reason, then wasm', async () => {
    const p = project('broken', 'module.exports = {};\n');
    expect(findTfjsNode(p)?.pkg).toBe('@tensorflow/tfjs-node');
    const c = await useFastestBackend({ from: p });
    expect(c.name).toBe('wasm');
    expect(c.why).toBe('@tensorflow/tfjs-node unusable');
    expect(c.skipped).toHaveLength(1);
    expect(c.skipped[0]).toMatch(/^tensorflow: @tensorflow\/tfjs-node registered its backend in another copy of @tensorflow\/tfjs-core/);
    const t = project('throws', "throw new Error('libtensorflow.so.2: cannot open shared object file');\n");
    const d = await useFastestBackend({ from: t });
    expect(d.name).toBe('wasm');
    expect(d.skipped[0]).toMatch(/failed to load: libtensorflow\.so\.2: cannot open shared object file/);
  });

  it('with tfjs-node in the project: tensorflow, and the module for worker pools', async () => {
    const p = fakeTfjsNode('with');
    const c = await useFastestBackend({ from: p });
    expect(c.name).toBe('tensorflow');
    expect(c.why).toBe('found @tensorflow/tfjs-node');
    expect(c.tfjsNode).toBe(join(p, 'node_modules', '@tensorflow', 'tfjs-node', 'index.js'));
    expect(c.tensorflowCpu).toEqual(tensorflowCpuState());
    expect(tf.getBackend()).toBe('tensorflow');
  });
});

/**
 * A project whose tfjs-node registers tfjs's cpu kernels under the name 'tensorflow' in this tfjs-core, as tfjs-node
 * would, and records the libtensorflow settings of the environment it was loaded in (globalThis.__rkEnvAtLoad).
 */
function fakeTfjsNode(name: string): string {
  const req = createRequire(import.meta.url);
  return project(
    name,
    `const tf = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-core'))});
const { MathBackendCPU } = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-backend-cpu'))});
globalThis.__rkEnvAtLoad = { oneDNN: process.env.TF_ENABLE_ONEDNN_OPTS, bfc: process.env.TF_CPU_ALLOCATOR_USE_BFC };
tf.registerBackend('tensorflow', () => new MathBackendCPU(), 0);
// Kernels outlive tf.removeBackend: the first fake's registrations serve the later ones.
for (const k of tf.getKernelsForBackend('cpu'))
  if (!tf.getKernel(k.kernelName, 'tensorflow')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
`,
  );
}
const envAtLoad = () => (globalThis as { __rkEnvAtLoad?: { oneDNN?: string; bfc?: string } }).__rkEnvAtLoad;

describe("libtensorflow's CPU settings (oneDNN, allocator)", () => {
  const KEYS = ['TF_ENABLE_ONEDNN_OPTS', 'TF_CPU_ALLOCATOR_USE_BFC'] as const;
  let saved: Record<string, string | undefined> = {};
  beforeEach(async () => {
    saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
    for (const k of KEYS) delete process.env[k];
    // Each test loads its own fake tfjs-node (a new file: a new module instance) into a tfjs-core without 'tensorflow'.
    if (tf.getBackend() === 'tensorflow') await tf.setBackend('cpu');
    if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
    delete (globalThis as { __rkEnvAtLoad?: unknown }).__rkEnvAtLoad;
  });
  afterEach(() => {
    for (const k of KEYS)
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  });

  it('the state by the rules libtensorflow applies at start-up: the variable, else the CPU features (Linux x64)', () => {
    const linux = { platform: 'linux', arch: 'x64' };
    expect(tensorflowCpuState({ ...linux, env: {}, flags: ['sse4_2', 'avx2', 'fma'] })).toEqual({
      oneDNN: false,
      why: `libtensorflow's default on this CPU (none of ${ONEDNN_DEFAULT_FEATURES.join(', ')})`,
      bfcAllocator: false,
    });
    expect(tensorflowCpuState({ ...linux, env: {}, flags: ['avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16'] })).toEqual({
      oneDNN: true,
      why: "libtensorflow's default on this CPU (avx512_vnni, avx512_bf16)",
      bfcAllocator: false,
    });
    // The variable wins over the CPU, in each of the spellings TF reads; the allocator's likewise.
    for (const [v, on] of [
      ['0', false],
      ['false', false],
      ['FALSE', false],
      ['1', true],
      ['true', true],
    ] as const) {
      const s = tensorflowCpuState({ ...linux, env: { TF_ENABLE_ONEDNN_OPTS: v, TF_CPU_ALLOCATOR_USE_BFC: 'true' }, flags: ['avx512_vnni'] });
      expect(s).toEqual({ oneDNN: on, why: `TF_ENABLE_ONEDNN_OPTS=${v}`, bfcAllocator: true });
    }
    // A value TF does not read leaves its default, and says so.
    const odd = tensorflowCpuState({ ...linux, env: { TF_ENABLE_ONEDNN_OPTS: 'yes' }, flags: ['amx_tile'] });
    expect(odd.oneDNN).toBe(true);
    expect(odd.why).toBe("libtensorflow's default on this CPU (amx_tile) (TF_ENABLE_ONEDNN_OPTS=yes is not 0, 1, false or true: ignored)");
    // Where the features cannot be read, or on another platform, it does not guess.
    expect(tensorflowCpuState({ ...linux, env: {}, flags: null }).oneDNN).toBeNull();
    expect(tensorflowCpuState({ platform: 'darwin', arch: 'arm64', env: {}, flags: [] })).toEqual({
      oneDNN: null,
      why: "libtensorflow's default on darwin-arm64",
      bfcAllocator: false,
    });
    expect(tensorflowCpuState({ platform: 'win32', arch: 'x64', env: { TF_ENABLE_ONEDNN_OPTS: '1' } }).oneDNN).toBe(true);
  });

  it("sets the settings before tfjs-node loads: oneDNN as asked, TF's pooling allocator unless the environment says otherwise", async () => {
    const c = await useFastestBackend({ from: fakeTfjsNode('onednn-off'), tensorflow: { oneDNN: false } });
    expect(envAtLoad()).toEqual({ oneDNN: '0', bfc: 'true' });
    expect(c.name).toBe('tensorflow');
    expect(c.tensorflowCpu).toEqual({ oneDNN: false, why: 'TF_ENABLE_ONEDNN_OPTS=0', bfcAllocator: true });

    await tf.setBackend('cpu');
    tf.removeBackend('tensorflow');
    process.env.TF_CPU_ALLOCATOR_USE_BFC = 'false';
    delete process.env.TF_ENABLE_ONEDNN_OPTS;
    const d = await useFastestBackend({ from: fakeTfjsNode('user-env') });
    // Without the option the variable stays unset (libtensorflow's own default), and the user's allocator choice holds.
    expect(envAtLoad()).toEqual({ oneDNN: undefined, bfc: 'false' });
    expect(d.tensorflowCpu?.bfcAllocator).toBe(false);
    expect(d.tensorflowCpu?.why).toMatch(/^libtensorflow's default/);
  });

  it('a CPU that reports no cache hierarchy: oneDNN is a hazard there (Linux x64 only)', () => {
    const none = join(root, 'no-such-cache-dir');
    expect(oneDNNHazard({ platform: 'linux', arch: 'x64', cacheDir: none })).toBe(
      `this CPU reports no cache hierarchy (no ${none}), and there oneDNN can kill the process (SIGFPE) and compute wrong gradients`,
    );
    expect(oneDNNHazard({ platform: 'linux', arch: 'x64', cacheDir: root })).toBeNull();
    expect(oneDNNHazard({ platform: 'darwin', arch: 'arm64', cacheDir: none })).toBeNull();
    expect(oneDNNHazard({ platform: 'linux', arch: 'arm64', cacheDir: none })).toBeNull();
  });

  it('turns oneDNN off where libtensorflow would turn it on and it is a hazard, unless the user chose; says why', async () => {
    machineProbe.flags = () => ['avx2', 'avx512_vnni'];
    machineProbe.hazard = () => 'this CPU reports no cache hierarchy (test)';
    const c = await useFastestBackend({ from: fakeTfjsNode('hazard') });
    expect(envAtLoad()).toEqual({ oneDNN: '0', bfc: 'true' });
    expect(c.tensorflowCpu).toEqual({
      oneDNN: false,
      why: "restorekit's default: this CPU reports no cache hierarchy (test)",
      bfcAllocator: true,
      hazard: 'this CPU reports no cache hierarchy (test)',
    });
    expect(loadedTensorflowCpu()).toEqual(c.tensorflowCpu);
    // The user's choice, by option or in the environment, holds.
    for (const [name, opts, env] of [
      ['hazard-option', { oneDNN: true }, undefined],
      ['hazard-env', {}, 'true'],
    ] as const) {
      await tf.setBackend('cpu');
      tf.removeBackend('tensorflow');
      if (env === undefined) delete process.env.TF_ENABLE_ONEDNN_OPTS;
      else process.env.TF_ENABLE_ONEDNN_OPTS = env;
      const d = await useFastestBackend({ from: fakeTfjsNode(name), tensorflow: opts });
      expect(envAtLoad()?.oneDNN).toBe(env ?? '1');
      expect(d.tensorflowCpu).toEqual({ oneDNN: true, why: `TF_ENABLE_ONEDNN_OPTS=${env ?? '1'}`, bfcAllocator: true });
    }
    // Where libtensorflow keeps oneDNN off anyway, nothing is set.
    await tf.setBackend('cpu');
    tf.removeBackend('tensorflow');
    delete process.env.TF_ENABLE_ONEDNN_OPTS;
    machineProbe.flags = () => ['avx2'];
    const e = await useFastestBackend({ from: fakeTfjsNode('hazard-off-anyway') });
    expect(envAtLoad()?.oneDNN).toBeUndefined();
    expect(e.tensorflowCpu?.hazard).toBeUndefined();
  });

  it('asking for the other oneDNN state once tfjs-node is loaded: a ConfigError naming why, nothing changed', async () => {
    const p = fakeTfjsNode('loaded-on');
    await useFastestBackend({ from: p, tensorflow: { oneDNN: true } });
    expect(envAtLoad()).toEqual({ oneDNN: '1', bfc: 'true' });
    // The same state again is fine; the other one cannot be had in this process.
    await expect(loadTfjsNode(join(p, 'node_modules', '@tensorflow', 'tfjs-node', 'index.js'), { oneDNN: true })).resolves.toBe(true);
    const err = await useFastestBackend({ from: p, tensorflow: { oneDNN: false } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      'tensorflow.oneDNN: false, but tfjs-node is loaded already with oneDNN on (TF_ENABLE_ONEDNN_OPTS=1); libtensorflow reads TF_ENABLE_ONEDNN_OPTS once, when it starts: set it before tfjs-node loads',
    );
    expect(process.env.TF_ENABLE_ONEDNN_OPTS).toBe('1');
    expect(tf.getBackend()).toBe('tensorflow');
    // Not a boolean: a ConfigError before anything is touched.
    await expect(loadTfjsNode(join(p, 'node_modules', '@tensorflow', 'tfjs-node', 'index.js'), { oneDNN: 'off' as never })).rejects.toThrow(
      /^tensorflow\.oneDNN must be true or false, got "off"$/,
    );
  });
});
