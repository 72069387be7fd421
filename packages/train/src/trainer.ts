import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  BackendError,
  CheckpointError,
  ConfigError,
  DTypeError,
  ShapeError,
  exportTorchStateDict,
  fmtShape,
  loadTorchStateDict,
  opt,
  parseSafetensors,
  releaseAbandonedTape,
  resolveOptions,
  serializeSafetensors,
  setRecompute,
  type Block,
  type ResolvedOptions,
} from '@restorekit/core';
import { psnr, ssim } from '@restorekit/metrics';
import { clipGradNorm, globalNorm } from './clip.js';
import { EMA } from './ema.js';
import type { LogSink } from './log.js';
import { AdamW, createOptimizer, parseOptimizerState, serializeOptimizerState, type AdamOptions, type Optimizer } from './optimizers.js';
import { trainableParams, type NamedParam } from './params.js';
import type { Schedule } from './schedules.js';

/** A model the Trainer can train: a restorekit Block (a model of @restorekit/models, a Sequential, …) or a tf LayersModel of restorekit blocks. */
export type TrainModel = Block | tfl.LayersModel;

/** Tensors of one (micro-)batch, NHWC. `extra` holds further inputs of the loss (degradation labels, masks, the degraded image). */
export interface Batch {
  input: tf.Tensor | tf.Tensor[];
  target: tf.Tensor | tf.Tensor[];
  extra?: Record<string, tf.Tensor>;
}

/**
 * A loss as a function: `(outputs, target, extra) => scalar` or `=> { term: scalar, … }` (named terms, summed for the
 * gradient and logged one by one). `outputs` is a tensor for a single-output model and a list for several outputs.
 */
export type LossFunction = (
  outputs: tf.Tensor | tf.Tensor[],
  target: tf.Tensor | tf.Tensor[],
  extra: Record<string, tf.Tensor>,
) => tf.Tensor | Record<string, tf.Tensor>;
/** A loss object such as those of @restorekit/losses: `loss.call(pred, target, inputs)` returns a scalar (`inputs` gets `extra`). */
export interface LossObject {
  call(pred: tf.Tensor | tf.Tensor[], target: tf.Tensor, inputs?: Record<string, tf.Tensor | undefined>): tf.Tensor;
}
/** One loss, or several by term name (`{ l_pix: new L1Loss(), l_fft: new FFTLoss({ lossWeight: 0.1 }) }`), summed. */
export type LossSpec = LossFunction | LossObject | Record<string, LossFunction | LossObject>;

/**
 * A source of training batches whose randomness is saved in checkpoints: `next()` returns a new batch (the Trainer
 * disposes its tensors after the step), `getState()` a JSON value from which `setState()` continues the same sequence.
 */
export interface BatchSource {
  next(): Batch | Promise<Batch>;
  getState(): unknown;
  setState(state: unknown): void;
}

const OPTIONS = {
  /** Global-norm gradient clipping (`torch.nn.utils.clip_grad_norm_(params, max_norm)`); unset = no clipping. Restormer: 0.01. */
  clipGradNorm: opt.optional(opt.number({ min: 0, exclusiveMin: true })),
  /** EMA decay of the weights (BasicSR `ema_decay`); unset or 0 = no EMA. Restormer: 0.999. */
  ema: opt.optional(opt.number({ min: 0, max: 1 })),
  /** Micro-batches whose gradients are averaged before each optimizer step (gradient accumulation). */
  accumulate: opt.posInt(1),
  /** Write a log line every this many steps. */
  logEvery: opt.posInt(1),
  /** Gradient checkpointing of the model's repeated units (`setRecompute`). */
  recompute: opt.bool(false),
};
/** Options that are objects or functions (not JSON): validated by kind, not by the option schema. */
const OBJECT_OPTIONS = ['model', 'loss', 'optimizer', 'schedule', 'data', 'log', 'forward'] as const;

export interface TrainerOptions {
  model: TrainModel;
  loss: LossSpec;
  /** Default: `new AdamW()` (PyTorch defaults). */
  optimizer?: Optimizer;
  /** Learning rate per step (`schedules.ts`), or a constant; default: the optimizer's `lr`. */
  schedule?: Schedule | number;
  clipGradNorm?: number;
  ema?: number;
  accumulate?: number;
  /** Source of batches for `step()` without arguments; its state goes into checkpoints. */
  data?: BatchSource;
  /** JSONL log (`memorySink`, `fileSink`, `callbackSink`). */
  log?: LogSink;
  logEvery?: number;
  /** How to run the model (default `model.apply(input, { training })`). */
  forward?: (model: TrainModel, input: tf.Tensor | tf.Tensor[], training: boolean) => tf.Tensor | tf.Tensor[];
  /**
   * Gradient checkpointing (default false): `true` calls `setRecompute(model, true)` (@restorekit/core) once, so the
   * model's repeated units (transformer blocks, NAFBlocks, DFR blocks, …) keep only their inputs for the backward and
   * run their forward again there. Far less memory (an official AnyIR step on wasm fits at 128²), about 1.3× the
   * compute of a step, the same losses and updates. `false` leaves the model's blocks as they are.
   */
  recompute?: boolean;
}

/** What one `step` did. */
export interface StepResult {
  /** Optimizer updates done, this one included (BasicSR's `current_iter`). */
  step: number;
  /** Learning rate of this update. */
  lr: number;
  /** The total loss (sum of the terms), averaged over the micro-batches. */
  loss: number;
  /** Each loss term, averaged over the micro-batches. */
  terms: Record<string, number>;
  /** Global L2 norm of the (averaged) gradients before clipping. */
  gradNorm: number;
  /** Wall time of the step in milliseconds (batch fetch, forward, backward, update, reading the numbers back). */
  stepMs: number;
}

export interface ValidationPair {
  /** Model input, NHWC. */
  input: tf.Tensor | tf.Tensor[];
  /** Ground truth, NHWC or HWC, values in [0, dataRange]. */
  target: tf.Tensor;
}

const VALIDATE_OPTIONS = {
  /** Pixels removed from each border before measuring (BasicSR `crop_border`). */
  cropBorder: opt.int({ min: 0 }, 0),
  /** Measure on BT.601 Y (BasicSR `test_y_channel`). */
  testYChannel: opt.bool(false),
  /** Also compute SSIM (BasicSR's `calculate_ssim`). */
  ssim: opt.bool(true),
  /** Values outside [0, dataRange]: 'clip' (default: BasicSR's `tensor2img` clamps), 'error' or 'ignore'. */
  outOfRange: opt.enum(['clip', 'error', 'ignore'], 'clip'),
  dataRange: opt.number({ min: 0, exclusiveMin: true }, 1),
  /** With EMA on, validate the averaged weights (as BasicSR validates `net_g_ema`). */
  useEma: opt.bool(true),
};
export interface ValidateOptions {
  cropBorder?: number;
  testYChannel?: boolean;
  ssim?: boolean;
  outOfRange?: 'clip' | 'error' | 'ignore';
  dataRange?: number;
  useEma?: boolean;
  /** Which output of a multi-output model is the restored image (default: the first). */
  output?: (outputs: tf.Tensor[]) => tf.Tensor;
}

export interface ValidationResult {
  step: number;
  /** Mean PSNR over the images (dB), as BasicSR averages per-image values. */
  psnr: number;
  /** Mean SSIM over the images (NaN when `ssim: false`). */
  ssim: number;
  count: number;
  perImage: { psnr: number[]; ssim: number[] };
  /** Whether the EMA weights were measured. */
  ema: boolean;
}

/**
 * Everything needed to continue a run exactly, and to continue it in PyTorch: the weights and the EMA weights as
 * safetensors bytes with PyTorch `state_dict` keys (`load_file` → `model.load_state_dict`), the optimizer state
 * (`exp_avg.<key>`, `exp_avg_sq.<key>` in PyTorch layout, steps in the metadata), the schedule step, and the state of
 * the data source (its random generator).
 */
export interface TrainerCheckpoint {
  format: 'restorekit.train/1';
  /** Optimizer updates done; the schedule continues from here. */
  step: number;
  weights: Uint8Array;
  ema: Uint8Array | null;
  optimizer: Uint8Array;
  /** `data.getState()` at the time of the save, or null. */
  data: unknown;
  /** The run's settings (informative; `Trainer.resume` takes the options again). */
  settings: { accumulate: number; clipGradNorm: number | null; ema: number | null; optimizer: string };
}

const CHECKPOINT_FORMAT = 'restorekit.train/1';

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

function tensorsOf(b: Batch): tf.Tensor[] {
  const list = (x: tf.Tensor | tf.Tensor[]) => (Array.isArray(x) ? x : [x]);
  return [...list(b.input), ...list(b.target), ...Object.values(b.extra ?? {})];
}

function checkBatch(where: string, b: Batch): void {
  if (b === null || typeof b !== 'object') throw new ConfigError(`${where}: a batch is { input, target, extra? }, got ${b === null ? 'null' : typeof b}`);
  const check = (name: string, t: unknown) => {
    if (!isTensor(t))
      throw new DTypeError(`${where}: batch ${name} must be a tf.Tensor, got ${t === null ? 'null' : Array.isArray(t) ? 'an array' : typeof t}`);
  };
  for (const [k, v] of [
    ['input', b.input],
    ['target', b.target],
  ] as const) {
    if (Array.isArray(v))
      v.forEach((t, i) => {
        check(`${k}[${i}]`, t);
      });
    else check(k, v);
  }
  for (const [k, v] of Object.entries(b.extra ?? {})) check(`extra.${k}`, v);
}

/** Splits a batch into k micro-batches along axis 0 (tensors of `extra` whose first axis is the batch are split too). */
function splitBatch(where: string, b: Batch, k: number): Batch[] {
  const first = Array.isArray(b.input) ? b.input[0]! : b.input;
  const n = first.shape[0]!;
  if (first.rank === 0 || n % k !== 0)
    throw new ShapeError(
      `${where}: accumulate = ${k} splits a batch into ${k} micro-batches, but the batch size is ${first.rank ? n : 'undefined'} (input shape ${fmtShape(first.shape)})`,
    );
  const split = (t: tf.Tensor) => {
    if (t.shape[0] !== n) throw new ShapeError(`${where}: cannot split a tensor of shape ${fmtShape(t.shape)} into micro-batches of a batch of ${n}`);
    return tf.split(t, k, 0);
  };
  const parts = (x: tf.Tensor | tf.Tensor[]) => (Array.isArray(x) ? x.map(split) : split(x));
  const ins = parts(b.input);
  const tgs = parts(b.target);
  const extras = Object.entries(b.extra ?? {}).map(([key, t]) => [key, t.rank > 0 && t.shape[0] === n ? split(t) : null, t] as const);
  const pick = (x: tf.Tensor[] | tf.Tensor[][], i: number) => (Array.isArray(x[0]) ? (x as tf.Tensor[][]).map((p) => p[i]!) : (x as tf.Tensor[])[i]!);
  const out: Batch[] = [];
  for (let i = 0; i < k; i++) {
    const extra: Record<string, tf.Tensor> = {};
    // Unsplit extras (one value for the whole batch) are cloned so every micro-batch owns its tensors.
    for (const [key, s, t] of extras) extra[key] = s ? s[i]! : tf.clone(t);
    out.push({ input: pick(ins, i), target: pick(tgs, i), ...(b.extra ? { extra } : {}) });
  }
  return out;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Runs a training step's forward and backward; on tfjs-backend-wasm a WebAssembly trap from it — what exhausting the
 * backend's 4 GB heap looks like: "memory access out of bounds" where a failed allocation was written to, "Aborted()"
 * after XNNPACK's out-of-memory status — becomes a BackendError that says so and what to do. tfjs keeps every
 * intermediate of the forward for the backward: one step of the official AnyIR at 128² holds 7.2 GB of tensors without
 * `recompute` (0.95 GB with it). The trap cannot be undone: the wasm heap is not usable after it.
 */
export function wasmHeapGuard<T>(op: string, recompute: boolean, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (tf.getBackend() !== 'wasm' || !(e instanceof WebAssembly.RuntimeError)) throw e;
    throw new BackendError(
      `${op}: the step ran out of tfjs-backend-wasm's 4 GB heap (WebAssembly trap: ${e.message}); tfjs keeps every forward intermediate for the backward, so ${
        recompute ? '' : 'set recompute: true (gradient checkpointing), or '
      }train on smaller patches or batches, or on the tensorflow backend (tfjs-node). The wasm backend's memory is not usable after this trap: restart the process or reload the page.`,
    );
  }
}

/**
 * Trains a restorekit model the way BasicSR / Restormer do, in JavaScript: forward, loss, backward, (accumulated)
 * gradients, global-norm clipping, an AdamW / Adam update with the step's learning rate, an EMA update; validation with
 * BasicSR's PSNR / SSIM on the EMA weights; JSONL logs; checkpoints that resume bit for bit on the cpu backend and load
 * in PyTorch.
 *
 *     const trainer = new Trainer({ model, loss: new L1Loss(), optimizer: new AdamW({ lr: 3e-4, weightDecay: 1e-4 }),
 *       schedule: cosineAnnealingRestartCyclicLR({ lr: 3e-4, periods: [92000, 208000], restartWeights: [1, 1], etaMins: [3e-4, 1e-6] }),
 *       clipGradNorm: 0.01, ema: 0.999 });
 *     const { loss, lr, gradNorm } = await trainer.step({ input, target });
 */
export class Trainer {
  readonly model: TrainModel;
  readonly optimizer: Optimizer;
  /** The parameters the optimizer updates (PyTorch names), in state_dict order. */
  readonly params: readonly NamedParam[];
  readonly ema: EMA | null;
  readonly options: ResolvedOptions<typeof OPTIONS>;
  readonly data: BatchSource | null;
  /** How many blocks the `recompute` option marked (0 without it). */
  readonly recomputed: number;
  private readonly loss: LossSpec;
  private readonly schedule: Schedule;
  private readonly log: LogSink | null;
  private readonly forwardFn: NonNullable<TrainerOptions['forward']>;
  private globalStep_ = 0;

  constructor(options: TrainerOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('Trainer: options must be an object { model, loss, … }');
    this.options = resolveOptions('Trainer', OPTIONS, options, OBJECT_OPTIONS);
    const { model, loss, optimizer, schedule, data, log, forward } = options;
    if (!model || typeof (model as { apply?: unknown }).apply !== 'function')
      throw new ConfigError('Trainer: option model must be a restorekit Block or a tf LayersModel');
    this.model = model;
    if (!loss || (typeof loss !== 'function' && typeof loss !== 'object'))
      throw new ConfigError('Trainer: option loss must be a function, a loss object (loss.call(pred, target)) or a { term: loss } record');
    if (typeof loss === 'object' && typeof (loss as LossObject).call !== 'function') {
      const bad = Object.entries(loss).filter(([, l]) => typeof l !== 'function' && !(l && typeof (l as LossObject).call === 'function'));
      if (bad.length || Object.keys(loss).length === 0)
        throw new ConfigError(
          `Trainer: loss terms ${bad.map(([k]) => `'${k}'`).join(', ') || '(none)'} are not losses (a function or an object with call(pred, target))`,
        );
    }
    this.loss = loss;
    if (optimizer !== undefined && (typeof optimizer !== 'object' || typeof optimizer.step !== 'function' || typeof optimizer.stateDict !== 'function'))
      throw new ConfigError('Trainer: option optimizer must be an Optimizer (AdamW, Adam)');
    this.optimizer = optimizer ?? new AdamW();
    if (schedule === undefined) this.schedule = () => this.optimizer.lr;
    else if (typeof schedule === 'number') {
      if (!(schedule >= 0 && Number.isFinite(schedule))) throw new ConfigError(`Trainer: a constant schedule must be a finite number ≥ 0, got ${schedule}`);
      this.schedule = () => schedule;
    } else if (typeof schedule === 'function') this.schedule = schedule;
    else throw new ConfigError('Trainer: option schedule must be a function of the step or a number');
    if (
      data !== undefined &&
      (typeof data !== 'object' ||
        data === null ||
        typeof data.next !== 'function' ||
        typeof data.getState !== 'function' ||
        typeof data.setState !== 'function')
    )
      throw new ConfigError('Trainer: option data must be a BatchSource { next(), getState(), setState() }');
    this.data = data ?? null;
    if (log !== undefined && (typeof log !== 'object' || log === null || typeof log.write !== 'function'))
      throw new ConfigError('Trainer: option log must be a LogSink { write(line) }');
    this.log = log ?? null;
    if (forward !== undefined && typeof forward !== 'function')
      throw new ConfigError('Trainer: option forward must be a function (model, input, training) => outputs');
    this.forwardFn = forward ?? ((m, x, training) => m.apply(x, { training }) as tf.Tensor | tf.Tensor[]);
    this.params = trainableParams(model);
    this.recomputed = this.options.recompute ? setRecompute(model, true) : 0;
    this.ema = this.options.ema ? new EMA(model, { decay: this.options.ema }) : null;
  }

  /** Optimizer updates done so far (the schedule's step). */
  get globalStep(): number {
    return this.globalStep_;
  }

  /** The learning rate of the next update. */
  get lr(): number {
    return this.schedule(this.globalStep_);
  }

  private lossTerms(out: tf.Tensor | tf.Tensor[], target: tf.Tensor | tf.Tensor[], extra: Record<string, tf.Tensor>): [string, tf.Tensor][] {
    const callOne = (l: LossFunction | LossObject) => (typeof l === 'function' ? l(out, target, extra) : l.call(out, target as tf.Tensor, extra));
    const asTerms = (name: string, r: tf.Tensor | Record<string, tf.Tensor>): [string, tf.Tensor][] =>
      isTensor(r) ? [[name, r]] : Object.entries(r).map(([k, t]) => [name === 'loss' ? k : `${name}.${k}`, t] as [string, tf.Tensor]);
    const single = typeof this.loss === 'function' || typeof (this.loss as LossObject).call === 'function';
    const terms = single
      ? asTerms('loss', callOne(this.loss as LossFunction | LossObject))
      : Object.entries(this.loss as Record<string, LossFunction | LossObject>).flatMap(([k, l]) => asTerms(k, callOne(l)));
    if (terms.length === 0) throw new ConfigError('Trainer: the loss returned no terms');
    for (const [k, t] of terms) {
      if (!isTensor(t)) throw new DTypeError(`Trainer: loss term '${k}' must be a tf.Tensor, got ${typeof t}`);
      if (t.size !== 1) throw new ShapeError(`Trainer: loss term '${k}' must be a scalar, got shape ${fmtShape(t.shape)} (use reduction 'mean' or 'sum')`);
    }
    return terms;
  }

  /** Forward + backward on one micro-batch: gradients per parameter (null where none) and the loss terms. */
  private gradients(b: Batch): { grads: (tf.Tensor | null)[]; terms: Map<string, tf.Tensor> } {
    const terms = new Map<string, tf.Tensor>();
    const vars = this.params.map((p) => p.variable);
    let result: ReturnType<typeof tf.variableGrads>;
    try {
      result = tf.variableGrads(() => {
        const out = this.forwardFn(this.model, b.input, true);
        const t = this.lossTerms(out, b.target, b.extra ?? {});
        for (const [k, v] of t) {
          const s = v.rank === 0 ? v : tf.reshape(v, []);
          if (terms.has(k)) throw new ConfigError(`Trainer: two loss terms are named '${k}'`);
          terms.set(k, tf.keep(s));
        }
        const list = [...terms.values()];
        return (list.length === 1 ? list[0]! : tf.addN(list)) as tf.Scalar;
      }, vars);
    } catch (e) {
      tf.dispose([...terms.values()]);
      releaseAbandonedTape();
      throw e;
    }
    const { value, grads } = result;
    if (![...terms.values()].includes(value)) value.dispose();
    return { grads: vars.map((v) => grads[v.name] ?? null), terms };
  }

  /**
   * One optimizer update. `batch`: one batch (split into `accumulate` micro-batches along axis 0 when accumulating), a
   * list of `accumulate` micro-batches, or nothing (the next `accumulate` batches of `data`). The caller's tensors are
   * left alone; batches drawn from `data` are disposed.
   */
  async step(batch?: Batch | Batch[]): Promise<StepResult> {
    const t0 = now();
    const k = this.options.accumulate;
    const owned: tf.Tensor[] = [];
    let micro: Batch[];
    try {
      if (batch === undefined) {
        if (!this.data) throw new ConfigError('Trainer.step: no batch given and no data source (option data)');
        micro = [];
        for (let i = 0; i < k; i++) {
          const b = await this.data.next();
          checkBatch('Trainer.step', b);
          owned.push(...tensorsOf(b));
          micro.push(b);
        }
      } else if (Array.isArray(batch)) {
        if (batch.length !== k) throw new ConfigError(`Trainer.step: got ${batch.length} micro-batches, accumulate is ${k}`);
        batch.forEach((b) => {
          checkBatch('Trainer.step', b);
        });
        micro = batch;
      } else {
        checkBatch('Trainer.step', batch);
        if (k === 1) micro = [batch];
        else {
          micro = splitBatch('Trainer.step', batch, k);
          owned.push(...micro.flatMap(tensorsOf));
        }
      }
      const lr = this.schedule(this.globalStep_);
      if (!(Number.isFinite(lr) && lr >= 0)) throw new ConfigError(`Trainer.step: the schedule gave lr ${lr} at step ${this.globalStep_}`);
      let sum: (tf.Tensor | null)[] = this.params.map(() => null);
      const termSum = new Map<string, tf.Tensor>();
      for (const b of micro) {
        let step: ReturnType<Trainer['gradients']>;
        try {
          step = wasmHeapGuard('Trainer.step', this.options.recompute, () => this.gradients(b));
        } catch (e) {
          // a later micro-batch failed: the earlier ones' summed gradients and loss terms go too
          tf.dispose([...sum.filter(isTensor), ...termSum.values()]);
          throw e;
        }
        const { grads, terms } = step;
        sum = sum.map((s, i) => {
          const g = grads[i];
          if (!g) return s;
          if (!s) return g;
          const r = tf.add(s, g);
          s.dispose();
          g.dispose();
          return r;
        });
        for (const [name, t] of terms) {
          const prev = termSum.get(name);
          if (!prev) termSum.set(name, t);
          else {
            termSum.set(name, tf.add(prev, t));
            prev.dispose();
            t.dispose();
          }
        }
      }
      let grads = sum;
      if (k > 1) {
        grads = sum.map((g) => (g ? tf.div(g, k) : null));
        tf.dispose(sum.filter(isTensor));
      }
      let norm: tf.Scalar;
      if (this.options.clipGradNorm !== undefined) {
        const c = clipGradNorm(grads, this.options.clipGradNorm);
        tf.dispose(grads.filter(isTensor));
        grads = c.grads;
        norm = c.norm;
      } else norm = globalNorm(grads);
      try {
        this.optimizer.step(this.params, grads, lr);
      } finally {
        tf.dispose(grads.filter(isTensor));
      }
      this.ema?.update();
      this.globalStep_++;
      const names = [...termSum.keys()];
      const values = await Promise.all([...termSum.values(), norm].map((t) => t.data()));
      tf.dispose([...termSum.values(), norm]);
      const terms = Object.fromEntries(names.map((n, i) => [n, values[i]![0]! / k]));
      const result: StepResult = {
        step: this.globalStep_,
        lr,
        loss: Object.values(terms).reduce((a, b) => a + b, 0),
        terms,
        gradNorm: values[names.length]![0]!,
        stepMs: now() - t0,
      };
      if (this.log && this.globalStep_ % this.options.logEvery === 0) await this.log.write(JSON.stringify({ kind: 'train', ...result }));
      return result;
    } finally {
      tf.dispose(owned);
    }
  }

  /**
   * PSNR and SSIM (@restorekit/metrics: BasicSR's `calculate_psnr` / `calculate_ssim`) of the model's outputs on
   * validation pairs, with the EMA weights when EMA is on (BasicSR validates `net_g_ema`). Outputs are clamped to
   * [0, dataRange] first (BasicSR's `tensor2img`), unless `outOfRange` says otherwise.
   */
  async validate(pairs: Iterable<ValidationPair> | AsyncIterable<ValidationPair>, options: ValidateOptions = {}): Promise<ValidationResult> {
    const o = resolveOptions('Trainer.validate', VALIDATE_OPTIONS, options, ['output']);
    const pickOut = options.output ?? ((outs: tf.Tensor[]) => outs[0]!);
    const metricOpts = { cropBorder: o.cropBorder, testYChannel: o.testYChannel, outOfRange: o.outOfRange, dataRange: o.dataRange };
    const run = async () => {
      const perImage = { psnr: [] as number[], ssim: [] as number[] };
      for await (const p of pairs as AsyncIterable<ValidationPair>) {
        if (!p || !isTensor(p.target)) throw new DTypeError('Trainer.validate: each pair is { input, target } with tensor values');
        const pred = tf.tidy(() => {
          const out = this.forwardFn(this.model, p.input, false);
          return Array.isArray(out) ? pickOut(out) : out;
        });
        try {
          perImage.psnr.push(...(await psnr(pred, p.target, metricOpts)));
          if (o.ssim) perImage.ssim.push(...(await ssim(pred, p.target, metricOpts)));
        } finally {
          pred.dispose();
        }
      }
      return perImage;
    };
    const useEma = this.ema !== null && o.useEma;
    const perImage = useEma ? await this.ema!.withWeights(run) : await run();
    const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);
    const result: ValidationResult = {
      step: this.globalStep_,
      psnr: mean(perImage.psnr),
      ssim: mean(perImage.ssim),
      count: perImage.psnr.length,
      perImage,
      ema: useEma,
    };
    if (this.log)
      await this.log.write(
        JSON.stringify({ kind: 'validation', step: result.step, psnr: result.psnr, ssim: result.ssim, count: result.count, ema: result.ema }),
      );
    return result;
  }

  /** The weights (or, with `{ ema: true }`, the EMA weights) as safetensors bytes with PyTorch `state_dict` keys. */
  async exportWeights(options: { ema?: boolean } = {}): Promise<Uint8Array> {
    if (options.ema && !this.ema) throw new ConfigError('Trainer.exportWeights: { ema: true } but the Trainer has no EMA (option ema)');
    const sd = options.ema ? await this.ema!.stateDict() : await exportTorchStateDict(this.model);
    return serializeSafetensors(sd, { format: 'pt' });
  }

  /** A checkpoint of the run (see `TrainerCheckpoint`). */
  async saveCheckpoint(): Promise<TrainerCheckpoint> {
    const dataState = this.data ? this.data.getState() : null;
    return {
      format: CHECKPOINT_FORMAT,
      step: this.globalStep_,
      weights: await this.exportWeights(),
      ema: this.ema ? await this.exportWeights({ ema: true }) : null,
      optimizer: serializeOptimizerState(await this.optimizer.stateDict(this.params)),
      data: dataState === undefined ? null : JSON.parse(JSON.stringify(dataState)),
      settings: {
        accumulate: this.options.accumulate,
        clipGradNorm: this.options.clipGradNorm ?? null,
        ema: this.options.ema ?? null,
        optimizer: this.optimizer.type,
      },
    };
  }

  /**
   * Restores a checkpoint into this Trainer: weights (strict, by PyTorch name), EMA weights (a checkpoint without them
   * restarts the average from the loaded weights, as BasicSR's `model_ema(0)`), optimizer state, step and data state.
   */
  async loadCheckpoint(ckpt: TrainerCheckpoint): Promise<void> {
    if (!ckpt || ckpt.format !== CHECKPOINT_FORMAT)
      throw new CheckpointError(`Trainer.loadCheckpoint: not a ${CHECKPOINT_FORMAT} checkpoint (format ${JSON.stringify(ckpt?.format)})`);
    if (!Number.isInteger(ckpt.step) || ckpt.step < 0) throw new CheckpointError(`Trainer.loadCheckpoint: step must be an integer ≥ 0, got ${ckpt.step}`);
    const optState = parseOptimizerState(ckpt.optimizer, 'checkpoint optimizer');
    if (optState.type !== this.optimizer.type)
      throw new CheckpointError(`Trainer.loadCheckpoint: the checkpoint holds ${optState.type} state, this Trainer's optimizer is ${this.optimizer.type}`);
    await loadTorchStateDict(this.model, parseSafetensors(ckpt.weights, 'checkpoint weights').tensors);
    if (this.ema) {
      if (ckpt.ema) await this.ema.loadStateDict(parseSafetensors(ckpt.ema, 'checkpoint EMA weights').tensors);
      else this.ema.reset();
    }
    this.optimizer.loadStateDict(optState, this.params);
    this.globalStep_ = ckpt.step;
    if (this.data && ckpt.data !== null && ckpt.data !== undefined) this.data.setState(JSON.parse(JSON.stringify(ckpt.data)));
  }

  /**
   * A Trainer that continues a checkpointed run: `options` as for the constructor (model, loss, schedule, data, …);
   * without `optimizer`, one of the checkpoint's kind with its saved hyperparameters is made.
   */
  static async resume(ckpt: TrainerCheckpoint, options: TrainerOptions): Promise<Trainer> {
    let optimizer = options.optimizer;
    if (!optimizer) {
      const st = parseOptimizerState(ckpt.optimizer, 'checkpoint optimizer');
      optimizer = createOptimizer(st.type, st.options as AdamOptions);
    }
    const trainer = new Trainer({ ...options, optimizer });
    await trainer.loadCheckpoint(ckpt);
    return trainer;
  }

  /** Frees the optimizer state and the EMA weights (the model is the caller's). */
  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}

/**
 * One file for a checkpoint: a safetensors file whose tensors are `params.<key>` (weights), `params_ema.<key>` (EMA,
 * BasicSR's names) and `optimizer.<exp_avg|exp_avg_sq>.<key>`, with the step, data state and settings as JSON metadata.
 * In PyTorch: `sd = load_file(path)`; `{k[7:]: v for k, v in sd.items() if k.startswith('params.')}` is the state dict.
 */
export function encodeCheckpoint(ckpt: TrainerCheckpoint): Uint8Array {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const add = (prefix: string, bytes: Uint8Array, what: string) => {
    const f = parseSafetensors(bytes, what);
    for (const [k, t] of Object.entries(f.tensors)) tensors[prefix + k] = { shape: t.shape, data: t.data };
    return f.metadata;
  };
  add('params.', ckpt.weights, 'checkpoint weights');
  if (ckpt.ema) add('params_ema.', ckpt.ema, 'checkpoint EMA weights');
  const optMeta = add('optimizer.', ckpt.optimizer, 'checkpoint optimizer');
  return serializeSafetensors(tensors, {
    'restorekit.train': JSON.stringify({ format: ckpt.format, step: ckpt.step, data: ckpt.data, settings: ckpt.settings, ema: ckpt.ema !== null }),
    'restorekit.optimizer': optMeta['restorekit.optimizer'] ?? '',
  });
}

/** Reads `encodeCheckpoint` bytes back. */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): TrainerCheckpoint {
  const f = parseSafetensors(bytes, source);
  const raw = f.metadata['restorekit.train'];
  if (!raw) throw new CheckpointError(`${source}: no 'restorekit.train' metadata (not written by encodeCheckpoint)`);
  let meta: { format: string; step: number; data: unknown; settings: TrainerCheckpoint['settings']; ema: boolean };
  try {
    meta = JSON.parse(raw);
  } catch (e) {
    throw new CheckpointError(`${source}: 'restorekit.train' metadata is not JSON (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${source}: format ${JSON.stringify(meta.format)} is not ${CHECKPOINT_FORMAT}`);
  const part = (prefix: string) =>
    Object.fromEntries(
      Object.entries(f.tensors)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, t]) => [k.slice(prefix.length), { shape: t.shape, data: t.data }]),
    );
  return {
    format: CHECKPOINT_FORMAT,
    step: meta.step,
    weights: serializeSafetensors(part('params.'), { format: 'pt' }),
    ema: meta.ema ? serializeSafetensors(part('params_ema.'), { format: 'pt' }) : null,
    optimizer: serializeSafetensors(part('optimizer.'), { 'restorekit.optimizer': f.metadata['restorekit.optimizer'] ?? '' }),
    data: meta.data,
    settings: meta.settings,
  };
}
