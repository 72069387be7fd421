import * as tf from '@tensorflow/tfjs-core';
import { BackendError, DTypeError, ShapeError } from '../errors.js';
import { getSettings } from '../settings.js';
import { KERNELS_WASM_BASE64 } from './kernels-binary.js';

/**
 * restorekit's own WebAssembly SIMD kernels (scripts/wasm-kernels.mjs) on tfjs-backend-wasm: one pass over the data
 * where tfjs composes several kernels, some of them scalar (its Erf is a libm call per element). They are instantiated
 * on the wasm backend's own memory (an imported `WebAssembly.Memory`: the module has no memory, data or globals of its
 * own) and read and write tensors in place, registered as tfjs kernels of the 'wasm' backend so that tidy, profiling and
 * memory accounting see them as any other kernel.
 *
 * They are used where `getSettings().wasmKernels` is on (the default) and this backend instance could instantiate the
 * module: its memory is exposed by the Emscripten build as `wasm.asm.memory` (tfjs-backend-wasm 4.x); a build that
 * hides it, a shared memory (the threaded build) or an engine without WebAssembly SIMD leaves `wasmKernels()` null,
 * and the ops take their tfjs-op forms.
 */
export interface WasmKernelExports {
  /** y = a·x·(1 + erf(b·x)) over n ≥ 4 float32 values at byte offsets x, y. */
  gelu(x: number, y: number, n: number, a: number, b: number): void;
  /** g = dy·(a·(1 + erf(b·x)) + a·b·(2/√π)·x·e^(−(b·x)²)) over n ≥ 4 values. */
  gelu_grad(x: number, dy: number, g: number, n: number, a: number, b: number): void;
  /**
   * Depth-wise K×K conv (K = 3, 5, 7), stride 1, multiplier 1, of one image x [H, W, C] (C ≥ 4) with w [K, K, C] into
   * y [OH, OW, C], zero padding pt rows on top and pl columns on the left (the bottom and right follow from OH, OW).
   */
  dw3(x: number, w: number, y: number, H: number, W: number, C: number, OH: number, OW: number, pt: number, pl: number): void;
  dw5(x: number, w: number, y: number, H: number, W: number, C: number, OH: number, OW: number, pt: number, pl: number): void;
  dw7(x: number, w: number, y: number, H: number, W: number, C: number, OH: number, OW: number, pt: number, pl: number): void;
  /** Layer norm over the C channels of P pixels (see scripts/wasm-kernels.mjs), with or without bias. */
  layer_norm(x: number, w: number, b: number, y: number, P: number, C: number, eps: number, withBias: number): void;
  /** The filter gradient of a stride-1 multiplier-1 depth-wise conv of one image (zero ≠ 0 clears g first). */
  dw_filter_grad(
    x: number,
    dy: number,
    g: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
    KH: number,
    KW: number,
    pt: number,
    pl: number,
    zero: number,
  ): void;
  /** P rows of n float32 values from src (row stride, offset in values) to dst: channel splits and concats. */
  copy_rows(src: number, srcStride: number, srcOff: number, dst: number, dstStride: number, dstOff: number, P: number, n: number): void;
  /** dst[p, oy, ox] = src[p, i + sh·oy, j + sw·ox] over P planes [H, W] into [P, OH, OW]. */
  window2d(src: number, dst: number, P: number, H: number, W: number, i: number, j: number, sh: number, sw: number, OH: number, OW: number): void;
  /** g[h, i, j] = Σ_r a[r, h·da + i]·b[r, h·db + j] over N rows (row strides sa, sb values), g [n, da, db], da, db ≥ 4. */
  gram(a: number, sa: number, b: number, sb: number, g: number, N: number, da: number, db: number, n: number): void;
  /**
   * The plain product g [da, db] = a [da, N]·b [N, db] (row-major, da, db ≥ 4, N ≥ 1), plus bias [db] on every row where
   * hasBias ≠ 0: a 1×1 conv, a 2-D matMul.
   */
  gemm(a: number, b: number, g: number, N: number, da: number, db: number, bias: number, hasBias: number): void;
  /** SimpleGate over P pixels of 2h channels (h ≥ 4): y[p, c] = x[p, c]·x[p, h + c]. */
  gate_mul(x: number, y: number, P: number, h: number): void;
  /** Its gradient: dx[p, c] = dy[p, c]·x[p, h + c], dx[p, h + c] = dy[p, c]·x[p, c]. */
  gate_mul_grad(x: number, dy: number, dx: number, P: number, h: number): void;
  /** Even and odd channels of P pixels of 2h channels (h ≥ 4): y0[p, c] = x[p, 2c], y1[p, c] = x[p, 2c + 1]. */
  deinterleave(x: number, y0: number, y1: number, P: number, h: number): void;
  /** Its inverse (and gradient): dx[p, 2c] = d0[p, c], dx[p, 2c + 1] = d1[p, c]. */
  interleave(d0: number, d1: number, dx: number, P: number, h: number): void;
  /** Winograd F(2×2, 3×3)'s transform of 3×3 filter taps w [9, n] into u [16, n], n ≥ 4 (scripts/wasm-kernels.mjs). */
  wino_filter(w: number, u: number, n: number): void;
  /** The same for the filter rotated by 180° with in and out swapped: w [9, C, D] into u [16, D, C], D ≥ 4. */
  wino_filter_t(w: number, u: number, C: number, D: number): void;
  /**
   * The filter gradient of a 3×3 stride-1 conv of one image x [H, W, C] whose output gradient is dy [OH, OW, D], as
   * Winograd's F(3×3, 2×2), summed into M [16, C, D] (stored where acc = 0, added otherwise): scratch v, y as wino3's.
   */
  wino_fg(
    x: number,
    dy: number,
    v: number,
    y: number,
    m: number,
    H: number,
    W: number,
    C: number,
    D: number,
    OH: number,
    OW: number,
    pt: number,
    pl: number,
    rows: number,
    acc: number,
  ): void;
  /** dW [9, n] from M [16, n] (n = C·D ≥ 4). */
  wino_fg_out(m: number, g: number, n: number): void;
  /**
   * A 3×3 stride-1 conv of one image x [H, W, C] with the transformed filter u [16, C, D] into y [OH, OW, D] (C, D ≥ 4,
   * OW ≥ 7), zero padding pt, pl; `rows` tile rows per band, scratch of 16·rows·⌈OW/2⌉·C and ·D values at v and m.
   */
  wino3(
    x: number,
    u: number,
    y: number,
    v: number,
    m: number,
    H: number,
    W: number,
    C: number,
    D: number,
    OH: number,
    OW: number,
    pt: number,
    pl: number,
    rows: number,
  ): void;
  /**
   * One DFT pass along the middle axis of x [parts, pre, lx, post] into y [parts', pre, ly, post]: y[o] =
   * sc·Σ_j w_j·(c + i·(ss/sc)·s)·x[n] over the terms of table row tab[o] = [n, c, s, n, c, s, …] (R terms a row, n
   * ascending; those from the first n ≥ lenIn on left out; w_j = 2 where herm ≠ 0 and 0 < n < N/2, else 1); mode 0 real
   * x → complex y, 1 complex → complex, 2 complex → real.
   */
  dft_pass(
    x: number,
    tab: number,
    y: number,
    pre: number,
    lx: number,
    ly: number,
    post: number,
    R: number,
    lenIn: number,
    N: number,
    herm: number,
    sc: number,
    ss: number,
    mode: number,
  ): void;
  /**
   * The same transform with one term per input (y[o] = sc·Σ_{n<lenIn} w_n·x[n]·e^{sign·i·2π·o·n/N}) for a power-of-two N ≥ 8
   * and post ≥ 4 or pre ≥ 4, as a radix-2 Stockham FFT with twiddles tw [2, N] (cos, sin of 2π·m/N) and 2·N·64 bytes of scratch s0.
   */
  fft_pow2(
    x: number,
    tw: number,
    y: number,
    s0: number,
    pre: number,
    lx: number,
    ly: number,
    post: number,
    N: number,
    lenIn: number,
    herm: number,
    sc: number,
    sign: number,
    mode: number,
  ): void;
}

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackendLike {
  wasm?: { asm?: { memory?: unknown }; _malloc?(bytes: number): number; _free?(offset: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

let compiled: WebAssembly.Module | null | undefined;
let instances = new WeakMap<object, WasmKernelExports | null>();

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/**
 * The compiled module, or null. Compiled synchronously on first use where the engine allows it (Node, workers); a
 * browser's main thread refuses to compile modules over 4 KB synchronously (Chrome: RangeError), and there the module
 * is compiled by `prepareWasmKernels` (core's `useBackend('wasm')` awaits it), so that whether the kernels run is
 * settled before the first op instead of changing halfway through a computation.
 */
function module(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = decode(KERNELS_WASM_BASE64);
      compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null; // (the main-thread size limit; prepareWasmKernels compiles it asynchronously)
    }
  }
  return compiled;
}

/**
 * Compiles the kernels' module and instantiates it on `backend`'s memory (default: the active backend, when it is wasm)
 * asynchronously, the way a browser's main thread requires for modules over 4 KB (Chrome refuses both the synchronous
 * compile and the synchronous instantiation there). Called by core's `useBackend('wasm')`; an application that activates
 * the wasm backend itself with tf.setBackend awaits it before its first op to have the kernels on a main thread
 * (elsewhere they compile on first use). True when the kernels can run on that backend.
 */
export async function prepareWasmKernels(backend?: tf.KernelBackend): Promise<boolean> {
  try {
    if (!compiled) {
      const bytes = decode(KERNELS_WASM_BASE64);
      if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return false;
      compiled = await WebAssembly.compile(bytes);
      // backend instances that found no module before are asked again
      instances = new WeakMap();
    }
    const b = backend ?? (tf.getBackend() === 'wasm' ? tf.backend() : null);
    if (!b) return true;
    if (instances.get(b)) return true;
    const memory = (b as unknown as WasmBackendLike).wasm?.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) return false;
    const instance = await WebAssembly.instantiate(compiled, { env: { memory } });
    instances.set(b, instance.exports as unknown as WasmKernelExports);
    return true;
  } catch {
    return false;
  }
}

/**
 * The kernels instantiated on `backend`'s memory (default: the active backend, which must be tfjs-backend-wasm), or
 * null where they cannot run there (see above). Cached per backend instance.
 */
export function wasmKernels(backend: tf.KernelBackend = tf.backend()): WasmKernelExports | null {
  const cached = instances.get(backend);
  if (cached !== undefined) return cached;
  let exports: WasmKernelExports | null = null;
  const memory = (backend as unknown as WasmBackendLike).wasm?.asm?.memory;
  const m = module();
  if (m && typeof WebAssembly.Memory === 'function' && memory instanceof WebAssembly.Memory) {
    try {
      exports = new WebAssembly.Instance(m, { env: { memory } }).exports as unknown as WasmKernelExports;
    } catch {
      exports = null; // e.g. a shared memory: the module imports a plain one
    }
  }
  instances.set(backend, exports);
  return exports;
}

/** Whether ops should run `x` through restorekit's wasm kernels now (active backend wasm, setting on, kernels there). */
export function useWasmKernels(x: tf.Tensor): boolean {
  return tf.getBackend() === 'wasm' && getSettings().wasmKernels && x.size >= 4 && wasmKernels() !== null;
}

/**
 * Whether restorekit's copy kernels (channel splits and concats, filter-gradient windows) run for x: as its wasm
 * kernels (`useWasmKernels`), or on tfjs-backend-cpu as their JavaScript forms (core/src/cpu/kernels.ts, registered
 * when core loads). Callers also check the dtype (float32).
 */
export function useCopyKernels(x: tf.Tensor): boolean {
  return useWasmKernels(x) || (tf.getBackend() === 'cpu' && tf.getKernel(SPLIT_CHANNELS_KERNEL, 'cpu') != null);
}

export const GELU_KERNEL = 'RestorekitGelu';
export const GELU_GRAD_KERNEL = 'RestorekitGeluGrad';
export const DEPTHWISE_KERNEL = 'RestorekitDepthwiseConv2d';
export const LAYER_NORM_KERNEL = 'RestorekitLayerNorm';
export const DEPTHWISE_FILTER_GRAD_KERNEL = 'RestorekitDepthwiseFilterGrad';
export const SPLIT_CHANNELS_KERNEL = 'RestorekitSplitChannels';
export const CONCAT_CHANNELS_KERNEL = 'RestorekitConcatChannels';
export const WINDOW_KERNEL = 'RestorekitWindow2d';
export const GRAM_KERNEL = 'RestorekitGram';
export const PRODUCT_KERNEL = 'RestorekitMatMul';
export const GATE_KERNEL = 'RestorekitSimpleGate';
export const GATE_GRAD_KERNEL = 'RestorekitSimpleGateGrad';
export const WINOGRAD_FILTER_KERNEL = 'RestorekitWinogradFilter';
export const EVEN_ODD_KERNEL = 'RestorekitEvenOddChannels';
export const INTERLEAVE_KERNEL = 'RestorekitInterleaveChannels';
export const WINOGRAD_CONV_KERNEL = 'RestorekitWinogradConv3x3';
export const WINOGRAD_FILTER_GRAD_KERNEL = 'RestorekitWinogradFilterGrad3x3';
export const DFT_PASS_KERNEL = 'RestorekitDftPass';
export const FFT_KERNEL = 'RestorekitFftPow2';

function offset(backend: WasmBackendLike, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error(`restorekit wasm kernel: tensor ${t.dataId} is not on this wasm backend`);
  return d.memoryOffset;
}

function kernelsOf(backend: tf.KernelBackend): WasmKernelExports {
  const k = wasmKernels(backend);
  if (!k) throw new Error('restorekit wasm kernels cannot run on this backend instance (see wasmKernels)');
  return k;
}

/** Registers `run` as the wasm kernel `kernelName` (once: a second copy of core finds it registered). */
function registerWasm(
  kernelName: string,
  run: (k: WasmKernelExports, b: WasmBackendLike, inputs: tf.NamedTensorInfoMap, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[],
): void {
  if (tf.getKernel(kernelName, 'wasm')) return;
  tf.registerKernel({
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) =>
      run(kernelsOf(backend as tf.KernelBackend), backend as unknown as WasmBackendLike, inputs, (attrs ?? {}) as Record<string, unknown>),
  });
}

registerWasm(GELU_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const { a, b: s } = attrs as unknown as { a: number; b: number };
  const y = b.makeOutput(x.shape, 'float32');
  k.gelu(offset(b, x), offset(b, y), tf.util.sizeFromShape(x.shape), a, s);
  return y;
});

registerWasm(GELU_GRAD_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const { a, b: s } = attrs as unknown as { a: number; b: number };
  const g = b.makeOutput(x.shape, 'float32');
  k.gelu_grad(offset(b, x), offset(b, dy), offset(b, g), tf.util.sizeFromShape(x.shape), a, s);
  return g;
});

registerWasm(DEPTHWISE_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const [pt, pb, pl, pr] = (attrs as unknown as { pads: [number, number, number, number] }).pads;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const size = filter.shape[0]!;
  const [oh, ow] = [h + pt + pb - size + 1, w + pl + pr - size + 1];
  const y = b.makeOutput([n, oh, ow, c], 'float32');
  const run = size === 3 ? k.dw3 : size === 5 ? k.dw5 : k.dw7;
  const [xo, fo, yo] = [offset(b, x), offset(b, filter), offset(b, y)];
  for (let i = 0; i < n; i++) run(xo + 4 * i * h * w * c, fo, yo + 4 * i * oh * ow * c, h, w, c, oh, ow, pt, pl);
  return y;
});

registerWasm(LAYER_NORM_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const { eps } = attrs as unknown as { eps: number };
  const c = x.shape[x.shape.length - 1]!;
  const y = b.makeOutput(x.shape, 'float32');
  const bias = inputs.bias as tf.TensorInfo | undefined;
  const wo = offset(b, inputs.weight as tf.TensorInfo);
  k.layer_norm(offset(b, x), wo, bias ? offset(b, bias) : wo, offset(b, y), tf.util.sizeFromShape(x.shape) / c, c, eps, bias ? 1 : 0);
  return y;
});

registerWasm(DEPTHWISE_FILTER_GRAD_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const { kh, kw, pt, pl } = attrs as unknown as { kh: number; kw: number; pt: number; pl: number };
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const g = b.makeOutput([kh, kw, c, 1], 'float32');
  const [xo, dyo, go] = [offset(b, x), offset(b, dy), offset(b, g)];
  for (let i = 0; i < n; i++) k.dw_filter_grad(xo + 4 * i * h * w * c, dyo + 4 * i * oh * ow * c, go, h, w, c, oh, ow, kh, kw, pt, pl, i === 0 ? 1 : 0);
  return g;
});

/**
 * dL/dw [kh, kw, C, 1] of a stride-1, multiplier-1 depth-wise conv of x [B, H, W, C] (zero padding pt rows on top, pl
 * columns on the left) whose output gradient is dy, as one pass of restorekit's wasm kernel (tfjs-backend-wasm has no
 * depth-wise filter-gradient kernel; core's form from forward ops is a depth-wise conv with dy as a H×W filter, a
 * generic loop: 22 ms for 128² × 112 and a 3×3 kernel, against 1.7 ms). Null where it does not apply (not
 * `useWasmKernels`, fewer than 4 channels).
 */
export function depthwiseFilterGradKernel(x: tf.Tensor4D, dy: tf.Tensor4D, [kh, kw]: [number, number], [pt, pl]: [number, number]): tf.Tensor4D | null {
  if (x.shape[3] < 4 || dy.shape[3] !== x.shape[3] || x.dtype !== 'float32' || dy.dtype !== 'float32' || !useWasmKernels(x)) return null;
  return tf.engine().runKernel(DEPTHWISE_FILTER_GRAD_KERNEL, { x, dy }, { kh, kw, pt, pl } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

registerWasm(SPLIT_CHANNELS_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const { sizes, start } = attrs as unknown as { sizes: number[]; start?: number };
  const c = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  let at = start ?? 0;
  return sizes.map((n) => {
    const y = b.makeOutput([...x.shape.slice(0, -1), n], 'float32');
    k.copy_rows(offset(b, x), c, at, offset(b, y), n, 0, rows, n);
    at += n;
    return y;
  });
});

registerWasm(CONCAT_CHANNELS_KERNEL, (k, b, inputs, attrs) => {
  const { n } = attrs as unknown as { n: number };
  const parts = Array.from({ length: n }, (_, i) => inputs[String(i)] as tf.TensorInfo);
  const c = parts.reduce((a, t) => a + t.shape[t.shape.length - 1]!, 0);
  const y = b.makeOutput([...parts[0]!.shape.slice(0, -1), c], 'float32');
  const rows = tf.util.sizeFromShape(parts[0]!.shape.slice(0, -1));
  let at = 0;
  for (const t of parts) {
    const m = t.shape[t.shape.length - 1]!;
    k.copy_rows(offset(b, t), m, 0, offset(b, y), c, at, rows, m);
    at += m;
  }
  return y;
});

registerWasm(WINDOW_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const { i, j, sh, sw, oh, ow } = attrs as unknown as { i: number; j: number; sh: number; sw: number; oh: number; ow: number };
  const [h, w] = x.shape.slice(-2) as [number, number];
  const planes = tf.util.sizeFromShape(x.shape.slice(0, -2));
  const y = b.makeOutput([...x.shape.slice(0, -2), oh, ow], 'float32');
  k.window2d(offset(b, x), offset(b, y), planes, h, w, i, j, sh, sw, oh, ow);
  return y;
});

/**
 * The window of x [..., H, W] (the last two axes) at offset (i, j) with strides (sh, sw), [..., oh, ow]: a slice
 * (stride 1) or strided slice of the last two axes, as one pass of restorekit's wasm kernel (on cpu its JavaScript form).
 * Null where it does not apply (not `useCopyKernels`, not float32, a window reaching outside x). No gradient: callers use
 * it inside gradients.
 */
export function windowKernel(x: tf.Tensor, [i, j]: [number, number], [sh, sw]: [number, number], [oh, ow]: [number, number]): tf.Tensor | null {
  const [h, w] = x.shape.slice(-2) as [number, number];
  if (x.rank < 2 || x.dtype !== 'float32' || oh < 1 || ow < 1 || i + (oh - 1) * sh >= h || j + (ow - 1) * sw >= w || !useCopyKernels(x)) return null;
  return tf.engine().runKernel(WINDOW_KERNEL, { x }, { i, j, sh, sw, oh, ow } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Kernel sizes `depthwiseKernel` runs (square). */
const DEPTHWISE_SIZES = [3, 5, 7];

/**
 * A stride-1, multiplier-1 depth-wise conv of x [B, H, W, C] with filter [K, K, C, 1] and zero padding
 * [top, bottom, left, right] as restorekit's wasm kernel: one pass over the output, the K² weights of 4 channels at a
 * time in registers (XNNPACK's kernels in tfjs-backend-wasm: 3×3 and 5×5 only, 7×7 a generic loop). Null where it does
 * not apply (not `useWasmKernels`, another kernel size, a multiplier above 1, fewer than 4 channels, an empty output):
 * the caller takes tf.depthwiseConv2d. No gradient of its own: callers (core's depth-wise conv) supply theirs.
 */
export function depthwiseKernel(x: tf.Tensor4D, filter: tf.Tensor4D, pads: [number, number, number, number]): tf.Tensor4D | null {
  const [kh, kw, c, m] = filter.shape;
  if (kh !== kw || !DEPTHWISE_SIZES.includes(kh) || m !== 1 || c < 4 || x.shape[3] !== c) return null;
  if (pads.some((p) => p < 0) || x.shape[1] + pads[0] + pads[1] < kh || x.shape[2] + pads[2] + pads[3] < kw) return null;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || !useWasmKernels(x)) return null;
  return tf.engine().runKernel(DEPTHWISE_KERNEL, { x, filter }, { pads } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * A differentiable op of one tensor from two of restorekit's kernels: `forward` on x (with `attrs`), and for the
 * backward `grad` on the saved x and dy (with the same attrs).
 */
function kernelPair(forward: string, grad: string, attrs: Record<string, number> = {}): (x: tf.Tensor) => tf.Tensor {
  const a = attrs as unknown as tf.NamedAttrMap;
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: tf.engine().runKernel(forward, { x }, a) as tf.Tensor,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.engine().runKernel(grad, { x: saved[0]!, dy: dy as tf.Tensor }, a) as tf.Tensor,
    };
  }) as never) as (x: tf.Tensor) => tf.Tensor;
}

/**
 * y = a·x·(1 + erf(b·x)) in one pass on wasm, with its exact gradient in one pass: core's `gelu` (a = ½, b = 1/√2) and
 * `geluOfHalved` (1, 1). Callers check `useWasmKernels(x)` first.
 */
export function kernelGelu(a: number, b: number): (x: tf.Tensor) => tf.Tensor {
  return kernelPair(GELU_KERNEL, GELU_GRAD_KERNEL, { a, b });
}

registerWasm(GRAM_KERNEL, (k, b, inputs, attrs) => {
  const a = inputs.a as tf.TensorInfo;
  const bb = inputs.b as tf.TensorInfo;
  const { heads } = attrs as unknown as { heads: number };
  const [n, ca] = a.shape as [number, number];
  const cb = bb.shape[1]!;
  const g = b.makeOutput([heads, ca / heads, cb / heads], 'float32');
  k.gram(offset(b, a), ca, offset(b, bb), cb, offset(b, g), n, ca / heads, cb / heads, heads);
  return g;
});

registerWasm(PRODUCT_KERNEL, (k, b, inputs) => {
  const [x, w] = [inputs.a as tf.TensorInfo, inputs.b as tf.TensorInfo];
  const bias = inputs.bias as tf.TensorInfo | undefined;
  const [m, n] = x.shape as [number, number];
  const d = w.shape[1]!;
  const y = b.makeOutput([m, d], 'float32');
  k.gemm(offset(b, x), offset(b, w), offset(b, y), n, m, d, bias ? offset(b, bias) : 0, bias ? 1 : 0);
  return y;
});

/**
 * a [M, K]·b [K, N] (+ bias [N] on every row) as restorekit's wasm kernel ("gemm" in scripts/wasm-kernels.mjs: 4×8
 * tiles whose left-operand values are broadcast straight from memory), the bias added as the sums are stored. Against
 * XNNPACK's product in tfjs-backend-wasm 4.22 (Zen 4, models' forwards with the kernel on and off alternating in one
 * process): AnyIR 1.19×, LCDNet 1.15×, DRCNet 1.09×, FSDRNet 1.08× (AnyIR's 1×1 convs and products of 14–112 channels
 * ran at 11–20 GFLOP/s in XNNPACK by tf.profile), Restormer ≈ 1.0× (its 1×1 convs of 48–384 channels already ran at
 * ~36). Values equal to a direct sum's to float32 rounding (sums over K in blocks of 128). Null where it does not
 * apply (not `useWasmKernels`, not float32, M or N below 4, K = 0, shapes that do not fit): the caller takes tf.matMul or
 * tf.conv2d. No gradient of its own here: core's matMul and conv2d supply theirs (ops/matmul.ts registers one for direct
 * use).
 */
export function productKernel(a: tf.Tensor2D, b: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D | null {
  const [m, k] = a.shape;
  const n = b.shape[1];
  if (a.rank !== 2 || b.rank !== 2 || b.shape[0] !== k || m < 4 || n < 4 || k < 1) return null;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && (bias.dtype !== 'float32' || bias.rank !== 1 || bias.shape[0] !== n))) return null;
  if (!useWasmKernels(a)) return null;
  return tf.engine().runKernel(PRODUCT_KERNEL, bias ? { a, b, bias } : { a, b }, {}) as tf.Tensor2D;
}

registerWasm(GATE_KERNEL, (k, b, inputs) => {
  const x = inputs.x as tf.TensorInfo;
  const c = x.shape[x.shape.length - 1]!;
  const y = b.makeOutput([...x.shape.slice(0, -1), c / 2], 'float32');
  k.gate_mul(offset(b, x), offset(b, y), tf.util.sizeFromShape(x.shape) / c, c / 2);
  return y;
});

registerWasm(GATE_GRAD_KERNEL, (k, b, inputs) => {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const c = x.shape[x.shape.length - 1]!;
  const dx = b.makeOutput(x.shape, 'float32');
  k.gate_mul_grad(offset(b, x), offset(b, dy), offset(b, dx), tf.util.sizeFromShape(x.shape) / c, c / 2);
  return dx;
});

/**
 * NAFNet's SimpleGate x[..., :h]·x[..., h:] in one pass of restorekit's wasm kernel, with its gradient in one pass
 * (tfjs: a split, a copy per half, and a product). Null where it does not apply (not `useWasmKernels`, not float32,
 * h < 4).
 */
export function gateKernel(x: tf.Tensor): tf.Tensor | null {
  const c = x.shape[x.rank - 1] ?? 0;
  if (c % 2 || c / 2 < 4 || x.dtype !== 'float32' || !useWasmKernels(x)) return null;
  return kernelGate(x);
}

const kernelGate = kernelPair(GATE_KERNEL, GATE_GRAD_KERNEL);

registerWasm(WINOGRAD_FILTER_KERNEL, (k, b, inputs, attrs) => {
  const w = inputs.filter as tf.TensorInfo;
  const [, , c, d] = w.shape as [number, number, number, number];
  if ((attrs as { rotated?: boolean }).rotated) {
    const u = b.makeOutput([16, d, c], 'float32');
    k.wino_filter_t(offset(b, w), offset(b, u), c, d);
    return u;
  }
  const u = b.makeOutput([16, c, d], 'float32');
  k.wino_filter(offset(b, w), offset(b, u), c * d);
  return u;
});

/**
 * Tiles per band of `wino3` (its scratch: 16 transformed windows of C values and 16 products of D per tile). 32 to 512
 * measured on DRCNet's conv shapes (256² × 64 to 32² × 256 channels): within 5 % of each other, 128 never the slowest.
 */
const WINOGRAD_BAND_TILES = 128;

/** Tile rows per band of the Winograd kernels for an OH × OW output, and a band's scratch per channel (bytes). */
function winogradBands(oh: number, ow: number): { rows: number; scratch: number } {
  const tw = Math.ceil(ow / 2);
  const rows = Math.min(Math.ceil(oh / 2), Math.max(1, Math.floor(WINOGRAD_BAND_TILES / tw)));
  return { rows, scratch: 4 * 16 * rows * tw };
}

/** `run` with `bytes` of the wasm heap (malloc'd, freed after it whatever happens). */
function withScratch<T>(b: WasmBackendLike, bytes: number, run: (at: number) => T): T {
  const at = b.wasm!._malloc!(bytes);
  try {
    return run(at);
  } finally {
    b.wasm!._free!(at);
  }
}

/** Whether this wasm build exposes the malloc and free the Winograd kernels take their scratch from. */
function hasMalloc(): boolean {
  const wasm = (tf.backend() as unknown as WasmBackendLike).wasm;
  return typeof wasm?._malloc === 'function' && typeof wasm._free === 'function';
}

registerWasm(WINOGRAD_CONV_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const u = inputs.filter as tf.TensorInfo;
  const [pt, pb, pl, pr] = (attrs as unknown as { pads: [number, number, number, number] }).pads;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const d = u.shape[2]!;
  const [oh, ow] = [h + pt + pb - 2, w + pl + pr - 2];
  const y = b.makeOutput([n, oh, ow, d], 'float32');
  const { rows, scratch } = winogradBands(oh, ow);
  withScratch(b, scratch * (c + d), (v) => {
    const [xo, uo, yo] = [offset(b, x), offset(b, u), offset(b, y)];
    for (let i = 0; i < n; i++) k.wino3(xo + 4 * i * h * w * c, uo, yo + 4 * i * oh * ow * d, v, v + scratch * c, h, w, c, d, oh, ow, pt, pl, rows);
  });
  return y;
});

registerWasm(WINOGRAD_FILTER_GRAD_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const { pt, pl } = attrs as unknown as { pt: number; pl: number };
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [, oh, ow, d] = dy.shape as [number, number, number, number];
  const g = b.makeOutput([3, 3, c, d], 'float32');
  const { rows, scratch } = winogradBands(oh, ow);
  withScratch(b, scratch * (c + d) + 4 * 16 * c * d, (v) => {
    const [xo, dyo] = [offset(b, x), offset(b, dy)];
    const m = v + scratch * (c + d);
    for (let i = 0; i < n; i++) k.wino_fg(xo + 4 * i * h * w * c, dyo + 4 * i * oh * ow * d, v, v + scratch * c, m, h, w, c, d, oh, ow, pt, pl, rows, i);
    k.wino_fg_out(m, offset(b, g), c * d);
  });
  return g;
});

/**
 * dL/dw [3, 3, C, D] of a 3×3 stride-1 conv of x [B, H, W, C] (zero padding pt rows on top, pl columns on the left)
 * whose output gradient is dy [B, OH, OW, D], as restorekit's wasm kernels: Winograd's F(3×3, 2×2) — each 2×2 tile of dy
 * against the 4×4 window of x under it, 16 multiply-adds per tile and channel pair where the sum of shifted products
 * takes 36, the sums over tiles as the Gram kernel's products. Null where it does not apply (not `useWasmKernels`, not
 * float32, fewer than 8 channels in or out, negative padding, a wasm build without _malloc).
 */
export function winogradFilterGradKernel(x: tf.Tensor4D, dy: tf.Tensor4D, [pt, pl]: [number, number]): tf.Tensor4D | null {
  const [c, d] = [x.shape[3], dy.shape[3]];
  if (c < 8 || d < 8 || pt < 0 || pl < 0 || x.shape[0] !== dy.shape[0] || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  if (!useWasmKernels(x) || !hasMalloc()) return null;
  return tf.engine().runKernel(WINOGRAD_FILTER_GRAD_KERNEL, { x, dy }, { pt, pl } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * A 3×3 stride-1 dense conv of x [B, H, W, C] with filter [3, 3, C, D] and zero padding [top, bottom, left, right] as
 * restorekit's wasm kernels: Winograd's F(2×2, 3×3) (scripts/wasm-kernels.mjs "wino3"), 2.25× fewer multiply-adds than
 * the direct sum XNNPACK computes. Its values differ from the direct sum's by float32 rounding only (the transforms'
 * entries are 0, ±1 and ½; measured against float64 sums: see ops/winograd.test.ts). Null where it does not apply (not
 * `useWasmKernels`, not float32, fewer than 8 input or output channels — too few to gain —, an output narrower than 8
 * columns, negative padding, a wasm build without _malloc): the caller takes tf.conv2d. No gradient of its own:
 * core's conv2d supplies it (its input gradient is again such a conv). `rotated`: convolve with `filter` [3, 3, D, C]
 * rotated by 180° with in and out swapped — the input gradient of a conv with that filter — without forming it.
 */
export function winogradKernel(x: tf.Tensor4D, filter: tf.Tensor4D, pads: [number, number, number, number], rotated = false): tf.Tensor4D | null {
  const [kh, kw] = filter.shape;
  const [c, d] = rotated ? [filter.shape[3], filter.shape[2]] : [filter.shape[2], filter.shape[3]];
  if (kh !== 3 || kw !== 3 || c < 8 || d < 8 || x.shape[3] !== c || pads.some((p) => p < 0)) return null;
  const [oh, ow] = [x.shape[1] + pads[0] + pads[1] - 2, x.shape[2] + pads[2] + pads[3] - 2];
  if (oh < 1 || ow < 8 || x.dtype !== 'float32' || filter.dtype !== 'float32' || !useWasmKernels(x) || !hasMalloc()) return null;
  return tf.tidy(() => {
    const u = tf.engine().runKernel(WINOGRAD_FILTER_KERNEL, { filter }, { rotated } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.engine().runKernel(WINOGRAD_CONV_KERNEL, { x, filter: u }, { pads } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}

registerWasm(EVEN_ODD_KERNEL, (k, b, inputs) => {
  const x = inputs.x as tf.TensorInfo;
  const c = x.shape[x.shape.length - 1]!;
  const shape = [...x.shape.slice(0, -1), c / 2];
  const [y0, y1] = [b.makeOutput(shape, 'float32'), b.makeOutput(shape, 'float32')];
  k.deinterleave(offset(b, x), offset(b, y0), offset(b, y1), tf.util.sizeFromShape(x.shape) / c, c / 2);
  return [y0, y1];
});

registerWasm(INTERLEAVE_KERNEL, (k, b, inputs) => {
  const [e, o] = [inputs.even as tf.TensorInfo, inputs.odd as tf.TensorInfo];
  const h = e.shape[e.shape.length - 1]!;
  const y = b.makeOutput([...e.shape.slice(0, -1), 2 * h], 'float32');
  k.interleave(offset(b, e), offset(b, o), offset(b, y), tf.util.sizeFromShape(e.shape) / h, h);
  return y;
});

/** The output of a DFT kernel on x [parts, pre, L, post] (mode 0 real → complex, 1 complex → complex, 2 complex → real). */
function dftOutput(b: WasmBackendLike, x: tf.TensorInfo, { rows, realOut }: DftPassOptions) {
  const [parts, pre, lx, post] = x.shape as [number, number, number, number];
  const mode = parts === 1 ? 0 : realOut ? 2 : 1;
  return { y: b.makeOutput([mode === 2 ? 1 : 2, pre, rows, post], 'float32'), mode, pre, lx, post };
}

registerWasm(DFT_PASS_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const table = inputs.table as tf.TensorInfo;
  const a = attrs as unknown as DftPassOptions;
  const { y, mode, pre, lx, post } = dftOutput(b, x, a);
  k.dft_pass(
    offset(b, x),
    offset(b, table),
    offset(b, y),
    pre,
    lx,
    a.rows,
    post,
    table.shape[1]! / 3,
    a.lenIn,
    a.n,
    a.hermitian ? 1 : 0,
    a.scale,
    a.sign * a.scale,
    mode,
  );
  return y;
});

/** Whether restorekit's wasm kernels run on the active backend now (it is wasm, the setting is on, the module instantiated there). */
export function wasmKernelsActive(): boolean {
  return tf.getBackend() === 'wasm' && getSettings().wasmKernels && wasmKernels() !== null;
}

/** How `dftPassKernel` combines a table's terms (see there). */
export interface DftPassOptions {
  /** Outputs: the table's first `rows` rows. */
  rows: number;
  /** Terms at positions n ≥ lenIn (and every later term of the row) read as zero. */
  lenIn: number;
  /** The transform length N (for the c2r weights). */
  n: number;
  /** Weight 2 on the terms with 0 < n < N/2 (a c2r's Hermitian weights). */
  hermitian: boolean;
  scale: number;
  /** The sign of the imaginary parts: −1 forward, +1 inverse (multiplies the table's s). */
  sign: 1 | -1;
  /** The real part alone (complex x only). */
  realOut: boolean;
}

/**
 * The checks of the DFT kernels: active kernels, float32 x and `aux` (the table or the twiddles), x [1 or 2, pre, L,
 * post], `auxBad` (what the kernel needs of aux, said by `auxWant`), a real output only from a complex x.
 */
function checkDft(op: string, x: tf.Tensor, aux: tf.Tensor, auxName: string, opts: DftPassOptions, auxBad: boolean, auxWant: string): void {
  if (!wasmKernelsActive())
    throw new BackendError(`${op}: restorekit's wasm kernels are not active on the '${tf.getBackend()}' backend (see wasmKernelsActive)`);
  if (x.dtype !== 'float32' || aux.dtype !== 'float32') throw new DTypeError(`${op}: x and ${auxName} must be float32, got ${x.dtype} and ${aux.dtype}`);
  if (x.rank !== 4 || (x.shape[0] !== 1 && x.shape[0] !== 2) || auxBad)
    throw new ShapeError(`${op}: needs x [1 or 2, pre, L, post] and ${auxWant}, got x [${x.shape}] and ${auxName} [${aux.shape}]`);
  if (opts.realOut && x.shape[0] === 1) throw new ShapeError(`${op}: a real output needs a complex x (2 parts)`);
}

/**
 * One DFT pass along the middle axis of x [parts, pre, L, post] (parts 2: re and im planes, 1: a real signal) as
 * restorekit's wasm kernel (the fft package's 'kernel' path on wasm): output o of y [parts', pre, rows, post] is
 * scale·Σ_j w_j·(c_oj + i·sign·s_oj)·x[·, ·, n_oj, ·] over the R terms of row o of `table` [≥ rows, 3R]:
 * [n_0, c_0, s_0, n_1, c_1, s_1, …] (n < L as a float, ascending along a row; see DftPassOptions for lenIn and the
 * weights w). A transform and its adjoint (opposite sign; r2c ↔ unweighted c2r) read the same table. y is complex
 * (parts' = 2) unless `realOut`. No gradient of its own: the fft package wraps passes with their adjoint. The table's
 * positions are trusted (below L: not read back to check). Throws where the kernels do not run (see
 * `wasmKernelsActive`) or the shapes do not fit.
 */
export function dftPassKernel(x: tf.Tensor4D, table: tf.Tensor2D, opts: DftPassOptions): tf.Tensor4D {
  checkDft(
    'dftPassKernel',
    x,
    table,
    'table',
    opts,
    table.rank !== 2 || table.shape[1] % 3 !== 0 || table.shape[0] < opts.rows,
    `a table [≥ ${opts.rows} rows, 3R]`,
  );
  return tf.engine().runKernel(DFT_PASS_KERNEL, { x, table }, { ...opts } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

registerWasm(FFT_KERNEL, (k, b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const tw = inputs.twiddles as tf.TensorInfo;
  const a = attrs as unknown as DftPassOptions;
  const { y, mode, pre, lx, post } = dftOutput(b, x, a);
  withScratch(b, 2 * a.n * 64, (s0) =>
    k.fft_pow2(offset(b, x), offset(b, tw), offset(b, y), s0, pre, lx, a.rows, post, a.n, a.lenIn, a.hermitian ? 1 : 0, a.scale, a.sign, mode),
  );
  return y;
});

/**
 * The DFT `dftPassKernel` computes with one term per input — output o = scale·Σ_{n<lenIn} w_n·x[n]·e^{sign·i·2π·o·n/N}
 * (see DftPassOptions) — for a power-of-two N = opts.n ≥ 8, as restorekit's radix-2 Stockham FFT kernel: log₂N passes
 * over each column of 4 or 8 lines held in cache instead of a table of terms (lines: 4 or 8 adjacent values after the
 * axis, or with fewer than 4 of those, 4 lines of consecutive `pre` gathered). `twiddles` [2, N]: cos and sin of 2π·m/N.
 * Null where it does not apply (N not a power of two or below 8, both pre and post below 4, rows or lenIn above N, a wasm build without
 * _malloc): the caller takes `dftPassKernel`. Throws as `dftPassKernel` does where the kernels do not run or shapes do
 * not fit.
 */
export function fftKernel(x: tf.Tensor4D, twiddles: tf.Tensor2D, opts: DftPassOptions): tf.Tensor4D | null {
  const N = opts.n;
  if (N < 8 || (N & (N - 1)) !== 0 || (x.shape[3] < 4 && x.shape[1] < 4) || opts.rows > N || opts.lenIn > N) return null;
  checkDft(
    'fftKernel',
    x,
    twiddles,
    'twiddles',
    opts,
    twiddles.rank !== 2 || twiddles.shape[0] !== 2 || twiddles.shape[1] !== N || x.shape[2] < opts.lenIn,
    `twiddles [2, ${N}] (and L ≥ lenIn)`,
  );
  if (!hasMalloc()) return null;
  return tf.engine().runKernel(FFT_KERNEL, { x, twiddles }, { ...opts } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
