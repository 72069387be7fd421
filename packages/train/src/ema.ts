import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, exportTorchStateDict, loadTorchStateDict, torchParameters, type TorchParam, type TorchTarget } from '@restorekit/core';

/**
 * Exponential moving average of a model's parameters, as BasicSR's `model_ema(decay)` (basicsr/models/sr_model.py):
 *
 *     ema ← decay · ema + (1 − decay) · w        for every parameter (`named_parameters()`: trainable or not)
 *
 * started as a copy of the weights (BasicSR calls `model_ema(0)` at init) and updated after every optimizer step.
 * Buffers (BatchNorm running statistics) are not averaged: `withWeights` swaps the averaged parameters into the model
 * and uses its current buffers. Restormer trains with decay 0.999.
 */
export class EMA {
  readonly decay: number;
  private readonly params: TorchParam[];
  private shadow: tf.Tensor[];

  constructor(
    readonly model: TorchTarget,
    options: { decay: number },
  ) {
    const decay = options?.decay;
    if (!(typeof decay === 'number' && decay >= 0 && decay < 1)) throw new ConfigError(`EMA: decay must be a number in [0, 1), got ${JSON.stringify(decay)}`);
    this.decay = decay;
    this.params = torchParameters(model).filter((p) => !p.buffer);
    this.shadow = this.params.map((p) => tf.clone(p.variable.read()));
  }

  /** The PyTorch names of the averaged parameters. */
  get names(): string[] {
    return this.params.map((p) => p.name);
  }

  /** One update: `ema ← decay·ema + (1 − decay)·w` (BasicSR's `mul_(decay).add_(w, alpha=1 − decay)`). */
  update(decay = this.decay): void {
    const next = tf.tidy(() => this.shadow.map((e, i) => tf.add(tf.mul(e, decay), tf.mul(this.params[i]!.variable.read(), 1 - decay))));
    tf.dispose(this.shadow);
    this.shadow = next;
  }

  /** Copies the model's current parameters into the average (`model_ema(0)`). */
  reset(): void {
    this.update(0);
  }

  /**
   * Runs `fn` with the averaged parameters in the model (validation, export), then puts the trained ones back exactly.
   * Do not train inside `fn`.
   */
  async withWeights<T>(fn: () => T | Promise<T>): Promise<T> {
    const saved = this.params.map((p) => tf.clone(p.variable.read()));
    this.params.forEach((p, i) => {
      (p.variable.read() as tf.Variable).assign(this.shadow[i]!);
    });
    try {
      return await fn();
    } finally {
      this.params.forEach((p, i) => {
        (p.variable.read() as tf.Variable).assign(saved[i]!);
      });
      tf.dispose(saved);
    }
  }

  /**
   * The averaged weights as a PyTorch state dict (`{ key: { shape, data } }`, every key of `exportTorchStateDict`:
   * averaged parameters, the model's current buffers), ready for `serializeSafetensors`.
   */
  async stateDict(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    return this.withWeights(() => exportTorchStateDict(this.model));
  }

  /**
   * Replaces the average with the parameters of a PyTorch state dict (host arrays such as `parseSafetensors(bytes).tensors`,
   * or tensors), loaded by name with core's strict loader; the model's own weights and buffers are left as they were.
   */
  async loadStateDict(stateDict: Record<string, unknown>): Promise<void> {
    const all = torchParameters(this.model);
    const saved = all.map((p) => tf.clone(p.variable.read()));
    try {
      await loadTorchStateDict(this.model, stateDict);
      tf.dispose(this.shadow);
      this.shadow = this.params.map((p) => tf.clone(p.variable.read()));
    } finally {
      all.forEach((p, i) => {
        (p.variable.read() as tf.Variable).assign(saved[i]!);
      });
      tf.dispose(saved);
    }
  }

  /** The averaged values in tfjs layout, in `names` order (owned by the EMA: do not dispose). */
  get tensors(): readonly tf.Tensor[] {
    return this.shadow;
  }

  dispose(): void {
    tf.dispose(this.shadow);
    this.shadow = [];
  }
}
