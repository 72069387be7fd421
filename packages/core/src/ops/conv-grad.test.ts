import { describe, it, expect, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, convTranspose2d, configure } from '../index.js';

/**
 * wasm has no Conv2DBackpropFilter / Depthwise backprop kernels; restorekit computes those gradients
 * with forward ops. Here the gradients of a conv stack on the current backend (auto mode: forward-op
 * path on wasm, native kernels elsewhere) and with the forced forward-op path are compared with cpu's
 * native-kernel gradients.
 */
type Params = Record<string, tf.Tensor>;
function stack(x: tf.Tensor4D, p: Params): tf.Scalar {
  let h = conv2d(x, p.w1 as tf.Tensor4D, { padding: 1 }); // 3x3, 3→6
  h = conv2d(h, p.w2 as tf.Tensor4D, { stride: 2, padding: 1 }); // 3x3 stride 2, 6→4
  h = conv2d(h, p.dw as tf.Tensor4D, { padding: 3, groups: 4 }); // 7x7 depthwise, mult 2 → 8
  h = conv2d(h, p.dw2 as tf.Tensor4D, { stride: 2, padding: 1, groups: 8 }); // 3x3 depthwise stride 2
  h = conv2d(h, p.g as tf.Tensor4D, { padding: 1, groups: 2 }); // grouped 8→4
  h = convTranspose2d(h, p.t as tf.Tensor4D, { stride: 2, padding: 1 }); // 4x4 s2 transpose 4→3
  return tf.sum(tf.mul(tf.tanh(h), p.probe!));
}

function makeParams(): Params {
  return {
    w1: tf.randomNormal([3, 3, 3, 6], 0, 0.3, 'float32', 1),
    w2: tf.randomNormal([3, 3, 6, 4], 0, 0.3, 'float32', 2),
    dw: tf.randomNormal([7, 7, 1, 8], 0, 0.3, 'float32', 3),
    dw2: tf.randomNormal([3, 3, 1, 8], 0, 0.3, 'float32', 4),
    g: tf.randomNormal([3, 3, 4, 4], 0, 0.3, 'float32', 5),
    t: tf.randomNormal([4, 4, 3, 4], 0, 0.3, 'float32', 6),
    probe: tf.randomNormal([2, 6, 4, 3], 0, 1, 'float32', 7),
  };
}

type Host = Record<string, { shape: number[]; data: Float32Array }>;
async function toHost(t: Record<string, tf.Tensor>): Promise<Host> {
  const h: Host = {};
  for (const [k, v] of Object.entries(t)) h[k] = { shape: v.shape, data: (await v.data()) as Float32Array };
  return h;
}
/** The stack's input and parameters (seeded) as host data. */
async function stackInputs(): Promise<Host> {
  const t = { x: tf.randomNormal([2, 10, 6, 3], 0, 1, 'float32', 0), ...makeParams() };
  const host = await toHost(t);
  tf.dispose(Object.values(t));
  return host;
}

/** Value and gradients of `f` on the active backend from host data (no tensor moves between backends: webgpu returns zeros for those). */
async function gradsOn(host: Host, f: typeof stack = stack): Promise<Record<string, Float32Array>> {
  const t: Params = {};
  for (const [k, v] of Object.entries(host)) t[k] = tf.tensor(v.data, v.shape);
  const r = await grads(t.x as tf.Tensor4D, t, f);
  tf.dispose(Object.values(t));
  return r;
}

/** { value, x, w1, …, t }: the scalar and its gradient with respect to each input of the stack. */
async function grads(x: tf.Tensor4D, p: Params, f: typeof stack): Promise<Record<string, Float32Array>> {
  const names = ['x', 'w1', 'w2', 'dw', 'dw2', 'g', 't'];
  const vg = tf.valueAndGrads((xx: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, dw: tf.Tensor, dw2: tf.Tensor, gg: tf.Tensor, t: tf.Tensor) =>
    f(xx as tf.Tensor4D, { w1, w2, dw, dw2, g: gg, t, probe: p.probe! }),
  );
  const { value, grads: out } = vg([x, p.w1!, p.w2!, p.dw!, p.dw2!, p.g!, p.t!]);
  const res: Record<string, Float32Array> = { value: (await value.data()) as Float32Array };
  for (const [i, t] of out.entries()) res[names[i]!] = (await t.data()) as Float32Array;
  tf.dispose([value, ...out]);
  return res;
}

/**
 * max |got − ref| relative to max |ref| (which must be non-zero) below 1e-4, for every key of `ref`. The scalar
 * `value` is a sum of 144 terms of size ~1 whose float32 rounding alone reaches ~1e-5 in whatever order a backend adds
 * them, and it is small (~0.02: the terms cancel), so it also passes within 1e-5 absolute (webgpu on SwiftShader
 * came to 1.8e-6 off, 1.03e-4 relative).
 */
function expectClose(got: Record<string, Float32Array>, ref: Record<string, Float32Array>, label: string): void {
  for (const k of Object.keys(ref)) {
    const r = ref[k]!;
    const g = got[k]!;
    const scale = Math.max(...Array.from(r, Math.abs));
    expect(scale, `${k}: reference is all zeros`).toBeGreaterThan(0);
    let maxDiff = 0;
    for (let i = 0; i < r.length; i++) maxDiff = Math.max(maxDiff, Math.abs(g[i]! - r[i]!));
    const ok = maxDiff / scale < 1e-4 || (k === 'value' && maxDiff < 1e-5);
    expect(ok, `${label}: ${k === 'value' ? 'value' : `d/d${k}`} differs by ${maxDiff} (${(maxDiff / scale).toExponential(2)} of its scale)`).toBe(true);
  }
}

afterEach(() => configure({ convGradient: 'auto', wasmKernels: true }));

describe('convolution gradients on every backend match cpu native gradients', () => {
  it('conv stack: conv, strided conv, depthwise (mult 2, 7x7, stride 2), grouped, transposed', async () => {
    const before = tf.memory().numTensors;
    const backend = tf.getBackend();
    const host = await stackInputs();
    const here = await gradsOn(host);
    configure({ convGradient: 'forward' });
    const forward = await gradsOn(host);
    configure({ convGradient: 'native' });
    await tf.setBackend('cpu');
    const ref = await gradsOn(host);
    await tf.setBackend(backend);
    expectClose(here, ref, `auto on ${backend}`);
    expectClose(forward, ref, `forward-op path on ${backend}`);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** The same stack from tfjs ops alone: explicit tf.pad copies, 'valid' convs, tfjs's own gradients (cpu). */
function tfjsStack(x: tf.Tensor4D, p: Params): tf.Scalar {
  const pad = (t: tf.Tensor4D, k: number) =>
    tf.pad(t, [
      [0, 0],
      [k, k],
      [k, k],
      [0, 0],
    ]);
  let h = tf.conv2d(pad(x, 1), p.w1 as tf.Tensor4D, 1, 'valid');
  h = tf.conv2d(pad(h, 1), p.w2 as tf.Tensor4D, 2, 'valid');
  h = tf.depthwiseConv2d(pad(h, 3), tf.reshape(p.dw!, [7, 7, 4, 2]) as tf.Tensor4D, 1, 'valid');
  h = tf.depthwiseConv2d(pad(h, 1), tf.reshape(p.dw2!, [3, 3, 8, 1]) as tf.Tensor4D, 2, 'valid');
  const [a, b] = tf.split(pad(h, 1), 2, 3) as [tf.Tensor4D, tf.Tensor4D];
  const [ga, gb] = tf.split(p.g!, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
  h = tf.concat([tf.conv2d(a, ga, 1, 'valid'), tf.conv2d(b, gb, 1, 'valid')], 3);
  const [n, hh, ww] = h.shape;
  const full = tf.conv2dTranspose(h, p.t as tf.Tensor4D, [n, (hh - 1) * 2 + 4, (ww - 1) * 2 + 4, 3], 2, 'valid');
  h = tf.slice(full, [0, 1, 1, 0], [n, (hh - 1) * 2 + 2, (ww - 1) * 2 + 2, 3]);
  return tf.sum(tf.mul(tf.tanh(h), p.probe!));
}

describe('padding done by the conv kernel (no padded copy) equals tf.pad + valid conv', () => {
  it('value and every gradient of the conv stack match tfjs-only ops with tfjs autodiff on cpu', async () => {
    const before = tf.memory().numTensors;
    const backend = tf.getBackend();
    const host = await stackInputs();
    const ours = await gradsOn(host);
    await tf.setBackend('cpu');
    const ref = await gradsOn(host, tfjsStack);
    await tf.setBackend(backend);
    expectClose(ours, ref, `in-kernel padding on ${backend} vs tf.pad + valid conv on cpu`);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('1×1 conv filter gradient on the forward-op path', () => {
  it('an expanding 1×1 conv (dWᵀ = dyᵀ·x, x packed as it is) and a shrinking one equal xᵀ·dy (wasm: restorekit’s kernel where both have ≥ 4 channels, the products with it off)', async () => {
    configure({ convGradient: 'forward' });
    const before = tf.memory().numTensors;
    for (const [cin, cout, kernels] of [
      [5, 12, true],
      [12, 5, true],
      [3, 12, true],
      [12, 3, true],
      [5, 12, false],
      [12, 5, false],
    ] as const) {
      configure({ wasmKernels: kernels });
      const x = tf.randomNormal([2, 32, 36, cin], 0, 1, 'float32', cin) as tf.Tensor4D;
      const w = tf.randomNormal([1, 1, cin, cout], 0, 0.3, 'float32', cout) as tf.Tensor4D;
      const dy = tf.randomNormal([2, 32, 36, cout], 0, 1, 'float32', 9);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], dy);
      const want = tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [-1, cin]), tf.reshape(dy, [-1, cout]), true, false), [1, 1, cin, cout]));
      expect(dw!.shape).toEqual([1, 1, cin, cout]);
      const [u, v] = [await dw!.data(), await want.data()];
      for (let i = 0; i < v.length; i++) expect(Math.abs(u[i]! - v[i]!), `${cin}→${cout} [${i}]`).toBeLessThan(1e-3 * (1 + Math.abs(v[i]!)));
      tf.dispose([x, w, dy, dx!, dw!, want]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("conv2d's bias option (inside the conv kernel where the backend fuses it)", () => {
  it('equals conv + add in value and in the gradients of x, w and the bias: dense 1×1, 3×3 (Winograd on wasm), strided, grouped, depth-wise', async () => {
    const before = tf.memory().numTensors;
    for (const [what, cin, cout, k, stride, padding, groups] of [
      ['1×1', 12, 16, 1, 1, 0, 1],
      ['3×3', 8, 8, 3, 1, 1, 1],
      ['3×3 stride 2', 6, 5, 3, 2, 1, 1],
      ['grouped', 8, 4, 3, 1, 1, 2],
      ['depth-wise', 8, 8, 3, 1, 1, 8],
    ] as const) {
      const x = tf.randomNormal([2, 17, 19, cin], 0, 1, 'float32', cin + k) as tf.Tensor4D;
      const w = tf.randomNormal([k, k, cin / groups, cout], 0, 0.3, 'float32', cout) as tf.Tensor4D;
      const b = tf.randomNormal([cout], 0, 1, 'float32', 3) as tf.Tensor1D;
      const opts = { stride, padding, groups };
      const y = conv2d(x, w, opts);
      const dyShape = y.shape;
      y.dispose();
      const dy = tf.randomNormal(dyShape, 0, 1, 'float32', 9);
      const fused = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => conv2d(a as tf.Tensor4D, f as tf.Tensor4D, { ...opts, bias: c as tf.Tensor1D }));
      const plain = tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) => tf.add(conv2d(a as tf.Tensor4D, f as tf.Tensor4D, opts), c));
      const y1 = conv2d(x, w, { ...opts, bias: b });
      const y0 = tf.tidy(() => tf.add(conv2d(x, w, opts), b));
      if (['wasm', 'webgl', 'webgpu'].includes(tf.getBackend()) && what === '1×1') {
        // the bias inside the conv kernel (restorekit's product kernel on wasm, tfjs's fused conv elsewhere): no Add after it
        const info = await tf.profile(() => conv2d(x, w, { ...opts, bias: b }));
        expect(info.kernelNames, what).toContain(tf.getBackend() === 'wasm' ? 'RestorekitMatMul' : 'FusedConv2D');
        expect(info.kernelNames, what).not.toContain('Add');
        (info.result as tf.Tensor).dispose();
      }
      const g1 = fused([x, w, b], dy);
      const g0 = plain([x, w, b], dy);
      for (const [name, u, v] of [
        ['y', y1, y0],
        ['dx', g1[0], g0[0]],
        ['dw', g1[1], g0[1]],
        ['db', g1[2], g0[2]],
      ] as const) {
        expect(u!.shape, `${what} ${name}`).toEqual(v!.shape);
        const [a, c] = [await u!.data(), await v!.data()];
        let worst = 0;
        for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(a[i]! - c[i]!) / (1 + Math.abs(c[i]!)));
        expect(worst, `${what} ${name}`).toBeLessThan(2e-5);
      }
      tf.dispose([x, w, b, dy, y1, y0, ...g1, ...g0]);
    }
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const w = tf.zeros([1, 1, 3, 5]) as tf.Tensor4D;
    const bad = tf.zeros([4]) as tf.Tensor1D;
    expect(() => conv2d(x, w, { bias: bad })).toThrow(/the bias must have shape \[5\] \(the output channels\), got \[4\]/);
    tf.dispose([x, w, bad]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
