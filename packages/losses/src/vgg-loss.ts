import type * as tf from '@tensorflow/tfjs-core';
import { WeightsError, loadTorchStateDict, type LoadReport } from '@restorekit/core';
import { Loss, type LossOptions } from './loss.js';
import type { VGGFeatures } from './vgg-features.js';
import { notKeyOf, stateDictOf, type WeightSource } from './weight-source.js';

export interface VGGLossOptions extends LossOptions {
  /** Allow running with the randomly initialised VGG (tests only). Default false: `call` throws WeightsError until `loadWeights`. */
  allowRandomWeights?: boolean;
}

/**
 * Base of the losses that compare frozen VGG features (PerceptualLoss, IntraCRLoss): the VGG weights
 * come from the user, and a call before `loadWeights` is a WeightsError rather than a loss computed
 * with random features. Subclasses create `vgg` (frozen) after checking their options.
 */
export abstract class VGGFeatureLoss<O extends VGGLossOptions> extends Loss<O> {
  abstract readonly vgg: VGGFeatures;
  private loaded = false;

  /** What `loadWeights` needs, for the not-loaded error (e.g. 'torchvision vgg19 weights (features.0/2/5/7/10)'). */
  protected abstract weightsHint(): string;

  /**
   * Loads torchvision-named VGG weights (`features.<i>.weight/bias`) with core's `loadTorchStateDict`:
   * keys the selected layers do not use (deeper layers, `classifier.*`) are ignored; a missing or
   * mis-shaped one throws `WeightsError` naming it, before anything is written.
   */
  async loadWeights(src: WeightSource, opts: { prefix?: string } = {}): Promise<LoadReport> {
    if (!this.vgg.built) this.vgg.build([null, null, null, 3]);
    const prefix = opts.prefix ?? '';
    const r = await loadTorchStateDict(this.vgg, stateDictOf(src, `${this.type} VGG weights`), { prefix, strict: true, ignore: notKeyOf(this.vgg, prefix) });
    this.loaded = true;
    return r;
  }

  /** The VGG features of `batch` (one tensor per selected layer); WeightsError before `loadWeights`. Call inside a tidy. */
  protected features(batch: tf.Tensor): tf.Tensor[] {
    if (!this.loaded && !this.options.allowRandomWeights)
      throw new WeightsError(`${this.type}: VGG weights not loaded; call loadWeights(...) with ${this.weightsHint()}`);
    if (!this.vgg.built) this.vgg.build([null, null, null, 3]);
    const f = this.vgg.apply(batch) as tf.Tensor | tf.Tensor[];
    return Array.isArray(f) ? f : [f];
  }

  override dispose(): void {
    this.vgg.dispose();
  }
}
