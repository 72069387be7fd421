import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, detach } from '@restorekit/core';
import { noWeight, registerLoss, type LossInputs } from './loss.js';
import { checkNumber, checkPair } from './reduction.js';
import { VGGFeatures, vggLayerIndex, type VGGArch } from './vgg-features.js';
import { VGGFeatureLoss, type VGGLossOptions } from './vgg-loss.js';

export type PerceptualCriterion = 'l1' | 'l2';

export interface PerceptualLossOptions extends VGGLossOptions {
  /** 'vgg19' (BasicSR default) or 'vgg16'. */
  arch?: VGGArch;
  /** BasicSR `layer_weights`: `{ layer: weight }`, layers as BasicSR names ('relu3_1', 'pool3') or torchvision indices ('16'). Default `{ conv5_4: 1 }` (vgg19). */
  layerWeights?: Record<string, number>;
  /** ImageNet mean/std normalisation of [0, 1] inputs (BasicSR default true; FSDerain and DRCNet feed raw [0, 1] images: false). */
  inputNorm?: boolean;
  /** Map [−1, 1] to [0, 1] first. Default false. */
  rangeNorm?: boolean;
  /** 'l1' (mean absolute) or 'l2' (mean squared) feature distance. Default 'l1'. */
  criterion?: PerceptualCriterion;
}

function layerKey(l: string): number | string {
  return /^\d+$/.test(l) ? Number(l) : l;
}

/**
 * Perceptual loss (Johnson et al. 2016; BasicSR `PerceptualLoss` without the style term):
 * Σ_l w_l · criterion(φ_l(pred), φ_l(target)), φ = frozen torchvision VGG `features`, target features
 * detached. FSDerain: `{ arch: 'vgg16', layerWeights: { pool3: 1 }, inputNorm: false }`.
 * The VGG weights come from the user (`loadWeights(torchvision-named state dict or safetensors bytes)`).
 */
export class PerceptualLoss extends VGGFeatureLoss<PerceptualLossOptions> {
  static readonly type = 'PerceptualLoss';
  readonly vgg: VGGFeatures;
  readonly layerNames: string[];
  readonly weights: number[];

  constructor(options: PerceptualLossOptions = {}) {
    super(PerceptualLoss.type, options);
    const arch = options.arch ?? 'vgg19';
    if (arch !== 'vgg16' && arch !== 'vgg19') throw new ConfigError(`PerceptualLoss: arch must be 'vgg16' or 'vgg19', got ${JSON.stringify(arch)}`);
    const lw = options.layerWeights ?? { conv5_4: 1 };
    if (lw === null || typeof lw !== 'object' || Object.keys(lw).length === 0)
      throw new ConfigError(`PerceptualLoss: layerWeights must be a non-empty { layer: weight } object`);
    this.layerNames = Object.keys(lw);
    this.weights = this.layerNames.map((k) => checkNumber('PerceptualLoss', `layerWeights.${k}`, lw[k], 1));
    const crit = options.criterion ?? 'l1';
    if (crit !== 'l1' && crit !== 'l2') throw new ConfigError(`PerceptualLoss: criterion must be 'l1' or 'l2', got ${JSON.stringify(crit)}`);
    if (this.reduction === 'none')
      throw new ConfigError(`PerceptualLoss: reduction 'none' is not supported (features of different layers have different shapes); use 'mean' or 'sum'`);
    this.vgg = new VGGFeatures({
      arch,
      layers: this.layerNames.map((l) => vggLayerIndex(arch, layerKey(l))),
      inputNorm: options.inputNorm ?? true,
      rangeNorm: options.rangeNorm ?? false,
    });
    this.vgg.trainable = false;
  }

  protected weightsHint(): string {
    return `a torchvision ${this.vgg.options.arch} state dict (features.<i>.weight/bias)`;
  }

  /** The per-layer distances (unweighted) and the weighted sum. */
  terms(pred: tf.Tensor, target: tf.Tensor): { total: tf.Scalar; layers: tf.Scalar[] } {
    checkPair(this.type, pred, target);
    const layers = tf.tidy(() => {
      const n = pred.shape[0];
      return this.features(tf.concat([pred, detach(target)], 0)).map((f) => {
        const [a, b] = tf.split(f, [n, n], 0);
        const d = (this.options.criterion ?? 'l1') === 'l1' ? tf.abs(tf.sub(a!, detach(b!))) : tf.squaredDifference(a!, detach(b!));
        return (this.reduction === 'sum' ? tf.sum(d) : tf.mean(d)) as tf.Scalar;
      });
    });
    const total = tf.tidy(() => tf.addN(layers.map((l, i) => tf.mul(l, this.weights[i]!))) as tf.Scalar);
    return { total, layers };
  }

  protected compute(pred: tf.Tensor, target: tf.Tensor, inputs: LossInputs): tf.Tensor {
    noWeight(this.type, inputs);
    const { total, layers } = this.terms(pred, target);
    tf.dispose(layers);
    return total;
  }
}
registerLoss(PerceptualLoss.type, (o) => new PerceptualLoss(o));
