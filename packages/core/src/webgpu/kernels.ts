import * as tf from '@tensorflow/tfjs-core';
import { getSettings } from '../settings.js';
import { LAYER_NORM_KERNEL } from '../wasm/kernels.js';

/**
 * restorekit's own WebGPU kernels on tfjs-backend-webgpu: computations over the short last axis of a tensor (a layer
 * norm over a pixel's C channels, a softmax over a filter's k² taps, a per-pixel filter's weighted sum of its k² taps)
 * as one invocation per row, in one dispatch.
 *
 * tfjs-backend-webgpu 4.22 runs every reduction and softmax as one 64-thread workgroup per output row with a
 * shared-memory tree (reduce_webgpu.js, softmax_webgpu.js): for rows of 8–64 values most threads idle through a dozen
 * barriers, and a layer norm written with ops is 9 dispatches (two means, subtractions, squares, rsqrt, the affine).
 * Measured on SwiftShader's WebGPU (tf.profile, LCDNet 'tiny' at 2×48²): the layer norms' channel means were 154
 * Mean calls, a third of the forward's kernel time; FSDRNet's dynamic filters' softmax over 25 taps and the sums of
 * their weighted taps, 14 Softmax and 19 Sum calls, two fifths.
 * Whether a real GPU gains as much is not measured here (no GPU on these machines): there the kernels save dispatches
 * and memory passes (a layer norm reads x three times and writes y once instead of ~9 full passes).
 *
 * The kernels are WGSL programs run through the backend's own `runWebGPUProgram` (tfjs-backend-webgpu 4.x: the
 * program supplies `fn main(row : i32)`, the backend adds the bindings, uniforms and entry point), registered as tfjs
 * kernels of the 'webgpu' backend so that tidy, profiling and memory accounting see them as any other kernel. They are
 * used where `getSettings().webgpuKernels` is on (the default) and the active backend has `runWebGPUProgram`;
 * otherwise the ops take their tfjs-op forms, which give the same values up to float rounding.
 */

/** What these kernels use of tfjs-backend-webgpu's WebGPUBackend (4.x). */
interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms?: { type: string; data: number[] }[]): tf.TensorInfo;
}

export const WEBGPU_LAYER_NORM_GRAD_KERNEL = 'RestorekitLayerNormGrad';
export const WEBGPU_SOFTMAX_KERNEL = 'RestorekitSoftmax';
export const WEBGPU_SOFTMAX_GRAD_KERNEL = 'RestorekitSoftmaxGrad';
export const WEBGPU_ROW_DOT_KERNEL = 'RestorekitRowDot';

/** Invocations per workgroup: one row each. */
const WORKGROUP = 64;

/** Whether ops should run `x` through restorekit's WebGPU kernels now (active backend webgpu, setting on). */
export function useWebGpuKernels(x: tf.Tensor): boolean {
  if (tf.getBackend() !== 'webgpu' || !getSettings().webgpuKernels || x.dtype !== 'float32' || x.size === 0) return false;
  return typeof (tf.backend() as unknown as Partial<WebGpuBackendLike>).runWebGPUProgram === 'function';
}

/**
 * A program with one invocation per row of the inputs' last axis, writing an output of `outputShape`: `body` is WGSL
 * run with `row`, `n` (the row's length) and `base` (= row·n, the row's first index) in scope, reading the inputs
 * `names` as flat arrays and writing `result`; `uniforms.eps` is a float.
 */
function rowProgram(key: string, names: string[], outputShape: number[], rows: number, body: string): object {
  return {
    variableNames: names,
    outputShape,
    shaderKey: `restorekit_${key}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(rows / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms: 'rows : i32, cols : i32, eps : f32,',
    getUserCode: () => `
      fn main(row : i32) {
        if (row >= uniforms.rows) { return; }
        let n = uniforms.cols;
        let base = row * n;
        ${body}
      }`,
  };
}

/** Runs `body` (see rowProgram) once per row of `inputs[0]`'s last axis; the output has `outputShape` (default: the input's). */
function runRows(backend: unknown, key: string, names: string[], inputs: tf.TensorInfo[], body: string, eps = 0, outputShape?: number[]): tf.TensorInfo {
  const shape = inputs[0]!.shape;
  const cols = shape[shape.length - 1]!;
  const rows = tf.util.sizeFromShape(shape) / cols;
  const program = rowProgram(key, names, outputShape ?? shape, rows, body);
  const uniforms = [
    { type: 'int32', data: [rows] },
    { type: 'int32', data: [cols] },
    { type: 'float32', data: [eps] },
  ];
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, inputs, 'float32', uniforms);
}

function registerWebGpu(
  kernelName: string,
  kernelFunc: (inputs: tf.NamedTensorInfoMap, backend: unknown, attrs: Record<string, unknown>) => tf.TensorInfo,
): void {
  if (tf.getKernel(kernelName, 'webgpu')) return;
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => kernelFunc(inputs, backend, (attrs ?? {}) as Record<string, unknown>),
  });
}

/** μ and inv = 1/√(mean((x − μ)²) + eps) of the row, two passes over it (as the ops form computes them). */
const ROW_STATS = `
  var s = 0.0;
  for (var c = 0; c < n; c = c + 1) { s = s + x[base + c]; }
  let mu = s / f32(n);
  var v = 0.0;
  for (var c = 0; c < n; c = c + 1) { let d = x[base + c] - mu; v = v + d * d; }
  let inv = inverseSqrt(v / f32(n) + uniforms.eps);`;

/**
 * The channel layer norm (core `channelLayerNorm`; the name of its wasm kernel too): inputs x, weight [C] and, for
 * WithBias, bias [C]; attr eps. WithBias y = (x − μ)·inv·w + b, BiasFree y = x·inv·w.
 */
registerWebGpu(LAYER_NORM_KERNEL, (inputs, backend, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const bias = inputs.bias as tf.TensorInfo | undefined;
  const body = bias
    ? `${ROW_STATS}
      for (var c = 0; c < n; c = c + 1) { result[base + c] = (x[base + c] - mu) * inv * w[c] + b[c]; }`
    : `${ROW_STATS}
      for (var c = 0; c < n; c = c + 1) { result[base + c] = x[base + c] * inv * w[c]; }`;
  const ins = bias ? [x, inputs.weight as tf.TensorInfo, bias] : [x, inputs.weight as tf.TensorInfo];
  return runRows(backend, bias ? 'layerNorm' : 'layerNormBiasFree', bias ? ['x', 'w', 'b'] : ['x', 'w'], ins, body, (attrs as { eps: number }).eps);
});

/**
 * The layer norm's input gradient, per row (g = dy·w, x̂ = (x − μ)·inv): WithBias dx = inv·(g − mean(g) − x̂·mean(g·x̂)),
 * BiasFree dx = inv·g − inv³·(x − μ)·mean(g·x). Inputs x, weight, dy; attrs eps, withBias.
 */
registerWebGpu(WEBGPU_LAYER_NORM_GRAD_KERNEL, (inputs, backend, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const { eps, withBias } = attrs as { eps: number; withBias: boolean };
  const body = withBias
    ? `${ROW_STATS}
      var sg = 0.0;
      var sgx = 0.0;
      for (var c = 0; c < n; c = c + 1) {
        let g = dy[base + c] * w[c];
        sg = sg + g;
        sgx = sgx + g * (x[base + c] - mu) * inv;
      }
      let mg = sg / f32(n);
      let mgx = sgx / f32(n);
      for (var c = 0; c < n; c = c + 1) {
        result[base + c] = inv * (dy[base + c] * w[c] - mg - (x[base + c] - mu) * inv * mgx);
      }`
    : `${ROW_STATS}
      var sgx = 0.0;
      for (var c = 0; c < n; c = c + 1) { sgx = sgx + dy[base + c] * w[c] * x[base + c]; }
      let k = inv * inv * inv * sgx / f32(n);
      for (var c = 0; c < n; c = c + 1) {
        result[base + c] = inv * dy[base + c] * w[c] - k * (x[base + c] - mu);
      }`;
  const ins = [x, inputs.weight as tf.TensorInfo, inputs.dy as tf.TensorInfo];
  return runRows(backend, withBias ? 'layerNormGrad' : 'layerNormGradBiasFree', ['x', 'w', 'dy'], ins, body, eps);
});

/** Softmax over the last axis: y = e^(x − max)/Σe^(x − max), one invocation per row. Input x. */
registerWebGpu(WEBGPU_SOFTMAX_KERNEL, (inputs, backend) => {
  const x = inputs.x as tf.TensorInfo;
  const body = `
    var m = x[base];
    for (var c = 1; c < n; c = c + 1) { m = max(m, x[base + c]); }
    var s = 0.0;
    for (var c = 0; c < n; c = c + 1) { s = s + exp(x[base + c] - m); }
    for (var c = 0; c < n; c = c + 1) { result[base + c] = exp(x[base + c] - m) / s; }`;
  return runRows(backend, 'softmax', ['x'], [x], body);
});

/** The softmax's input gradient from its output y and dy: dx = y·(dy − Σ dy·y), per row. Inputs y, dy. */
registerWebGpu(WEBGPU_SOFTMAX_GRAD_KERNEL, (inputs, backend) => {
  const y = inputs.y as tf.TensorInfo;
  const body = `
    var s = 0.0;
    for (var c = 0; c < n; c = c + 1) { s = s + dy[base + c] * y[base + c]; }
    for (var c = 0; c < n; c = c + 1) { result[base + c] = y[base + c] * (dy[base + c] - s); }`;
  return runRows(backend, 'softmaxGrad', ['y', 'dy'], [y, inputs.dy as tf.TensorInfo], body);
});

/** Σ over the last axis of a·b (a and b of one shape [..., n]), one invocation per row: output [rows]. Inputs a, b. */
registerWebGpu(WEBGPU_ROW_DOT_KERNEL, (inputs, backend) => {
  const a = inputs.a as tf.TensorInfo;
  const body = `
    var s = 0.0;
    for (var c = 0; c < n; c = c + 1) { s = s + a[base + c] * b[base + c]; }
    result[row] = s;`;
  const rows = tf.util.sizeFromShape(a.shape) / a.shape[a.shape.length - 1]!;
  return runRows(backend, 'rowDot', ['a', 'b'], [a, inputs.b as tf.TensorInfo], body, 0, [rows]);
});
