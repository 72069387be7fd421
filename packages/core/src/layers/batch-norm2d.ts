import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { ShapeError, fmtShape } from '../errors.js';
import { ones, zeros } from './init.js';
import { isRecomputing } from '../recompute.js';

const OPTIONS = {
  channels: opt.posInt(),
  eps: opt.number({ min: 0, exclusiveMin: true }, 1e-5),
  /** PyTorch momentum: running = (1 − m)·running + m·batch. */
  momentum: opt.number({ min: 0, max: 1 }, 0.1),
  affine: opt.bool(true),
};
export type BatchNorm2dOptions = OptionsInput<typeof OPTIONS>;

/**
 * PyTorch `nn.BatchNorm2d` in NHWC. Eval uses running statistics; training (`training: true`)
 * normalises with the biased batch variance and updates the running mean and the running
 * variance with the **unbiased** batch variance, and increments `num_batches_tracked`, as PyTorch does — once per
 * forward of a training step, also inside a block marked for recompute (whose forward runs again in the backward).
 */
export class BatchNorm2d extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>BatchNorm2d';
  static override optionsSchema = OPTIONS;
  gamma: tfl.LayerVariable | null = null;
  beta: tfl.LayerVariable | null = null;
  runningMean!: tfl.LayerVariable;
  runningVar!: tfl.LayerVariable;
  numBatchesTracked!: tfl.LayerVariable;

  constructor(opts: BatchNorm2dOptions & BlockArgs) {
    super(opts as never);
  }
  override build(_inputShape?: unknown): void {
    const c = this.options.channels;
    if (this.options.affine) {
      this.gamma = this.addTorchWeight('weight', [c], ones());
      this.beta = this.addTorchWeight('bias', [c], zeros());
    }
    this.runningMean = this.addTorchWeight('running_mean', [c], zeros(), { buffer: true });
    this.runningVar = this.addTorchWeight('running_var', [c], ones(), { buffer: true });
    this.numBatchesTracked = this.addTorchWeight('num_batches_tracked', [], zeros(), { buffer: true });
    this.built = true;
  }
  protected override expectedChannels() {
    return [this.options.channels];
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const eps = this.options.eps;
    let mean: tf.Tensor, variance: tf.Tensor;
    if (training) {
      const n = x.shape[0]! * x.shape[1]! * x.shape[2]!;
      if (n < 2) throw new ShapeError(`BatchNorm2d '${this.name}': training needs more than one value per channel, got input ${fmtShape(x.shape)}`);
      ({ mean, variance } = tf.moments(x, [0, 1, 2]));
      // Variable writes are not recorded on the gradient tape: statistics updates carry no gradient. A block marked
      // for recompute runs this forward twice per step (see setRecompute): the statistics are updated by the first run.
      if (!isRecomputing()) {
        const m = this.options.momentum;
        const unbiased = tf.mul(variance, n / (n - 1));
        this.runningMean.write(tf.add(tf.mul(this.runningMean.read(), 1 - m), tf.mul(mean, m)));
        this.runningVar.write(tf.add(tf.mul(this.runningVar.read(), 1 - m), tf.mul(unbiased, m)));
        this.numBatchesTracked.write(tf.add(this.numBatchesTracked.read(), 1));
      }
    } else {
      mean = this.runningMean.read();
      variance = this.runningVar.read();
    }
    let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    if (this.gamma && this.beta) y = tf.add(tf.mul(y, this.gamma.read()), this.beta.read());
    return y;
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(BatchNorm2d);
