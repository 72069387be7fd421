import * as tf from '@tensorflow/tfjs-core';
import { CONCAT_CHANNELS_KERNEL, SPLIT_CHANNELS_KERNEL, WINDOW_KERNEL } from '../wasm/kernels.js';

/**
 * restorekit's copy kernels on tfjs-backend-cpu, in JavaScript: channel splits and concats (core `splitChannels`,
 * `concatChannels`) and the windows of a filter gradient (`windowKernel`), as row copies of typed arrays. tfjs-backend-cpu
 * copies a non-contiguous Slice one value at a time through index arrays (about 1 µs a value: a split of a 2×48²×16
 * tensor in halves took 69 ms, and splits were 3 s of LCDNet 'tiny''s 10 s training step on 2×48²); the same values
 * come out either way. The kernels and their gradients are those of the wasm kernels (wasm/kernels.ts), registered
 * for 'cpu' here when core loads.
 */

interface CpuBackendLike {
  data: { get(dataId: object): { values?: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

const values = (b: CpuBackendLike, t: tf.TensorInfo): Float32Array => b.data.get(t.dataId).values as Float32Array;

function registerCpu(
  kernelName: string,
  run: (b: CpuBackendLike, inputs: tf.NamedTensorInfoMap, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[],
): void {
  if (tf.getKernel(kernelName, 'cpu')) return;
  tf.registerKernel({
    kernelName,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => run(backend as unknown as CpuBackendLike, inputs, (attrs ?? {}) as Record<string, unknown>),
  });
}

/** Copies `rows` rows of `n` values: row r from src[r·srcStride + srcAt] to dst[r·dstStride + dstAt]. */
function copyRows(src: Float32Array, srcStride: number, srcAt: number, dst: Float32Array, dstStride: number, dstAt: number, rows: number, n: number): void {
  if (n === srcStride && n === dstStride) {
    dst.set(src.subarray(srcAt, srcAt + rows * n), dstAt);
    return;
  }
  for (let r = 0, s = srcAt, d = dstAt; r < rows; r++, s += srcStride, d += dstStride) for (let k = 0; k < n; k++) dst[d + k] = src[s + k]!;
}

registerCpu(SPLIT_CHANNELS_KERNEL, (b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const { sizes, start } = attrs as unknown as { sizes: number[]; start?: number };
  const c = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const xv = values(b, x);
  let at = start ?? 0;
  return sizes.map((n) => {
    const out = new Float32Array(rows * n);
    copyRows(xv, c, at, out, n, 0, rows, n);
    at += n;
    return b.makeTensorInfo([...x.shape.slice(0, -1), n], 'float32', out);
  });
});

registerCpu(CONCAT_CHANNELS_KERNEL, (b, inputs, attrs) => {
  const { n } = attrs as unknown as { n: number };
  const parts = Array.from({ length: n }, (_, i) => inputs[String(i)] as tf.TensorInfo);
  const c = parts.reduce((a, t) => a + t.shape[t.shape.length - 1]!, 0);
  const rows = tf.util.sizeFromShape(parts[0]!.shape.slice(0, -1));
  const out = new Float32Array(rows * c);
  let at = 0;
  for (const t of parts) {
    const m = t.shape[t.shape.length - 1]!;
    copyRows(values(b, t), m, 0, out, c, at, rows, m);
    at += m;
  }
  return b.makeTensorInfo([...parts[0]!.shape.slice(0, -1), c], 'float32', out);
});

registerCpu(WINDOW_KERNEL, (b, inputs, attrs) => {
  const x = inputs.x as tf.TensorInfo;
  const { i, j, sh, sw, oh, ow } = attrs as unknown as { i: number; j: number; sh: number; sw: number; oh: number; ow: number };
  const [h, w] = x.shape.slice(-2) as [number, number];
  const planes = tf.util.sizeFromShape(x.shape.slice(0, -2));
  const xv = values(b, x);
  const out = new Float32Array(planes * oh * ow);
  for (let p = 0, d = 0; p < planes; p++)
    for (let r = 0; r < oh; r++) {
      const row = p * h * w + (i + r * sh) * w + j;
      if (sw === 1) {
        out.set(xv.subarray(row, row + ow), d);
        d += ow;
      } else for (let q = 0; q < ow; q++) out[d++] = xv[row + q * sw]!;
    }
  return b.makeTensorInfo([...x.shape.slice(0, -2), oh, ow], 'float32', out);
});
