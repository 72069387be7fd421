import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DTypeError, ShapeError, fmtShape } from '@restorekit/core';
import { isImageArray, type ImageArray } from './image-array.js';
import { Metric, type MetricType } from './metric.js';
import type { MetricOptions } from './options.js';

/** A restoration model: a function or anything with `apply` (tf.layers.Layer, LayersModel) taking NHWC [1, H, W, C] in [0, 1]. */
export type EvaluateModel = ((x: tf.Tensor4D) => tf.Tensor | Promise<tf.Tensor>) | { apply: (x: tf.Tensor, kwargs?: Record<string, unknown>) => unknown };

/** A clean image: an HWC / [1, H, W, C] tensor or a `{ data, shape }` image, values in [0, dataRange]; optionally named. */
export type EvaluateImage = tf.Tensor | ImageArray | { name: string; data: tf.Tensor | ImageArray };

/** Makes the model input from the clean image ([1, H, W, C] in [0, 1]). Return a new tensor or the same one. */
export type Degrade = (clean: tf.Tensor4D, index: number) => tf.Tensor | Promise<tf.Tensor>;

export interface EvaluateOptions {
  /** Which metrics to report, in order. Default ['psnr', 'ssim']. */
  metrics?: MetricType[];
  /** Forwarded to every metric (BasicSR's crop_border / test_y_channel). */
  cropBorder?: number;
  testYChannel?: boolean;
  /** Range of the given clean images: 1 (default) or 255 (they are divided by 255 for the model). */
  dataRange?: number;
  /** Clamp the model output to [0, 1] before measuring (torch.clamp in the official test scripts). Default true; false throws on out-of-range outputs. */
  clip?: boolean;
  /** Round the output to 8 bits (×255, round, ÷255), as saving a PNG does before a MATLAB/BasicSR evaluation. Default false. */
  quantize?: boolean;
  /** Receives each line of the table; null prints nothing. Default console.log. */
  logger?: ((line: string) => void) | null;
  /** Also measure the degraded input against the clean image (columns `input <metric>`). Default false. */
  measureInput?: boolean;
  /** For models that return several tensors: which one is the restored image (negative counts from the end, -1 = last). Default 0. */
  outputIndex?: number;
}

export interface EvaluateRow {
  name: string;
  values: Partial<Record<MetricType, number>>;
  input?: Partial<Record<MetricType, number>>;
}

export interface EvaluateResult {
  rows: EvaluateRow[];
  mean: Partial<Record<MetricType, number>>;
  inputMean?: Partial<Record<MetricType, number>>;
  /** The printed table. */
  table: string;
}

const KNOWN = ['metrics', 'cropBorder', 'testYChannel', 'dataRange', 'clip', 'quantize', 'logger', 'measureInput', 'outputIndex'];

function toHost(t: tf.Tensor, data: Float32Array): ImageArray {
  const s = t.shape;
  return { data, shape: s.length === 4 ? s.slice(1) : s };
}

/**
 * Runs `model` on `degrade(clean)` for every image, measures the output against the clean image
 * (float64, reference arithmetic: BasicSR PSNR/SSIM, scikit-image SSIM), prints a per-image and
 * mean table and returns it. Leaves no tensors behind (the given images stay the caller's).
 */
export async function evaluate(model: EvaluateModel, images: EvaluateImage[], degrade: Degrade | null, options: EvaluateOptions = {}): Promise<EvaluateResult> {
  if (typeof model !== 'function' && !(model && typeof (model as { apply?: unknown }).apply === 'function'))
    throw new ConfigError('evaluate: model must be a function or have an apply() method (tf.layers.Layer, LayersModel)');
  if (!Array.isArray(images) || images.length === 0) throw new ConfigError('evaluate: images must be a non-empty array');
  if (degrade !== null && typeof degrade !== 'function') throw new ConfigError('evaluate: degrade must be a function or null');
  for (const k of Object.keys(options)) if (!KNOWN.includes(k)) throw new ConfigError(`evaluate: unknown option '${k}'; known options: ${KNOWN.join(', ')}`);
  const names = options.metrics ?? ['psnr', 'ssim'];
  const dataRange = options.dataRange ?? 1;
  const clip = options.clip ?? true;
  const metricOpts: MetricOptions = {
    cropBorder: options.cropBorder ?? 0,
    testYChannel: options.testYChannel ?? false,
    dataRange: 1,
    outOfRange: clip ? 'clip' : 'error',
  };
  const ms = names.map((n) => new Metric(n, metricOpts)); // validates names and options
  const log = options.logger === undefined ? (l: string) => console.log(l) : options.logger;

  const rows: EvaluateRow[] = [];
  for (let i = 0; i < images.length; i++) {
    const item = images[i]!;
    const named =
      item !== null && typeof item === 'object' && !(item instanceof tf.Tensor) && 'name' in item && 'data' in item && !isImageArray(item as object)
        ? (item as { name: string; data: tf.Tensor | ImageArray })
        : null;
    const src = named ? named.data : (item as tf.Tensor | ImageArray);
    const name = named ? String(named.name) : `#${i}`;
    const owned: tf.Tensor[] = [];
    try {
      let clean: tf.Tensor4D;
      if (src instanceof tf.Tensor) {
        if (src.rank !== 3 && !(src.rank === 4 && src.shape[0] === 1))
          throw new ShapeError(`evaluate: image ${name} must be HWC or [1, H, W, C], got ${fmtShape(src.shape)}`);
        clean = tf.tidy(() => tf.div(tf.cast(src.rank === 3 ? tf.expandDims(src, 0) : src, 'float32'), dataRange)) as tf.Tensor4D;
      } else if (isImageArray(src)) {
        const s = src.shape;
        const shape = s.length === 2 ? [1, s[0]!, s[1]!, 1] : [1, ...s];
        if (shape.length !== 4) throw new ShapeError(`evaluate: image ${name} must be [H, W] or [H, W, C], got ${JSON.stringify(Array.from(s))}`);
        const d = Float32Array.from(src.data as ArrayLike<number>, (v) => v / dataRange);
        clean = tf.tensor4d(d, shape as [number, number, number, number]);
      } else throw new DTypeError(`evaluate: image ${i} must be a tf.Tensor, a { data, shape } image or { name, data }`);
      owned.push(clean);
      const cleanData = (await clean.data()) as Float32Array;
      const input = degrade ? await degrade(clean, i) : clean;
      if (!(input instanceof tf.Tensor)) throw new DTypeError(`evaluate: degrade must return a tf.Tensor for image ${name}`);
      if (input !== clean) owned.push(input);
      const x = (input.rank === 3 ? tf.expandDims(input, 0) : input) as tf.Tensor4D;
      if (x !== input) owned.push(x);
      const raw = typeof model === 'function' ? await model(x) : (model.apply(x, { training: false }) as tf.Tensor);
      if (Array.isArray(raw)) owned.push(...(raw as tf.Tensor[]).filter((t) => t instanceof tf.Tensor && t !== x && t !== clean));
      const oi = options.outputIndex ?? 0;
      const out = Array.isArray(raw) ? (raw as tf.Tensor[])[oi < 0 ? raw.length + oi : oi] : raw;
      if (!(out instanceof tf.Tensor))
        throw new DTypeError(
          `evaluate: the model must return a tf.Tensor (or an array holding one at outputIndex ${options.outputIndex ?? 0}) for image ${name}`,
        );
      if (!Array.isArray(raw) && out !== x && out !== clean) owned.push(out);
      const os = out.rank === 3 ? [1, ...out.shape] : out.shape;
      if (os.length !== 4 || os.some((d: number, k: number) => d !== clean.shape[k]))
        throw new ShapeError(`evaluate: model output ${fmtShape(out.shape)} for image ${name} does not match the image ${fmtShape(clean.shape)}`);
      let outData = Float32Array.from((await out.data()) as Float32Array);
      if (options.quantize) outData = outData.map((v) => Math.round(Math.min(Math.max(v, 0), 1) * 255) / 255);
      const target = toHost(clean, cleanData);
      const pred = toHost(clean, outData);
      const values: Partial<Record<MetricType, number>> = {};
      ms.forEach((m, k) => {
        values[names[k]!] = m.computeImage(pred, target);
      });
      const row: EvaluateRow = { name, values };
      if (options.measureInput) {
        const inData = Float32Array.from((await x.data()) as Float32Array);
        if (x.shape.some((d, k) => d !== clean.shape[k]))
          throw new ShapeError(`evaluate: degraded input ${fmtShape(x.shape)} of image ${name} does not match ${fmtShape(clean.shape)} (measureInput)`);
        row.input = {};
        ms.forEach((m, k) => {
          row.input![names[k]!] = m.computeImage(toHost(clean, inData), target);
        });
      }
      rows.push(row);
    } finally {
      tf.dispose(owned);
    }
  }
  const mean = meanOf(
    rows.map((r) => r.values),
    names,
  );
  const inputMean = options.measureInput
    ? meanOf(
        rows.map((r) => r.input!),
        names,
      )
    : undefined;
  const table = formatTable(rows, mean, inputMean, names);
  if (log) for (const line of table.split('\n')) log(line);
  return { rows, mean, ...(inputMean ? { inputMean } : {}), table };
}

function meanOf(vals: Partial<Record<MetricType, number>>[], names: MetricType[]): Partial<Record<MetricType, number>> {
  const out: Partial<Record<MetricType, number>> = {};
  for (const n of names) out[n] = vals.reduce((s, v) => s + v[n]!, 0) / vals.length;
  return out;
}

function fmt(n: MetricType, v: number): string {
  return n === 'psnr' ? v.toFixed(3) : v.toFixed(4);
}

function formatTable(
  rows: EvaluateRow[],
  mean: Partial<Record<MetricType, number>>,
  inputMean: Partial<Record<MetricType, number>> | undefined,
  names: MetricType[],
): string {
  const header = ['image', ...(inputMean ? names.map((n) => `input ${n}`) : []), ...names];
  const body = rows.map((r) => [r.name, ...(inputMean ? names.map((n) => fmt(n, r.input![n]!)) : []), ...names.map((n) => fmt(n, r.values[n]!))]);
  body.push(['mean', ...(inputMean ? names.map((n) => fmt(n, inputMean[n]!)) : []), ...names.map((n) => fmt(n, mean[n]!))]);
  const widths = header.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const line = (cells: string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.slice(0, -1).map(line),
    widths.map((w) => '-'.repeat(w)).join('  '),
    line(body[body.length - 1]!),
  ].join('\n');
}
