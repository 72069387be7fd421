import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { findTfjsNode, useFastestBackend } from './backend.js';

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
    // Registers tfjs's cpu kernels under the name 'tensorflow' in this tfjs-core, as tfjs-node would.
    const req = createRequire(import.meta.url);
    const p = project(
      'with',
      `const tf = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-core'))});
const { MathBackendCPU } = require(${JSON.stringify(req.resolve('@tensorflow/tfjs-backend-cpu'))});
tf.registerBackend('tensorflow', () => new MathBackendCPU(), 0);
for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
`,
    );
    const c = await useFastestBackend({ from: p });
    expect(c.name).toBe('tensorflow');
    expect(c.why).toBe('found @tensorflow/tfjs-node');
    expect(c.tfjsNode).toBe(join(p, 'node_modules', '@tensorflow', 'tfjs-node', 'index.js'));
    expect(tf.getBackend()).toBe('tensorflow');
  });
});
