import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  ConfigError,
  ShapeError,
  fmtShape,
  opt,
  parseSafetensors,
  resolveOptions,
  serializeSafetensors,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { fromTorchLayout, hostCopy, toTorchLayout, torchShape, type NamedParam } from './params.js';

const OPTIONS = {
  /** Learning rate (PyTorch `lr`); a schedule given to the Trainer overrides it at every step. */
  lr: opt.number({ min: 0 }, 1e-3),
  /** [beta1, beta2], each in [0, 1) (PyTorch `betas`). */
  betas: opt.custom<[number, number]>(
    'a [beta1, beta2] pair of numbers in [0, 1)',
    (v) => (Array.isArray(v) && v.length === 2 && v.every((b) => typeof b === 'number' && b >= 0 && b < 1)) || 'each beta must be in [0, 1)',
    [0.9, 0.999],
  ),
  /** Added to sqrt(v̂) in the denominator (PyTorch `eps`). */
  eps: opt.number({ min: 0 }, 1e-8),
  /** Weight decay (PyTorch `weight_decay`): decoupled for AdamW, an L2 term added to the gradient for Adam. */
  weightDecay: opt.number({ min: 0 }, 0),
  /** The AMSGrad variant (PyTorch `amsgrad`): the denominator uses the running maximum of v. */
  amsgrad: opt.bool(false),
};
export type AdamOptions = OptionsInput<typeof OPTIONS>;
type Resolved = ResolvedOptions<typeof OPTIONS>;

/** The state PyTorch keeps per parameter (`optimizer.state[p]`): its own step count and the moment estimates. */
export interface AdamParamState {
  step: number;
  expAvg: tf.Tensor;
  expAvgSq: tf.Tensor;
  maxExpAvgSq?: tf.Tensor;
}

/** A host copy of an optimizer's state: per parameter name, the step and the moments in PyTorch's layout. */
export interface OptimizerStateDict {
  type: 'Adam' | 'AdamW';
  /** The hyperparameters (PyTorch's `param_groups[0]` minus `params`, with camelCase names). */
  options: Resolved;
  state: Record<string, { step: number; exp_avg: HostTensor; exp_avg_sq: HostTensor; max_exp_avg_sq?: HostTensor }>;
}
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * The optimizer interface the Trainer drives. `step` is tensor-to-tensor (sync): it updates each variable that has a
 * gradient in place and skips parameters whose gradient is null (as PyTorch skips `p.grad is None`: no decay, no
 * state update). `lr` is the learning rate of this update.
 */
export interface Optimizer {
  readonly type: string;
  lr: number;
  step(params: readonly NamedParam[], grads: readonly (tf.Tensor | null | undefined)[], lr?: number): void;
  stateDict(params: readonly NamedParam[]): Promise<OptimizerStateDict>;
  loadStateDict(sd: OptimizerStateDict, params: readonly NamedParam[]): void;
  dispose(): void;
}

/**
 * PyTorch's Adam family, `_single_tensor_adam` (torch/optim/adam.py), one parameter at a time:
 *
 *     step += 1
 *     AdamW:  p ← p · (1 − lr·wd)                    Adam: g ← g + wd·p
 *     m ← m + (1 − β1)·(g − m)                        (exp_avg.lerp_(grad, 1 − β1))
 *     v ← β2·v + (1 − β2)·g²
 *     v_max ← max(v_max, v)                           (amsgrad only; the denominator then uses v_max)
 *     p ← p − (lr / (1 − β1^step)) · m / (sqrt(v) / sqrt(1 − β2^step) + eps)
 *
 * Scalars (bias corrections, step size) are computed in float64 as Python does, the tensor arithmetic in float32.
 */
abstract class AdamFamily implements Optimizer {
  abstract readonly type: 'Adam' | 'AdamW';
  protected abstract readonly decoupled: boolean;
  readonly options: Resolved;
  lr: number;
  private readonly state = new Map<string, AdamParamState>();

  constructor(owner: string, options: AdamOptions | undefined, defaultWeightDecay: number) {
    const given = { ...(options ?? {}) } as Record<string, unknown>;
    if (given.weightDecay === undefined && !('weight_decay' in given)) given.weightDecay = defaultWeightDecay;
    this.options = resolveOptions(owner, OPTIONS, given);
    this.lr = this.options.lr;
  }

  /** The state of one parameter (undefined before its first update). The tensors belong to the optimizer. */
  paramState(name: string): Readonly<AdamParamState> | undefined {
    return this.state.get(name);
  }

  step(params: readonly NamedParam[], grads: readonly (tf.Tensor | null | undefined)[], lr = this.lr): void {
    if (params.length !== grads.length) throw new ConfigError(`${this.type}.step: ${params.length} parameters but ${grads.length} gradients`);
    if (!(Number.isFinite(lr) && lr >= 0)) throw new ConfigError(`${this.type}.step: lr must be a finite number ≥ 0, got ${lr}`);
    const [b1, b2] = this.options.betas;
    const { eps, weightDecay: wd, amsgrad } = this.options;
    params.forEach((p, i) => {
      const g = grads[i];
      if (g === null || g === undefined) return;
      const v = p.variable;
      if (g.shape.length !== v.shape.length || g.shape.some((d, k) => d !== v.shape[k]))
        throw new ShapeError(`${this.type}.step: gradient of '${p.name}' has shape ${fmtShape(g.shape)}, the parameter ${fmtShape(v.shape)}`);
      let s = this.state.get(p.name);
      if (!s) {
        s = { step: 0, expAvg: tf.zerosLike(v), expAvgSq: tf.zerosLike(v), maxExpAvgSq: amsgrad ? tf.zerosLike(v) : undefined };
        this.state.set(p.name, s);
      }
      const step = s.step + 1;
      const bc1 = 1 - b1 ** step;
      const bc2Sqrt = Math.sqrt(1 - b2 ** step);
      const stepSize = lr / bc1;
      const prev = s;
      const [m, vv, vmax] = tf.tidy(() => {
        let grad = g;
        let param: tf.Tensor = v;
        if (wd !== 0) {
          if (this.decoupled) param = tf.mul(param, 1 - lr * wd);
          else grad = tf.add(grad, tf.mul(param, wd));
        }
        const m = tf.add(prev.expAvg, tf.mul(tf.sub(grad, prev.expAvg), 1 - b1));
        const vv = tf.add(tf.mul(prev.expAvgSq, b2), tf.mul(tf.mul(grad, grad), 1 - b2));
        const vmax = prev.maxExpAvgSq ? tf.maximum(prev.maxExpAvgSq, vv) : undefined;
        const denom = tf.add(tf.div(tf.sqrt(vmax ?? vv), bc2Sqrt), eps);
        v.assign(tf.sub(param, tf.mul(tf.div(m, denom), stepSize)));
        return vmax ? [m, vv, vmax] : [m, vv];
      });
      prev.expAvg.dispose();
      prev.expAvgSq.dispose();
      prev.maxExpAvgSq?.dispose();
      this.state.set(p.name, { step, expAvg: m!, expAvgSq: vv!, maxExpAvgSq: vmax });
    });
  }

  /**
   * The state as host arrays: per parameter name its step, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`) in
   * PyTorch's layout (OIHW for convolutions), as PyTorch's `optimizer.state_dict()['state'][i]` holds them for the
   * i-th parameter of `model.parameters()`. Parameters not yet updated have no entry (as in PyTorch).
   */
  async stateDict(params: readonly NamedParam[]): Promise<OptimizerStateDict> {
    const state: OptimizerStateDict['state'] = {};
    for (const p of params) {
      const s = this.state.get(p.name);
      if (!s) continue;
      const host = async (t: tf.Tensor): Promise<HostTensor> => {
        const tt = toTorchLayout(t, p.layout);
        try {
          return { shape: torchShape(t.shape, p.layout), data: await hostCopy(tt) };
        } finally {
          tt.dispose();
        }
      };
      state[p.name] = {
        step: s.step,
        exp_avg: await host(s.expAvg),
        exp_avg_sq: await host(s.expAvgSq),
        ...(s.maxExpAvgSq ? { max_exp_avg_sq: await host(s.maxExpAvgSq) } : {}),
      };
    }
    return { type: this.type, options: JSON.parse(JSON.stringify(this.options)), state };
  }

  /** Replaces the state with a `stateDict()` (checked against the parameters' names and shapes first). */
  loadStateDict(sd: OptimizerStateDict, params: readonly NamedParam[]): void {
    if (sd.type !== this.type) throw new CheckpointError(`${this.type}.loadStateDict: the state is of a ${sd.type} optimizer`);
    const byName = new Map(params.map((p) => [p.name, p]));
    const problems: string[] = [];
    for (const [name, s] of Object.entries(sd.state)) {
      const p = byName.get(name);
      if (!p) {
        problems.push(`'${name}' is not a parameter of the model`);
        continue;
      }
      const want = torchShape(p.variable.shape, p.layout);
      for (const [k, t] of Object.entries(s)) {
        if (k === 'step') continue;
        const h = t as HostTensor;
        if (h.shape.length !== want.length || h.shape.some((d, i) => d !== want[i]) || h.data.length !== want.reduce((a, b) => a * b, 1))
          problems.push(`${k} of '${name}' has shape ${fmtShape(h.shape)}, the parameter ${fmtShape(want)}`);
      }
      if (!Number.isInteger(s.step) || s.step < 1) problems.push(`step of '${name}' is ${s.step}`);
      if (this.options.amsgrad && !s.max_exp_avg_sq) problems.push(`'${name}' has no max_exp_avg_sq (amsgrad is on)`);
    }
    if (problems.length) throw new CheckpointError(`${this.type}.loadStateDict: ${problems.join('; ')}`);
    this.clear();
    for (const [name, s] of Object.entries(sd.state)) {
      const p = byName.get(name)!;
      const dev = (h: HostTensor) => fromTorchLayout(h.data, p.variable.shape, p.layout);
      this.state.set(name, {
        step: s.step,
        expAvg: dev(s.exp_avg),
        expAvgSq: dev(s.exp_avg_sq),
        maxExpAvgSq: this.options.amsgrad ? dev(s.max_exp_avg_sq!) : undefined,
      });
    }
  }

  private clear(): void {
    for (const s of this.state.values()) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
      s.maxExpAvgSq?.dispose();
    }
    this.state.clear();
  }

  /** Frees the moment tensors. */
  dispose(): void {
    this.clear();
  }
}

/**
 * `torch.optim.AdamW` (decoupled weight decay, Loshchilov & Hutter): defaults lr 1e-3, betas [0.9, 0.999], eps 1e-8,
 * weightDecay 1e-2, as PyTorch. Restormer trains with `{ lr: 3e-4, betas: [0.9, 0.999], weightDecay: 1e-4 }`.
 */
export class AdamW extends AdamFamily {
  readonly type = 'AdamW' as const;
  protected readonly decoupled = true;
  constructor(options?: AdamOptions) {
    super('AdamW', options, 1e-2);
  }
}

/** `torch.optim.Adam`: `weightDecay` (default 0) is an L2 term added to the gradient before the moments. */
export class Adam extends AdamFamily {
  readonly type = 'Adam' as const;
  protected readonly decoupled = false;
  constructor(options?: AdamOptions) {
    super('Adam', options, 0);
  }
}

/** An optimizer of a `stateDict().type`, with its saved options. */
export function createOptimizer(type: 'Adam' | 'AdamW', options?: AdamOptions): Adam | AdamW {
  if (type === 'Adam') return new Adam(options);
  if (type === 'AdamW') return new AdamW(options);
  throw new ConfigError(`createOptimizer: unknown optimizer '${String(type)}' (Adam, AdamW)`);
}

/**
 * An optimizer state as safetensors bytes: tensors `exp_avg.<param>`, `exp_avg_sq.<param>` (and `max_exp_avg_sq.<param>`)
 * in PyTorch's layout, the steps and options as JSON in the metadata (`restorekit.optimizer`).
 */
export function serializeOptimizerState(sd: OptimizerStateDict): Uint8Array {
  const tensors: Record<string, HostTensor> = {};
  const steps: Record<string, number> = {};
  for (const [name, s] of Object.entries(sd.state)) {
    steps[name] = s.step;
    tensors[`exp_avg.${name}`] = s.exp_avg;
    tensors[`exp_avg_sq.${name}`] = s.exp_avg_sq;
    if (s.max_exp_avg_sq) tensors[`max_exp_avg_sq.${name}`] = s.max_exp_avg_sq;
  }
  return serializeSafetensors(tensors, { 'restorekit.optimizer': JSON.stringify({ type: sd.type, options: sd.options, steps }) });
}

/** Reads `serializeOptimizerState` bytes back. */
export function parseOptimizerState(bytes: Uint8Array, source = 'optimizer state'): OptimizerStateDict {
  const file = parseSafetensors(bytes, source);
  const raw = file.metadata['restorekit.optimizer'];
  if (!raw) throw new CheckpointError(`${source}: no 'restorekit.optimizer' metadata (not written by serializeOptimizerState)`);
  let meta: { type: 'Adam' | 'AdamW'; options: Resolved; steps: Record<string, number> };
  try {
    meta = JSON.parse(raw);
  } catch (e) {
    throw new CheckpointError(`${source}: 'restorekit.optimizer' metadata is not JSON (${(e as Error).message})`);
  }
  const state: OptimizerStateDict['state'] = {};
  const get = (k: string): HostTensor | undefined => {
    const t = file.tensors[k];
    return t ? { shape: t.shape, data: t.data } : undefined;
  };
  for (const [name, step] of Object.entries(meta.steps)) {
    const m = get(`exp_avg.${name}`);
    const v = get(`exp_avg_sq.${name}`);
    if (!m || !v) throw new CheckpointError(`${source}: parameter '${name}' has a step but no exp_avg / exp_avg_sq`);
    const vmax = get(`max_exp_avg_sq.${name}`);
    state[name] = { step, exp_avg: m, exp_avg_sq: v, ...(vmax ? { max_exp_avg_sq: vmax } : {}) };
  }
  return { type: meta.type, options: meta.options, state };
}
