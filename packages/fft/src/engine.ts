/**
 * The 1-D transforms behind rfft2 / irfft2 / fft2 / ifft2, applied along any axis of a tensor in
 * place: the tensor is viewed as [pre, N, post] (pre = the axes before, post = the axes after) and
 * every DFT is a real matMul with a basis applied *from the left* (broadcast over pre), so NHWC data
 * is never transposed to put the transformed axis last. Complex values are { re, im } pairs; complex
 * stages stack [re; im] along the transformed axis (one concat) and apply a [K, 2N] basis per output
 * part. Everything is plain float32 tensor ops, so tfjs's own gradients apply on every backend
 * (wasm included) and the adjoint is exact.
 *
 * Two implementations per stage:
 * - 'matmul': the dense DFT (N² work per line; one or two wide matMuls);
 * - 'fourstep': N = P·Q, n = Q·n1 + n2, k = k1 + P·k2. A length-P DFT over n1 (basis from the left),
 *   then for every k1 a twiddled length-Q DFT over n2 (one batched matMul whose [P, Q, 2Q] bases hold
 *   the twiddles), then one transpose [k1, k2] → [k2, k1] into natural order. 2(P+Q) instead of 2N
 *   multiply-adds per value and line.
 *
 * wasm is different: its matMul is fast (XNNPACK) only for one plain [M, K]·[K, N] product; a batched,
 * broadcast or transposed matMul falls back to a scalar loop ~10× slower, and concat runs in JS. So
 * on 'rows' backends (STAGE_LAYOUT) a stage whose axis is not the last is first transposed to be the
 * last axis (the axis stays there for the next stage; one transpose back at the end), every product is
 * a plain 2-D matMul rows·Bᵀ with a cached transposed basis (XNNPACK packs the right operand of each
 * product, so that operand must be the cached basis, not the data), and complex products are split
 * into real ones plus adds instead of stacking [re; im]. Its four-step form (complex stages only, see
 * run2dRows) keeps the bins of a transformed axis as two digits until the final transpose.
 *
 * webgl and webgpu use custom DFT-pass kernels instead ('kernel' path: kernels.ts, kernels-webgl.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FFTPath } from './types.js';
import { KERNEL_BACKENDS, hasFFTKernel, kernelStage } from './kernels.js';
import { packedStage, stackParts, takePart } from './kernels-webgl.js';
import { BackendError, matMul, prefers } from '@restorekit/core';
import { c2cBases, c2rBasis, c2rSplitBases, c2rWeights, fourStepBases, r2cBases, rowsTwiddles, transposed } from './basis.js';

export type StageKind = 'r2c' | 'c2c' | 'c2r';
export interface Stage {
  kind: StageKind;
  /** Signal length (for c2r: the output length). */
  n: number;
  /** −1 forward, +1 inverse. */
  sign: 1 | -1;
  scale: number;
}

/** A complex value inside the engine. */
export interface Cx {
  re: tf.Tensor;
  im: tf.Tensor;
}

/**
 * Smallest length at which 'auto' uses the four-step path on 'left' backends (wasm's 'rows' layout has its
 * own four-step form and threshold, ROWS_FOURSTEP_MIN_N), per backend (measured with
 * benchmarks/src/fft.bench.test.ts, see benchmarks/results/fft.md). Edit this object to tune it;
 * 'default' covers unlisted backends (tfjs-node's 'tensorflow' included).
 */
export const FOURSTEP_MIN_N: Record<string, number> = { cpu: 128, webgl: 128, webgpu: 128, default: 128 };
/**
 * The four-step path's second stage is a batched matMul over the values after the transformed axis
 * (`post`: C for the W axis of NHWC); below this many it degenerates to matrix-vector products and
 * 'auto' keeps the dense DFT.
 */
export const FOURSTEP_MIN_POST = 4;

/**
 * The custom DFT-pass kernels (kernels.ts for webgpu, kernels-webgl.ts for webgl; 'auto' where core's
 * `prefers('fftKernel')` says so) do two launches per axis
 * instead of the ~10 tensor ops of the four-step path. Lengths from this one up use two passes
 * (four-step); shorter ones one dense pass.
 */
export const KERNEL_FOURSTEP_MIN_N = 64;
/**
 * The same on wasm, whose kernel path runs a power of two as one radix-2 FFT pass and other lengths from this one up as
 * the four-step's two DFT passes (P + Q terms per output instead of N): measured with fft's round trip of [1, N, N, 32]
 * on wasm, N = 60: 1.9 ms dense → 0.8 ms four-step, N = 48: 1.2 → 0.75, N = 20: within noise.
 */
export const WASM_KERNEL_FOURSTEP_MIN_N = 12;

/** How each backend lays out a stage (see the module comment); unlisted backends use 'left'. */
export const STAGE_LAYOUT: Record<string, 'left' | 'rows'> = { wasm: 'rows' };

function layoutFor(backend = tf.getBackend()): 'left' | 'rows' {
  return STAGE_LAYOUT[backend] ?? 'left';
}

function isPow2(n: number): boolean {
  return n >= 8 && (n & (n - 1)) === 0;
}

/** N = P·Q with Q the largest divisor ≤ √N; null when N has no factor pair with both factors ≥ 2. */
export function factorPair(n: number): [number, number] | null {
  for (let q = Math.floor(Math.sqrt(n)); q >= 2; q--) if (n % q === 0) return [n / q, q];
  return null;
}

function fourStepFactors(n: number, post: number, path: FFTPath, backend?: string): [number, number] | null {
  if (path === 'matmul') return null;
  const f = factorPair(n);
  if (path === 'fourstep') return f;
  const b = backend ?? tf.getBackend();
  if (layoutFor(b) === 'rows') return null; // its batched matMuls are the slow kind there
  const min = FOURSTEP_MIN_N[b] ?? FOURSTEP_MIN_N.default ?? 128;
  return n >= min && post >= FOURSTEP_MIN_POST && f !== null && f[1] >= 4 ? f : null;
}

/**
 * The implementation a 1-D transform of length n uses on `backend` (default: the current one) when
 * `post` values follow the transformed axis (default: many, as for the H axis of NHWC). `kind` matters only on
 * 'rows' backends (wasm), where only complex stages ('c2c', the default) run as four steps.
 */
export function pathFor(n: number, path: FFTPath = 'auto', backend?: string, post = Infinity, kind: StageKind = 'c2c'): 'matmul' | 'fourstep' | 'kernel' {
  if (usesKernel(path, backend)) return 'kernel';
  if (layoutFor(backend) === 'rows') return rowsFactors({ kind, n, sign: -1, scale: 1 }, path) ? 'fourstep' : 'matmul';
  return fourStepFactors(n, post, path, backend) ? 'fourstep' : 'matmul';
}

function usesKernel(path: FFTPath, backend = tf.getBackend()): boolean {
  if (path === 'kernel') return true;
  return path === 'auto' && prefers('fftKernel', backend) && hasFFTKernel(backend);
}

/** basis [K, N] applied from the left along the middle axis of x viewed as [pre, N, post] → [pre, K, post]. */
function leftMul(basis: tf.Tensor, x: tf.Tensor, pre: number, N: number, post: number): tf.Tensor3D {
  const K = basis.shape[0]!;
  if (post === 1) return tf.reshape(tf.matMul(tf.reshape(x, [pre, N]) as tf.Tensor2D, basis as tf.Tensor2D, false, true), [pre, K, 1]);
  if (pre === 1) return tf.reshape(tf.matMul(basis as tf.Tensor2D, tf.reshape(x, [N, post]) as tf.Tensor2D), [1, K, post]);
  return tf.matMul(tf.reshape(basis, [1, K, N]) as tf.Tensor3D, tf.reshape(x, [pre, N, post]) as tf.Tensor3D);
}

/** [re; im] stacked along the middle axis: [pre, 2N, post]. */
function stack(z: Cx, pre: number, N: number, post: number): tf.Tensor {
  return tf.concat([tf.reshape(z.re, [pre, N, post]), tf.reshape(z.im, [pre, N, post])], 1);
}

/**
 * Four-step stages 2–3 on a [pre, P(k1), Q(n2)·post] complex value: the twiddled length-Q DFTs,
 * keeping `rows` ≤ Q values of k2, then [k1, k2] → [k2, k1]. Returns [pre, rows·P, post] (k = k1 + P·k2),
 * only the real part when `realOnly`.
 */
function fourStepOuter(a: Cx, pre: number, P: number, Q: number, post: number, sign: 1 | -1, scale: number, rows: number, realOnly: boolean): tf.Tensor[] {
  const z = tf.concat([tf.reshape(a.re, [pre, P, Q, post]), tf.reshape(a.im, [pre, P, Q, post])], 2); // [pre, P, 2Q, post]
  const [gr, gi] = fourStepBases(P, Q, sign, scale, rows);
  const parts = realOnly ? [gr] : [gr, gi];
  return parts.map((g) => {
    const y = tf.matMul(tf.reshape(g, [1, P, rows, 2 * Q]) as tf.Tensor4D, z as tf.Tensor4D); // [pre, P(k1), rows(k2), post]
    return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [pre, rows * P, post]);
  });
}

/** One stage along the middle axis of [pre, N, post] views. Inputs: real x (r2c) or complex z; outputs [pre, K, post]. */
export function stage1d(input: tf.Tensor | Cx, st: Stage, pre: number, post: number, path: FFTPath): tf.Tensor | Cx {
  const N = st.n;
  const f = fourStepFactors(N, post, path);
  if (st.kind === 'r2c') {
    const x = input as tf.Tensor;
    const K = Math.floor(N / 2) + 1;
    if (!f) {
      const [cr, ci] = r2cBases(N, st.sign, st.scale);
      return { re: leftMul(cr, x, pre, N, post), im: leftMul(ci, x, pre, N, post) };
    }
    const [P, Q] = f;
    const [cr, ci] = r2cBases(P, st.sign, 1, true);
    const a = { re: leftMul(cr, x, pre, P, Q * post), im: leftMul(ci, x, pre, P, Q * post) };
    const rows = Math.floor(Q / 2) + 1; // k = k1 + P·k2 < ⌊N/2⌋+1 needs k2 ≤ ⌊Q/2⌋
    const [re, im] = fourStepOuter(a, pre, P, Q, post, st.sign, st.scale, rows, false) as [tf.Tensor, tf.Tensor];
    return { re: tf.slice(re, [0, 0, 0], [pre, K, post]), im: tf.slice(im, [0, 0, 0], [pre, K, post]) };
  }
  const z = input as Cx;
  if (st.kind === 'c2c') {
    if (!f) {
      const [br, bi] = c2cBases(N, st.sign, st.scale);
      const s = stack(z, pre, N, post);
      return { re: leftMul(br, s, pre, 2 * N, post), im: leftMul(bi, s, pre, 2 * N, post) };
    }
    const [P, Q] = f;
    const [br, bi] = c2cBases(P, st.sign, 1);
    const s = stack(z, pre, P, Q * post);
    const a = { re: leftMul(br, s, pre, 2 * P, Q * post), im: leftMul(bi, s, pre, 2 * P, Q * post) };
    const [re, im] = fourStepOuter(a, pre, P, Q, post, st.sign, st.scale, Q, false) as [tf.Tensor, tf.Tensor];
    return { re, im };
  }
  // c2r: K = ⌊N/2⌋+1 bins → N real values
  const K = Math.floor(N / 2) + 1;
  if (!f) return leftMul(c2rBasis(N, st.scale), stack(z, pre, K, post), pre, 2 * K, post);
  // x_n = Re(Σ_{k<K} a_k Z_k e^{iθ}): weight, zero-pad to N bins, complex inverse, keep the real part.
  const [P, Q] = f;
  const w = c2rWeights(N);
  const pad = (t: tf.Tensor) =>
    tf.pad(tf.mul(tf.reshape(t, [pre, K, post]), w), [
      [0, 0],
      [0, N - K],
      [0, 0],
    ]);
  const [br, bi] = c2cBases(P, st.sign, 1);
  const s = stack({ re: pad(z.re), im: pad(z.im) }, pre, P, Q * post);
  const a = { re: leftMul(br, s, pre, 2 * P, Q * post), im: leftMul(bi, s, pre, 2 * P, Q * post) };
  return fourStepOuter(a, pre, P, Q, post, st.sign, st.scale, Q, true)[0]!;
}

function prod(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Runs stage s1 along axis `first`, then s2 along axis `second` of a tensor of `shape` (real x for r2c,
 * complex otherwise). Returns tensors of the output shape (transformed axes resized).
 */
export function run2d(input: tf.Tensor | Cx, shape: readonly number[], first: number, second: number, s1: Stage, s2: Stage, path: FFTPath): tf.Tensor | Cx {
  if (usesKernel(path)) return run2dKernel(input, shape, first, second, s1, s2);
  if (layoutFor() === 'rows') return run2dRows(input, shape, first, second, s1, s2, path);
  const cur = shape.slice();
  let v: tf.Tensor | Cx = input;
  for (const [axis, st] of [
    [first, s1],
    [second, s2],
  ] as const) {
    const pre = prod(cur.slice(0, axis));
    const post = prod(cur.slice(axis + 1));
    v = stage1d(v, st, pre, post, path);
    cur[axis] = st.kind === 'r2c' ? Math.floor(st.n / 2) + 1 : st.n;
  }
  if (v instanceof tf.Tensor) return tf.reshape(v, cur);
  return { re: tf.reshape(v.re, cur), im: tf.reshape(v.im, cur) };
}

/** The custom-kernel run2d: values stay [parts, pre, L, post] (parts = 2 for [re, im]) between stages. */
function run2dKernel(input: tf.Tensor | Cx, shape: readonly number[], first: number, second: number, s1: Stage, s2: Stage): tf.Tensor | Cx {
  const backend = tf.getBackend();
  if (!KERNEL_BACKENDS.includes(backend))
    throw new BackendError(
      `fft: path 'kernel' needs the ${KERNEL_BACKENDS.join(', ')} backend, the current one is '${backend}'; use path 'auto', 'matmul' or 'fourstep'`,
    );
  if (!hasFFTKernel(backend))
    throw new BackendError(
      "fft: path 'kernel' on wasm needs restorekit's wasm kernels, which are off or could not start on this backend (core's wasmKernelsActive; configure({ wasmKernels: true })); use path 'auto', 'matmul' or 'fourstep'",
    );
  if (backend === 'webgl') return run2dPacked(input, shape, first, second, s1, s2);
  const cur = shape.slice();
  let v = input instanceof tf.Tensor ? tf.reshape(input, [1, ...shape]) : tf.stack([input.re, input.im]);
  for (const [axis, st] of [
    [first, s1],
    [second, s2],
  ] as const) {
    const pre = prod(cur.slice(0, axis));
    const post = prod(cur.slice(axis + 1));
    // (wasm: a power of two is one pass of its FFT kernel)
    const f =
      st.n >= (backend === 'wasm' ? WASM_KERNEL_FOURSTEP_MIN_N : KERNEL_FOURSTEP_MIN_N) && !(backend === 'wasm' && isPow2(st.n)) ? factorPair(st.n) : null;
    v = kernelStage(tf.reshape(v, [v.shape[0]!, pre, cur[axis]!, post]), { kind: st.kind, n: st.n, sign: st.sign, scale: st.scale, factors: f });
    cur[axis] = st.kind === 'r2c' ? Math.floor(st.n / 2) + 1 : st.n;
  }
  if (v.shape[0] === 1) return tf.reshape(v, cur);
  const size = [1, ...v.shape.slice(1)];
  return { re: tf.reshape(tf.slice(v, [0, 0, 0, 0], size), cur), im: tf.reshape(tf.slice(v, [1, 0, 0, 0], size), cur) };
}

/**
 * The webgl kernel run2d on packed textures (kernels-webgl.ts): complex values live as the shape with a
 * 2 (re, im) inserted before the last dim, so every stage's view is a free reshape. A transform over the
 * last axis gets a trailing unit dim first (the kernels transform any axis but the last).
 */
function run2dPacked(input: tf.Tensor | Cx, shape: readonly number[], first: number, second: number, s1: Stage, s2: Stage): tf.Tensor | Cx {
  const r = shape.length;
  const cur = shape.slice();
  if (first === r - 1 || second === r - 1) cur.push(1);
  const rank = cur.length;
  /** [A, R, last] view of a plain tensor of shape `cur` (the last two dims kept: a free reshape) */
  const rows = (c: number[]) => [prod(c.slice(0, rank - 2)), c[rank - 2]!, c[rank - 1]!];
  let v: tf.Tensor;
  let complex = !(input instanceof tf.Tensor);
  if (input instanceof tf.Tensor) v = tf.reshape(input, cur);
  else v = stackParts(tf.reshape(input.re, rows(cur)), tf.reshape(input.im, rows(cur)));
  for (const [axis, st] of [
    [first, s1],
    [second, s2],
  ] as const) {
    const view = { pre: prod(cur.slice(0, axis)), mid: prod(cur.slice(axis + 1, rank - 1)), last: cur[rank - 1]! };
    const L = cur[axis]!;
    const shp = complex ? [view.pre, L, view.mid, 2, view.last] : view.mid === 1 ? [view.pre, L, view.last] : [view.pre, L, view.mid, view.last];
    const f = st.n >= KERNEL_FOURSTEP_MIN_N ? factorPair(st.n) : null;
    v = packedStage(tf.reshape(v, shp), { kind: st.kind, n: st.n, sign: st.sign, scale: st.scale, factors: f }, view);
    cur[axis] = st.kind === 'r2c' ? Math.floor(st.n / 2) + 1 : st.n;
    complex = st.kind !== 'c2r';
  }
  const out = cur.slice(0, r);
  if (!complex) return tf.reshape(v, out);
  const z = tf.reshape(v, [...rows(cur).slice(0, 2), 2, cur[rank - 1]!]);
  return { re: tf.reshape(takePart(z, 0), out), im: tf.reshape(takePart(z, 1), out) };
}

/** Plain 2-D matMuls only: x [R, N] · bᵀ with the basis b [K, N] cached transposed ([N, K]). */
function rmul(x: tf.Tensor, basis: tf.Tensor): tf.Tensor2D {
  return matMul(x as tf.Tensor2D, transposed(basis) as tf.Tensor2D);
}

/**
 * Smallest length at which the 'rows' layout (wasm) runs a complex stage as four steps (path 'auto'; 'fourstep' does
 * for any length with a factor pair, 'matmul' never). Measured with benchmarks/src/fft.bench.test.ts (results/fft.md).
 */
export const ROWS_FOURSTEP_MIN_N = 128;

/** One axis of the tensor in the 'rows' layout: a digit of an original axis (index = Σ weight·digit over its digits). */
interface Digit {
  axis: number;
  weight: number;
}

/** Four-step factors of a stage in the 'rows' layout: only complex stages (the real ones keep their half-size dense bases). */
function rowsFactors(st: Stage, path: FFTPath): [number, number] | null {
  if (st.kind !== 'c2c' || path === 'matmul') return null;
  const f = factorPair(st.n);
  if (path === 'fourstep') return f;
  return st.n >= ROWS_FOURSTEP_MIN_N && f !== null && f[1] >= 4 ? f : null;
}

/**
 * 'rows' layout of run2d (wasm): see the module comment. A complex stage of length N = P·Q with factors (rowsFactors)
 * runs as four steps in plain 2-D products: the transposes that bring the axis last also split it, n = Q·n1 + n2, into
 * [.., Q(n2), P(n1)]; a length-P DFT over n1 (rows·Bᵀ), the twiddles e^{sign·i·2π·n2·k1/N} (element-wise), a
 * transpose of the two digits, a length-Q DFT over n2. Its bins k = k1 + P·k2 stay as the two digits [.., P(k1), Q(k2)]
 * — the next stage transforms another axis, so their order does not matter — until the last transpose, which puts
 * every axis back in place and in natural order. 2(P + Q) instead of 2N multiply-adds per value; the extra work is
 * one small transpose and the twiddles.
 */
function run2dRows(input: tf.Tensor | Cx, shape: readonly number[], first: number, second: number, s1: Stage, s2: Stage, path: FFTPath): tf.Tensor | Cx {
  let dims = shape.slice();
  let digits: Digit[] = shape.map((_, i) => ({ axis: i, weight: 1 }));
  let v: tf.Tensor | Cx = input;
  const map = (f: (t: tf.Tensor) => tf.Tensor) => (v instanceof tf.Tensor ? f(v) : { re: f(v.re), im: f(v.im) });
  /** Reshape to `to` (digit sizes) then permute; `perm` indexes `to`. */
  const rearrange = (to: number[], toDigits: Digit[], perm: number[]) => {
    const identity = perm.every((p, i) => p === i);
    v = map((t) =>
      identity
        ? tf.reshape(
            t,
            perm.map((i) => to[i]!),
          )
        : tf.transpose(tf.reshape(t, to), perm),
    );
    dims = perm.map((i) => to[i]!);
    digits = perm.map((i) => toDigits[i]!);
  };
  /** y = B·x along the last axis, as rows [R, n]·Bᵀ (Bᵀ cached). */
  const mul = (b: tf.Tensor, t: tf.Tensor, n: number) => rmul(tf.reshape(t, [-1, n]), b);
  /** The complex DFT of length n along the last axis (C = cos, S = sign·sin: re' = C·re − S·im, im' = S·re + C·im). */
  const complexDft = (z: Cx, n: number, sign: 1 | -1, scale: number): Cx => {
    const [cc, ss] = r2cBases(n, sign, scale, true);
    return { re: tf.sub(mul(cc, z.re, n), mul(ss, z.im, n)), im: tf.add(mul(ss, z.re, n), mul(cc, z.im, n)) };
  };
  for (const [axis, st] of [
    [first, s1],
    [second, s2],
  ] as const) {
    const pos = digits.findIndex((d) => d.axis === axis);
    const N = dims[pos]!;
    const others = dims.map((_, i) => i).filter((i) => i !== pos);
    const f = rowsFactors(st, path);
    if (f) {
      const [P, Q] = f;
      // split the axis (natural n = Q·n1 + n2: [P(n1), Q(n2)]) and bring it last as [Q(n2), P(n1)]
      const to = [...dims.slice(0, pos), P, Q, ...dims.slice(pos + 1)];
      const toDigits = [...digits.slice(0, pos), { axis, weight: Q }, { axis, weight: 1 }, ...digits.slice(pos + 1)];
      const shift = (i: number) => (i < pos ? i : i + 1);
      rearrange(to, toDigits, [...others.map(shift), pos + 1, pos]);
      const lead = dims.slice(0, -2);
      const a = complexDft(v as Cx, P, st.sign, 1); // [R·Q, P(k1)]
      const [tc, ts] = rowsTwiddles(P, Q, st.sign, st.scale); // [Q(n2), P(k1)]
      const re = tf.reshape(a.re, [-1, Q, P]);
      const im = tf.reshape(a.im, [-1, Q, P]);
      const tw = { re: tf.sub(tf.mul(re, tc), tf.mul(im, ts)), im: tf.add(tf.mul(re, ts), tf.mul(im, tc)) };
      const swapped = { re: tf.transpose(tw.re, [0, 2, 1]), im: tf.transpose(tw.im, [0, 2, 1]) }; // [R, P(k1), Q(n2)]
      const b = complexDft(swapped, Q, st.sign, 1); // [R·P, Q(k2)], k = k1 + P·k2
      dims = [...lead, P, Q];
      digits = [...digits.slice(0, -2), { axis, weight: 1 }, { axis, weight: P }];
      v = { re: tf.reshape(b.re, dims), im: tf.reshape(b.im, dims) };
      continue;
    }
    // Bring the axis last (it stays there). Even with nothing before the axis, multiplying from the left instead
    // measured slower: XNNPACK packs the right operand of every product, here the data.
    const last = prod(dims.slice(pos + 1)) === 1;
    if (!last) rearrange(dims, digits, [...others, pos]);
    const at = last ? pos : dims.length - 1;
    const K = st.kind === 'r2c' ? Math.floor(N / 2) + 1 : st.n;
    if (st.kind === 'r2c') {
      const [cr, ci] = r2cBases(N, st.sign, st.scale);
      v = { re: mul(cr, v as tf.Tensor, N), im: mul(ci, v as tf.Tensor, N) };
    } else if (st.kind === 'c2c') v = complexDft(v as Cx, N, st.sign, st.scale);
    else {
      const [ar, ai] = c2rSplitBases(st.n, st.scale);
      v = tf.add(mul(ar, (v as Cx).re, N), mul(ai, (v as Cx).im, N));
    }
    dims = dims.map((d, i) => (i === at ? K : d));
    v = map((t) => tf.reshape(t, dims));
  }
  // every axis back in place, its digits slowest (largest weight) first: the natural order
  const perm = dims.map((_, i) => i).sort((i, j) => digits[i]!.axis - digits[j]!.axis || digits[j]!.weight - digits[i]!.weight);
  const outDims = shape.map((_, a) => dims.reduce((p, d, i) => (digits[i]!.axis === a ? p * d : p), 1));
  rearrange(dims, digits, perm);
  return map((t) => tf.reshape(t, outDims));
}

export function normScale(norm: 'backward' | 'ortho' | 'forward', n: number, inverse: boolean): number {
  if (norm === 'ortho') return 1 / Math.sqrt(n);
  if (norm === 'backward') return inverse ? 1 / n : 1;
  return inverse ? 1 : 1 / n;
}
