/**
 * Custom kernels for the 1-D transforms: webgpu (WGSL) here, webgl (GLSL on packed textures) in kernels-webgl.ts,
 * wasm in @restorekit/core (restorekit's WebAssembly SIMD module: `dftPassKernel` runs a pass from a table of terms,
 * basis.ts `passTable`; `fftKernel` a whole dense pass of a power-of-two length as a radix-2 FFT). One generic program,
 * the "DFT pass", does a whole four-step stage in two launches per axis (or a dense DFT in one):
 *
 *   pass A (over n1, with the twiddle): out[k1·Q + n2] = scale·Σ_{n1<P} w_n·x[n]·e^{sign·i·2π·k1·n/N},  n = Q·n1 + n2
 *   pass B (over n2, into natural order): out[k1 + P·k2] = scale·Σ_{n2<Q} y[k1·Q + n2]·e^{sign·i·2π·P·n2·k2/N}
 *
 * (N = P·Q; the dense DFT is pass A with Q = 1.) On webgpu and wasm values live as [parts, pre, L, post] with parts = 2
 * (re, im stacked) or 1 (real), so any axis of any tensor is transformed in place — no transposes,
 * concats or reshapes between passes. cos/sin come from a host-computed float64 table of e^{i·2π·m/N}
 * (exact angle reduction m = (n·k) mod N), the same values the matMul path's bases use.
 *
 * The kernels have no tfjs gradient of their own: stages are wrapped in tf.customGrad with the exact
 * adjoint (the conjugate transform), see kernelStage.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, dftPassKernel, fftKernel, wasmKernelsActive } from '@restorekit/core';
import { passTable, twiddleTable } from './basis.js';

export interface PassSpec {
  pass: 'A' | 'B';
  N: number;
  P: number;
  Q: number;
  sign: 1 | -1;
  scale: number;
  /** Valid input length along the axis; positions ≥ lenIn read as zero (pass A only). */
  lenIn: number;
  lenOut: number;
  realIn: boolean;
  realOut: boolean;
  /** Multiply input n by the c2r weight (1 at n = 0 and n = N/2, else 2). */
  hermitian: boolean;
}

/**
 * Backends that have the DFT-pass kernel (a capability: path 'kernel' runs only there). Where path 'auto' takes it
 * is a backend preference in @restorekit/core, `prefers('fftKernel')` (measured, benchmarks/results/fft.md: on
 * webgpu (SwiftShader) every dispatch costs tens of ms, so two launches per axis beat the four-step's ~10 tensor ops
 * by 4–5×; on webgl the packed-texture form (kernels-webgl.ts) is ~4× faster than the tensor-op four-step at 256²).
 */
export const KERNEL_BACKENDS: readonly string[] = ['webgl', 'webgpu', 'wasm'];

/**
 * Whether the DFT-pass kernel runs on `backend` (default: the active one) now: webgl and webgpu always; wasm where
 * restorekit's wasm kernels are active (core's `wasmKernelsActive`: the active backend, the `wasmKernels` setting on,
 * the module instantiated on its memory).
 */
export function hasFFTKernel(backend: string = tf.getBackend()): boolean {
  if (!KERNEL_BACKENDS.includes(backend)) return false;
  return backend !== 'wasm' || (tf.getBackend() === 'wasm' && wasmKernelsActive());
}

function flt(v: number): string {
  const s = String(Math.fround(v));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** The loop of one pass (WGSL). */
function body(s: PassSpec): string {
  const ci = 'let'; // constant int
  const cf = 'let'; // constant float
  const vf = 'var'; // mutable float
  const R = s.pass === 'A' ? s.P : s.Q;
  const idx = s.pass === 'A' ? `${ci} k1 = o / ${s.Q}; ${ci} n2 = o - k1 * ${s.Q};` : `${ci} k2 = o / ${s.P}; ${ci} k1 = o - k2 * ${s.P};`;
  const n = s.pass === 'A' ? `${s.Q} * j + n2` : `k1 * ${s.Q} + j`;
  const m = s.pass === 'A' ? `(k1 * n) % ${s.N}` : `(${s.P} * j * k2) % ${s.N}`;
  const loop = `for (var j = 0; j < ${R}; j = j + 1)`;
  return `
    ${idx}
    ${vf} sr = 0.0;
    ${vf} si = 0.0;
    ${loop} {
      ${ci} n = ${n};
      ${s.pass === 'A' && s.lenIn < s.N ? `if (n >= ${s.lenIn}) { continue; }` : ''}
      ${vf} xr = getX(0, c.y, n, c.w);
      ${vf} xi = ${s.realIn ? '0.0' : 'getX(1, c.y, n, c.w)'};
      ${s.hermitian ? `if (n != 0 && 2 * n != ${s.N}) { xr = 2.0 * xr; xi = 2.0 * xi; }` : ''}
      ${ci} m = ${m};
      ${cf} cs = getT(0, m);
      ${cf} sn = ${flt(s.sign)} * getT(1, m);
      sr = sr + xr * cs - xi * sn;
      si = si + xr * sn + xi * cs;
    }`;
}

function key(s: PassSpec): string {
  return `rkdft_${s.pass}_${s.N}_${s.P}_${s.Q}_${s.sign}_${flt(s.scale)}_${s.lenIn}_${s.lenOut}_${+s.realIn}${+s.realOut}${+s.hermitian}`;
}

interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}

function runPass(x: tf.Tensor, s: PassSpec): tf.Tensor {
  // wasm: the whole pass in one call of restorekit's wasm kernel, each output's terms from a host-built table
  if (tf.getBackend() === 'wasm') {
    const { N, P, Q, lenIn, lenOut, hermitian, scale, sign, realOut } = s;
    const opts = { rows: lenOut, lenIn, n: N, hermitian, scale, sign, realOut };
    // a dense pass of a power-of-two length: the radix-2 FFT kernel (null where it does not apply)
    const fft = s.pass === 'A' && Q === 1 ? fftKernel(x as tf.Tensor4D, twiddleTable(N) as tf.Tensor2D, opts) : null;
    return fft ?? dftPassKernel(x as tf.Tensor4D, passTable(s.pass, N, P, Q) as tf.Tensor2D, opts);
  }
  const [, pre, , post] = x.shape as [number, number, number, number];
  const outputShape = [s.realOut ? 1 : 2, pre, s.lenOut, post];
  const table = twiddleTable(s.N);
  const b = tf.backend() as unknown as Record<string, (...a: unknown[]) => TensorInfoLike>;
  const name = tf.getBackend();
  let info: TensorInfoLike;
  if (name === 'webgpu') {
    const size = outputShape.reduce((p, d) => p * d, 1);
    const program = {
      variableNames: ['X', 'T'],
      outputShape,
      shaderKey: key(s),
      dispatchLayout: { x: [0, 1, 2, 3] },
      dispatch: [Math.ceil(size / 64), 1, 1],
      workgroupSize: [64, 1, 1],
      size: true,
      getUserCode: () => `
        fn main(index : i32) {
          if (index < uniforms.size) {
            let c = getCoordsFromIndex(index);
            let o = c.z;
            ${body(s)}
            var v = si;
            if (c.x == 0) { v = sr; }
            setOutputAtIndex(index, v * ${flt(s.scale)});
          }
        }`,
    };
    info = b.runWebGPUProgram!.call(b, program, [x, table], 'float32');
  } else {
    throw new BackendError(`fft: the DFT-pass kernel exists for ${KERNEL_BACKENDS.join(', ')}, not for '${name}'`);
  }
  return tf.engine().makeTensorFromTensorInfo(info as never);
}

export type KernelKind = 'r2c' | 'c2c' | 'c2r';
export interface KernelStage {
  kind: KernelKind;
  /** Signal length (c2r: output length). */
  n: number;
  sign: 1 | -1;
  scale: number;
  /** c2r only: apply the Hermitian weights (false for the adjoint of r2c). */
  weighted?: boolean;
  factors: [number, number] | null;
}

/** Runs one pass of a stage (the backend's program). */
export type PassRunner = (x: tf.Tensor, s: PassSpec) => tf.Tensor;

/** The forward computation of a stage (no gradient): one dense pass, or passes A and B. */
function forward(x: tf.Tensor, st: KernelStage, runPass: PassRunner): tf.Tensor {
  const N = st.n;
  const K = Math.floor(N / 2) + 1;
  const lenIn = st.kind === 'c2r' ? K : N;
  const lenOut = st.kind === 'r2c' ? K : N;
  const common = { N, sign: st.sign, realIn: st.kind === 'r2c', hermitian: st.kind === 'c2r' && st.weighted !== false, lenIn };
  if (!st.factors) return runPass(x, { ...common, pass: 'A', P: N, Q: 1, scale: st.scale, lenOut, realOut: st.kind === 'c2r' });
  const [P, Q] = st.factors;
  const y = runPass(x, { ...common, pass: 'A', P, Q, scale: 1, lenOut: N, realOut: false });
  const out = runPass(y, { N, P, Q, sign: st.sign, pass: 'B', scale: st.scale, lenIn: N, lenOut, realIn: false, realOut: st.kind === 'c2r', hermitian: false });
  y.dispose();
  return out;
}

/**
 * One differentiable stage run by `runPass`; `weightShape(K)` places the c2r weights along the axis of the
 * runner's layout. Gradient: the adjoint transform (opposite sign, same scale): c2c ↔ c2c;
 * r2c ↔ unweighted c2r; c2r ↔ weighted r2c.
 */
export function stageWithAdjoint(x: tf.Tensor, st: KernelStage, runPass: PassRunner, weightShape: (K: number) => number[]): tf.Tensor {
  const f = tf.customGrad(((input: tf.Tensor) => ({
    value: forward(input, st, runPass),
    gradFunc: (dy: tf.Tensor) => {
      const adj: KernelStage = { ...st, sign: st.sign === 1 ? -1 : 1 };
      if (st.kind === 'c2c') return forward(dy, adj, runPass);
      if (st.kind === 'r2c') return forward(dy, { ...adj, kind: 'c2r', weighted: false }, runPass);
      const K = Math.floor(st.n / 2) + 1;
      const w = new Float32Array(K).map((_, k) => (k === 0 || 2 * k === st.n ? 1 : 2));
      return tf.tidy(() => tf.mul(forward(dy, { ...adj, kind: 'r2c' }, runPass), tf.tensor(w, weightShape(K))));
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}

/** One differentiable webgpu stage on x of shape [parts, pre, L, post] (parts 1 for real input, 2 for [re, im]). */
export function kernelStage(x: tf.Tensor, st: KernelStage): tf.Tensor {
  return stageWithAdjoint(x, st, runPass, (K) => [1, 1, K, 1]);
}
