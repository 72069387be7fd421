/**
 * The 2-D transforms as two 1-D stages on a packed layout. Every stage maps rows [R, c·N] (c = 1 real,
 * c = 2 packed [re | im]) to [R, c'·K] with real matMuls, so everything is plain float32 tensor ops:
 * differentiable with tfjs's own gradients, on every backend (wasm included).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FFTPath } from './types.js';
import { c2cBasis, c2rBasis, c2rWeights, fourStepOuterBasis, r2cBasis } from './basis.js';

export type StageKind = 'r2c' | 'c2c' | 'c2r';
export interface Stage {
  kind: StageKind;
  /** Signal length (for c2r: the output length). */
  n: number;
  /** −1 forward, +1 inverse. */
  sign: 1 | -1;
  scale: number;
}

/**
 * Smallest length at which 'auto' uses the four-step path, per backend (measured, see
 * benchmarks/results/fft.md). The four-step path does ~√N/2 times fewer FLOPs but its matMuls are thin
 * (inner sizes 2√N) and it needs three transposes per axis: on wasm, whose XNNPACK matMul reaches
 * its peak only on wide products, the dense DFT stays faster up to 1024; on cpu transposes are
 * expensive too. Edit this object to tune it; 'default' covers unlisted backends.
 */
export const FOURSTEP_MIN_N: Record<string, number> = { cpu: 256, wasm: 2048, webgl: 512, webgpu: 512, default: 256 };

/** N = P·Q with Q the largest divisor ≤ √N; null when N has no factor pair with both factors ≥ 2. */
export function factorPair(n: number): [number, number] | null {
  for (let q = Math.floor(Math.sqrt(n)); q >= 2; q--) if (n % q === 0) return [n / q, q];
  return null;
}

function usesFourStep(n: number, path: FFTPath, backend?: string): [number, number] | null {
  if (path === 'matmul') return null;
  const f = factorPair(n);
  if (path === 'fourstep') return f;
  const b = backend ?? tf.getBackend();
  const min = FOURSTEP_MIN_N[b] ?? FOURSTEP_MIN_N.default ?? 256;
  return n >= min && f !== null && f[1] >= 4 ? f : null;
}

/** The implementation a 1-D transform of length n uses (on `backend`, default the current one). */
export function pathFor(n: number, path: FFTPath = 'auto', backend?: string): 'matmul' | 'fourstep' {
  return usesFourStep(n, path, backend) ? 'fourstep' : 'matmul';
}

/** Applies one stage to rows [R, c·N]. */
export function applyStage(x: tf.Tensor2D, st: Stage, path: FFTPath): tf.Tensor2D {
  const f = usesFourStep(st.n, path);
  if (!f) {
    if (st.kind === 'r2c') return tf.matMul(x, r2cBasis(st.n, st.scale) as tf.Tensor2D);
    if (st.kind === 'c2r') return tf.matMul(x, c2rBasis(st.n, st.scale) as tf.Tensor2D);
    return tf.matMul(x, c2cBasis(st.n, st.sign, st.scale) as tf.Tensor2D);
  }
  const [P, Q] = f;
  const N = st.n;
  const R = x.shape[0];
  if (st.kind === 'c2r') {
    // x_n = Re(Σ_{k<K} a_k Z_k e^{iθ}): weight, zero-pad to N bins, complex inverse, keep the real part.
    const K = Math.floor(N / 2) + 1;
    const w = tf.reshape(tf.mul(x, c2rWeights(N)), [R, 2, K]);
    const padded = tf.reshape(tf.pad(w, [[0, 0], [0, 0], [0, N - K]]), [R, 2 * N]) as tf.Tensor2D;
    return fourStep(padded, P, Q, st.sign, st.scale, true, false);
  }
  if (st.kind === 'r2c') {
    const K = Math.floor(N / 2) + 1;
    const full = tf.reshape(fourStep(x, P, Q, st.sign, st.scale, false, true), [R, 2, N]);
    return tf.reshape(tf.slice(full, [0, 0, 0], [R, 2, K]), [R, 2 * K]);
  }
  return fourStep(x, P, Q, st.sign, st.scale, false, false);
}

/**
 * Four-step DFT of length N = P·Q on rows: n = n1 + P·n2, k = Q·k1 + k2. Inner length-Q DFTs over n2
 * (one matMul), then for every k2 a twiddled length-P DFT over n1 (one batched matMul whose bases
 * hold the twiddles W_N^{n1·k2}).
 */
function fourStep(x: tf.Tensor2D, P: number, Q: number, sign: 1 | -1, scale: number, realOut: boolean, realIn: boolean): tf.Tensor2D {
  const R = x.shape[0];
  const N = P * Q;
  let inner: tf.Tensor;
  if (realIn) {
    const t = tf.reshape(tf.transpose(tf.reshape(x, [R, Q, P]), [0, 2, 1]), [R * P, Q]) as tf.Tensor2D;
    inner = tf.matMul(t, r2cBasis(Q, 1, true) as tf.Tensor2D);
  } else {
    const t = tf.reshape(tf.transpose(tf.reshape(x, [R, 2, Q, P]), [0, 3, 1, 2]), [R * P, 2 * Q]) as tf.Tensor2D;
    inner = tf.matMul(t, c2cBasis(Q, sign, 1) as tf.Tensor2D);
  }
  // [R, P(n1), 2, Q(k2)] → [Q(k2), R, 2, P(n1)]
  const byK2 = tf.reshape(tf.transpose(tf.reshape(inner, [R, P, 2, Q]), [3, 0, 2, 1]), [Q, R, 2 * P]) as tf.Tensor3D;
  const outer = tf.matMul(byK2, fourStepOuterBasis(P, Q, sign, scale, realOut) as tf.Tensor3D);
  if (realOut) return tf.reshape(tf.transpose(outer, [1, 2, 0]), [R, N]);
  return tf.reshape(tf.transpose(tf.reshape(outer, [Q, R, 2, P]), [1, 2, 3, 0]), [R, 2 * N]);
}

function isIdentity(perm: number[]): boolean {
  return perm.every((p, i) => p === i);
}
function transposeIf(x: tf.Tensor, perm: number[]): tf.Tensor {
  return isIdentity(perm) ? x : tf.transpose(x, perm);
}

/**
 * Runs two stages over the axes `first` then `second` of x (shape S, real; or [2] + S, packed complex
 * with re/im on a leading axis). Returns the result as S' (real output) or [2] + S'.
 */
export function run2d(x: tf.Tensor, shape: number[], complexIn: boolean, first: number, second: number, s1: Stage, s2: Stage, path: FFTPath): tf.Tensor {
  const r = shape.length;
  const others = shape.map((_, i) => i).filter((i) => i !== first && i !== second);
  const otherDims = others.map((i) => shape[i]!);
  const M = otherDims.reduce((a, b) => a * b, 1);
  const cIn = complexIn ? 2 : 1;
  // [others, second, (c), first]: the first transformed axis is last.
  const perm = complexIn ? [...others.map((i) => i + 1), second + 1, 0, first + 1] : [...others, second, first];
  const L = shape[second]!;
  const N1 = shape[first]!;
  let t = tf.reshape(transposeIf(x, perm), [M * L, cIn * N1]) as tf.Tensor2D;
  t = applyStage(t, s1, path);
  const c1 = s1.kind === 'c2r' ? 1 : 2;
  const K1 = t.shape[1] / c1;
  // [M, L, c1, K1] → [M, K1, c1, L]
  const sw = tf.reshape(tf.transpose(tf.reshape(t, [M, L, c1, K1]), [0, 3, 2, 1]), [M * K1, c1 * L]) as tf.Tensor2D;
  const u = applyStage(sw, s2, path);
  const c2 = s2.kind === 'c2r' ? 1 : 2;
  const K2 = u.shape[1] / c2;
  // current: [others..., first(K1), c2, second(K2)] → target: [c2, shape order...]
  const cur = [...others, first, -1, second];
  const outDims = shape.slice();
  outDims[first] = K1;
  outDims[second] = K2;
  const y = tf.reshape(u, [...otherDims, K1, c2, K2]);
  const target = [-1, ...shape.map((_, i) => i)];
  const outPerm = target.map((a) => cur.indexOf(a));
  const out = transposeIf(y, outPerm);
  return c2 === 1 ? tf.reshape(out, outDims) : tf.reshape(out, [2, ...outDims]);
}

export function normScale(norm: 'backward' | 'ortho' | 'forward', n: number, inverse: boolean): number {
  if (norm === 'ortho') return 1 / Math.sqrt(n);
  if (norm === 'backward') return inverse ? 1 / n : 1;
  return inverse ? 1 : 1 / n;
}
