import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors.js';
import { resolveOptions, opt, type ResolvedOptions } from './options.js';

/**
 * Runtime settings: how restorekit computes, never what. They change speed and memory, not results (beyond
 * float rounding), so they live here — process-wide, set by the application — and are never saved into a model
 * file or a block's config (a model saved on a big machine must not carry that machine's memory limits).
 */
const SETTINGS_SCHEMA = {
  /**
   * Largest hidden activation (bytes of float32) a feed-forward block (Restormer's GDFN and the blocks built on
   * it) computes in one piece; larger ones run in chunks of hidden channels with the same output and gradients.
   * Lower it where memory is short (the wasm heap ends at 4 GB); 0 never chunks. Default 128 MiB.
   */
  maxHiddenBytes: opt.number({ min: 0 }, 128 * 2 ** 20),
  /**
   * How convolution filter/input gradients are computed: 'auto' uses the backend's backprop kernels where they
   * exist, otherwise (wasm) forward ops every backend has; 'native' / 'forward' force one path.
   */
  convGradient: opt.enum(['auto', 'native', 'forward'], 'auto'),
  /** Keep the FFT's DFT bases (small constant tensors) between calls. Off: rebuilt per call. Default on. */
  fftCache: opt.bool(true),
  /**
   * restorekit's own WebAssembly SIMD kernels on tfjs-backend-wasm (core `gelu`, `geluOfHalved` and their gradients in
   * one pass each, instead of tfjs's scalar Erf and several element-wise kernels). Off: the tfjs-op forms. Default on;
   * where the kernels cannot run (see `wasmKernels`) the tfjs-op forms are taken either way.
   */
  wasmKernels: opt.bool(true),
  /**
   * restorekit's own WebGPU kernels on tfjs-backend-webgpu (core `channelLayerNorm` and `softmax` over short rows, and
   * their gradients, one invocation per row in one dispatch, instead of tfjs's reductions with a 64-thread workgroup
   * per row). Off: the tfjs-op forms. Default on.
   */
  webgpuKernels: opt.bool(true),
};
export type Settings = ResolvedOptions<typeof SETTINGS_SCHEMA>;

let current: Settings = resolveOptions('settings', SETTINGS_SCHEMA, {});
const listeners: ((s: Settings) => void)[] = [];

/** The current runtime settings. */
export function getSettings(): Settings {
  return current;
}

/** Changes runtime settings (unknown names and bad values throw `ConfigError`); returns the new settings. */
export function configure(changes: Partial<Settings>): Settings {
  current = resolveOptions('configure', SETTINGS_SCHEMA, { ...current, ...changes });
  for (const l of listeners) l(current);
  return current;
}

/** Runs `fn` with some settings changed, then restores the previous ones (also when `fn` throws or its promise rejects). */
export function withSettings<T>(changes: Partial<Settings>, fn: () => T): T {
  const before = current;
  configure(changes);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    configure(before);
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => configure(before)) as T;
  configure(before);
  return result;
}

/** Called with the new settings after every change (packages that hold state derived from a setting use it). */
export function onSettingsChange(listener: (s: Settings) => void): void {
  listeners.push(listener);
}

/**
 * Backend-specific implementation choices, each with the backends where it was measured to be faster
 * (benchmarks/results/ops.md, fft.md). Read-only: they select among equivalent computations, and the
 * fixtures are checked on every backend whichever path it takes.
 */
const BACKEND_CHOICES = {
  /**
   * GDFN computes its two gated halves from halves of the weights (two convs each) instead of one conv and a
   * channel split: slicing an activation's channels is a slow generic copy on cpu and wasm (on cpu a split of
   * the 254-channel activation cost more than all the block's convs); on webgl the halves were 14% slower. On
   * tensorflow (tfjs-node) two 48→127 convs took 1.6 ms against 3.4 ms for one 48→254 conv plus 1.2 ms of split
   * (benchmarks/results/ops.md, 128²).
   */
  weightHalves: ['cpu', 'wasm', 'tensorflow'],
  /**
   * Forms that keep to the kernels tfjs-backend-wasm runs through XNNPACK instead of its scalar fallbacks: the
   * transposed attention as plain 2-D matMuls (its BatchMatMul uses XNNPACK only for a batch of 1 with neither
   * operand transposed, and MDTA's batched q·kᵀ ran 15× slower than that), MDTA's q, k, v from thirds of its
   * weights. On webgl, webgpu and cpu the batched products are single fast kernels. tensorflow takes these
   * forms too: with the weight halves, the official Restormer's 256² forward took 2.87 s of CPU time against 3.42 s
   * before (1.19×, the two builds alternating in one process; AnyIR 1.03×; benchmarks/results/ops.md, 2026-11-30).
   */
  xnnpackForms: ['wasm', 'tensorflow'],
  /**
   * The backend's Erf is a scalar libm call (wasm: up to 35 ns an element on a trained model's activations): core's
   * `gelu` then takes an erf-free form of 17 element-wise ops where the data calls for it (see `gelu`). tensorflow's
   * Erf is a vectorised kernel: the plain ½x(1 + erf(x/√2)).
   */
  scalarErf: ['wasm'],
  /**
   * Products with a transposed operand instead of transposing a tensor first: the transposed attention on NHWC
   * matrices (qᵀ·k and v·Aᵀ as BLAS flags). On tensorflow the transposes of the other layouts cost more than the
   * attention products themselves; tfjs-backend-wasm runs a transposed BatchMatMul as a scalar loop.
   */
  transposedMatMul: ['tensorflow'],
  /**
   * A strided channel selection (AnyIR's Skip-Split of even and odd channels) as a product with a 0/1 matrix, folded
   * into the next 1×1 conv's weights where there is one: tfjs-backend-wasm's strided Slice is a scalar loop (128 ms
   * for the two halves of a 256² × 56 tensor and a 28 → 84 conv, against 22 ms as products); on tensorflow the slices
   * are faster (4.9 vs 6.8 ms).
   */
  stridedSliceAsProduct: ['wasm'],
  /**
   * Transposed convolutions — every conv's input gradient, ConvTranspose2d's forward — as forward convs of the dilated
   * input with the flipped filter: tfjs-backend-wasm's Conv2DBackpropInput is a scalar loop (1.1 s of an official
   * Restormer training step of 2.4 s at 32²), its Conv2D runs through XNNPACK.
   */
  transposedConvAsConv: ['wasm'],
  /**
   * Conv and depth-wise conv filter gradients from forward ops (products of shifted windows, depth-wise convs with dy
   * as the filter) although the backend has backprop kernels: tfjs-backend-cpu's Conv2DBackpropFilter and
   * DepthwiseConv2dNativeBackpropFilter loop over the filter's taps outermost, dozens of times slower than its forward
   * convs (LCDNet 'tiny', one training step on 2×48² × 3: 15.6 s and 6.7 s of its 31.6 s; 7.3 s with these forms and
   * core's copy kernels on cpu, see cpu/kernels.ts).
   */
  filterGradFromForwardOps: ['cpu'],
  /**
   * Gradients of 2-D products (core `matMul`) as plain products of explicitly transposed operands: tfjs's own take
   * transposed-operand products, which tfjs-backend-wasm runs as a scalar loop (150 ms against 1 ms for a
   * [1024, 96]ᵀ·[1024, 96]); tensorflow, webgl and webgpu run them as they are.
   */
  plainMatMulGradients: ['wasm'],
  /**
   * Depthwise convs with kernels other than 3×3 and 5×5 (AnyIR's 7×7) as sums of 5×5 depthwise convs over tiles of
   * the kernel: tfjs-backend-wasm runs only those two sizes through XNNPACK's fast kernels (a 7×7 over 19 channels at
   * 256²: 45.7 ms, four 5×5 tiles and their sum 28 ms).
   */
  depthwiseTiles: ['wasm'],
  /**
   * 2-D transposes [r, c] → [c, r] of many rows (core `transpose2d`: the gradients of core `matMul`, the filter
   * gradient of a 1×1 conv) as a rank-3 transpose of [r/32, 32, c]: tfjs-backend-wasm's 2-D transpose writes with a
   * stride of r values, and for the power-of-two pixel counts of images that is 4–12× slower than its rank-3 loop.
   */
  splitTranspose: ['wasm'],
  /**
   * Depth-wise convs with a channel multiplier above 1 as several multiplier-1 convs (one per output of each channel),
   * and channel halves from halves of the weights: tfjs-backend-wasm runs a multiplier-2 5×5 depth-wise conv outside
   * XNNPACK's fast kernels (46 ms at 256² × 32 against 9 ms for a multiplier-1 one over the same 32 channels) and a
   * channel split as a copy in JavaScript (LCDNet's MSFFN).
   */
  depthwiseMultiplierOne: ['wasm'],
  /** Leaky ReLU as PReLU with a scalar slope (core `leakyRelu`): tfjs-backend-wasm's LeakyRelu is 2.4× slower. */
  preluForLeakyRelu: ['wasm'],
  /**
   * PReLU with one shared slope as PReLU with that slope per channel (core `prelu`, and `leakyRelu` where it is a
   * PReLU): tfjs-backend-wasm's PReLU takes the slope's size as its channel count, so a scalar slope ran XNNPACK over
   * H·W·C rows of one value (DRCNet's wasm forward: 5.7 → 4.3 s at 256²).
   */
  channelPrelu: ['wasm'],
  /**
   * Means over H and W (core `spatialMean`) as a global average pool: tfjs-backend-wasm reduces over axes other than
   * the innermost by transposing its input first (a full copy), while its AvgPool is XNNPACK's vectorised pooling
   * (256² × 28: 2.72 → 0.18 ms; GatedDA's statistics, SimAM, instance and region norms, channel attentions). On
   * tensorflow (tfjs-node) its AvgPool also beat its Mean over H, W: 0.52 → 0.32 ms at 256² × 64, 0.35 → 0.18 at 128² × 128.
   */
  poolForSpatialMean: ['wasm', 'tensorflow'],
  /**
   * The FFT's kernel path instead of tensor-op matmuls: DFT-pass shaders on webgl/webgpu (two launches per axis);
   * restorekit's wasm kernels on wasm (a radix-2 FFT pass for powers of two, two DFT passes else). wasm, rfft2 / irfft2
   * of 256² × 32: 45 / 49 ms → 9–13 / 6–7 ms (no transposes, no DFT products).
   */
  fftKernel: ['webgl', 'webgpu', 'wasm'],
} as const satisfies Record<string, readonly string[]>;
export type BackendChoice = keyof typeof BACKEND_CHOICES;

/** Whether `backend` (default: the active one) takes the faster path `choice`. */
export function prefers(choice: BackendChoice, backend: string = tf.getBackend()): boolean {
  const list = BACKEND_CHOICES[choice] as readonly string[] | undefined;
  if (!list) throw new ConfigError(`prefers: unknown choice '${choice}' (known: ${Object.keys(BACKEND_CHOICES).join(', ')})`);
  return list.includes(backend);
}

/** The backends that take a choice (for reports and tests). */
export function backendsPreferring(choice: BackendChoice): readonly string[] {
  return BACKEND_CHOICES[choice];
}
