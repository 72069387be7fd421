import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, ShapeError, opt, resolveOptions, type ResolvedOptions } from '@restorekit/core';
import { checkImage, type Degradation, type DegradationLabel, type HostImage } from './degrade.js';
import { Rng, type RngState } from './rng.js';
import type { Batch, BatchSource } from './trainer.js';

/** One training example: a ground truth and, for paired data, its degraded input of the same size. */
export interface ImagePair {
  gt: HostImage;
  lq?: HostImage;
}

/** Where a patch came from and how it was transformed (BasicSR `augment`'s flags). */
export interface PatchInfo {
  index: number;
  top: number;
  left: number;
  hflip: boolean;
  vflip: boolean;
  rot90: boolean;
}

/** Crops a patch (top, left, size) of a host image. */
export function cropImage(img: HostImage, top: number, left: number, size: number): HostImage {
  const [h, w, c] = checkImage('cropImage', img);
  if (top < 0 || left < 0 || top + size > h || left + size > w)
    throw new ShapeError(`cropImage: a ${size}×${size} patch at (${top}, ${left}) does not fit a ${h}×${w} image`);
  const out = new Float32Array(size * size * c);
  for (let y = 0; y < size; y++) out.set(img.data.subarray(((top + y) * w + left) * c, ((top + y) * w + left + size) * c), y * size * c);
  return { data: out, shape: [size, size, c] };
}

/** The 6 orders of an RGB image's channels, identity first (the order the shipped model's training lists them in). */
export const RGB_PERMUTATIONS: readonly (readonly [number, number, number])[] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** An RGB image with its channels reordered: output channel k is input channel `order[k]`. */
export function permuteChannels(img: HostImage, order: readonly [number, number, number]): HostImage {
  const [, , c] = checkImage('permuteChannels', img);
  if (c !== 3) throw new ShapeError(`permuteChannels: an RGB image has 3 channels, this one ${c}`);
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = img.data[i + order[0]]!;
    out[i + 1] = img.data[i + order[1]]!;
    out[i + 2] = img.data[i + order[2]]!;
  }
  return { data: out, shape: img.shape };
}

/**
 * BasicSR's `augment(imgs, hflip, rotation)` on one image: horizontal flip (`cv2.flip(img, 1)`), vertical flip
 * (`cv2.flip(img, 0)`), then `rot90`, which BasicSR implements as a transpose of H and W (`img.transpose(1, 0, 2)`).
 */
export function augmentImage(img: HostImage, hflip: boolean, vflip: boolean, rot90: boolean): HostImage {
  const [h, w, c] = checkImage('augmentImage', img);
  const oh = rot90 ? w : h;
  const ow = rot90 ? h : w;
  const out = new Float32Array(img.data.length);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      // Output (y, x) of the transpose reads the flipped image at (x, y).
      let sy = rot90 ? x : y;
      let sx = rot90 ? y : x;
      if (vflip) sy = h - 1 - sy;
      if (hflip) sx = w - 1 - sx;
      const src = (sy * w + sx) * c;
      const dst = (y * ow + x) * c;
      for (let k = 0; k < c; k++) out[dst + k] = img.data[src + k]!;
    }
  return { data: out, shape: [oh, ow, c] };
}

const OPTIONS = {
  /** Side of the square training patches (BasicSR `gt_size`). */
  patchSize: opt.posInt(),
  /** Patches per batch. */
  batchSize: opt.posInt(),
  /** Seed of the sampler's generator (order, crops, flips, degradations). */
  seed: opt.int({ min: 0 }, 0),
  /** Random horizontal flips (BasicSR `use_hflip`). */
  hflip: opt.bool(true),
  /** Random vertical flips and H/W transposes (BasicSR `use_rot`). */
  rotation: opt.bool(true),
};
export interface PatchSamplerOptions {
  images: ImagePair[];
  patchSize: number;
  batchSize: number;
  seed?: number;
  hflip?: boolean;
  rotation?: boolean;
  /** Makes the input of each patch from its ground truth (when the pairs have no `lq`), with the sampler's generator. */
  degrade?: Degradation;
  /**
   * Turns the degradation labels of a batch into `extra` tensors for the loss (e.g. σ per image as a [B, C] tensor).
   * Default: none (the labels are still in `lastLabels`).
   */
  labels?: (labels: DegradationLabel[]) => Record<string, tf.Tensor>;
}

/** The sampler's position: its generator, the current epoch's order and the next index in it. */
export interface PatchSamplerState {
  rng: RngState;
  order: number[];
  position: number;
  epoch: number;
}

/**
 * Random training patches from in-memory images, as BasicSR's paired dataset with a shuffling sampler: each epoch
 * visits every image once in a seeded random order; each visit crops a random `patchSize` square
 * (`paired_random_crop`, the same window in gt and lq) and applies BasicSR's `augment` (hflip, vflip, transpose, each
 * with probability ½). Unpaired images get their input from `degrade(gtPatch, rng)` after the crop and flips.
 * Everything is drawn from one seeded `Rng`, whose state — with the epoch's order and position — is `getState()`,
 * so a `Trainer` checkpoint resumes the exact batch sequence. `next()` returns NHWC float32 tensors
 * `{ input, target, extra }`, owned by the caller (the Trainer disposes them).
 */
export class PatchSampler implements BatchSource {
  readonly options: ResolvedOptions<typeof OPTIONS>;
  private readonly images: ImagePair[];
  private readonly degrade?: Degradation;
  private readonly toExtra?: PatchSamplerOptions['labels'];
  private rng: Rng;
  private order: number[] = [];
  private position = 0;
  private epoch = 0;
  private readonly channels: number;
  /** The labels of the last batch's degradations (one per patch), and where each patch came from. */
  lastLabels: DegradationLabel[] = [];
  lastPatches: PatchInfo[] = [];

  constructor(options: PatchSamplerOptions) {
    if (!options || typeof options !== 'object') throw new ConfigError('PatchSampler: options must be an object { images, patchSize, batchSize, … }');
    this.options = resolveOptions('PatchSampler', OPTIONS, options, ['images', 'degrade', 'labels']);
    const { images, degrade, labels } = options;
    if (!Array.isArray(images) || images.length === 0) throw new ConfigError('PatchSampler: images must be a non-empty list of { gt, lq? }');
    if (degrade !== undefined && typeof degrade !== 'function')
      throw new ConfigError('PatchSampler: degrade must be a degradation function (gaussianNoise(...), compose(...), …)');
    if (labels !== undefined && typeof labels !== 'function') throw new ConfigError('PatchSampler: labels must be a function (labels) => { name: tensor }');
    const p = this.options.patchSize;
    let channels = -1;
    images.forEach((pair, i) => {
      const [h, w, c] = checkImage(`PatchSampler: images[${i}].gt`, pair.gt);
      if (h < p || w < p) throw new ShapeError(`PatchSampler: images[${i}] is ${h}×${w}, smaller than the ${p}×${p} patches`);
      if (pair.lq) {
        const [lh, lw, lc] = checkImage(`PatchSampler: images[${i}].lq`, pair.lq);
        if (lh !== h || lw !== w) throw new ShapeError(`PatchSampler: images[${i}].lq is ${lh}×${lw}, its gt ${h}×${w} (paired crops need equal sizes)`);
        void lc;
      } else if (!degrade) throw new ConfigError(`PatchSampler: images[${i}] has no lq and there is no degrade function to make one`);
      if (channels === -1) channels = c;
      else if (channels !== c) throw new ShapeError(`PatchSampler: images[${i}] has ${c} channels, images[0] ${channels}`);
    });
    this.images = images;
    this.channels = channels;
    this.degrade = degrade;
    this.toExtra = labels;
    this.rng = new Rng(this.options.seed);
  }

  /** One patch (host arrays): gt, input, its label and provenance. Advances the generator. */
  nextPatch(): { gt: HostImage; input: HostImage; label: DegradationLabel | null; info: PatchInfo } {
    if (this.position >= this.order.length) {
      this.order = this.rng.shuffle(Array.from({ length: this.images.length }, (_, i) => i));
      this.position = 0;
      this.epoch++;
    }
    const index = this.order[this.position++]!;
    const pair = this.images[index]!;
    const [h, w] = pair.gt.shape;
    const p = this.options.patchSize;
    const top = this.rng.int(h - p + 1);
    const left = this.rng.int(w - p + 1);
    const hflip = this.options.hflip && this.rng.float() < 0.5;
    const vflip = this.options.rotation && this.rng.float() < 0.5;
    const rot90 = this.options.rotation && this.rng.float() < 0.5;
    const aug = (img: HostImage) => augmentImage(cropImage(img, top, left, p), hflip, vflip, rot90);
    const gt = aug(pair.gt);
    let input: HostImage;
    let label: DegradationLabel | null = null;
    if (pair.lq) input = aug(pair.lq);
    else {
      const r = this.degrade!(gt, this.rng);
      input = r.image;
      label = r.label;
    }
    return { gt, input, label, info: { index, top, left, hflip, vflip, rot90 } };
  }

  next(): Batch {
    const { batchSize: b, patchSize: p } = this.options;
    const c = this.channels;
    const n = p * p * c;
    const gts = new Float32Array(b * n);
    const ins = new Float32Array(b * n);
    const labels: DegradationLabel[] = [];
    const infos: PatchInfo[] = [];
    for (let i = 0; i < b; i++) {
      const patch = this.nextPatch();
      if (patch.input.data.length !== n)
        throw new ShapeError(`PatchSampler: the degradation returned an image of shape ${JSON.stringify(patch.input.shape)}, not [${p}, ${p}, ${c}]`);
      gts.set(patch.gt.data, i * n);
      ins.set(patch.input.data, i * n);
      if (patch.label) labels.push(patch.label);
      infos.push(patch.info);
    }
    this.lastLabels = labels;
    this.lastPatches = infos;
    const batch: Batch = { input: tf.tensor4d(ins, [b, p, p, c]), target: tf.tensor4d(gts, [b, p, p, c]) };
    if (this.toExtra && labels.length) batch.extra = this.toExtra(labels);
    return batch;
  }

  getState(): PatchSamplerState {
    return { rng: this.rng.getState(), order: [...this.order], position: this.position, epoch: this.epoch };
  }

  setState(state: unknown): void {
    const s = state as PatchSamplerState;
    const n = this.images.length;
    const ok =
      s !== null &&
      typeof s === 'object' &&
      Array.isArray(s.order) &&
      (s.order.length === 0 || (s.order.length === n && [...s.order].sort((a, b) => a - b).every((v, i) => v === i))) &&
      Number.isInteger(s.position) &&
      s.position >= 0 &&
      s.position <= s.order.length &&
      Number.isInteger(s.epoch);
    if (!ok) throw new CheckpointError(`PatchSampler.setState: not the state of a sampler over ${n} images: ${JSON.stringify(state).slice(0, 200)}`);
    const rng = new Rng(0);
    rng.setState(s.rng);
    this.rng = rng;
    this.order = [...s.order];
    this.position = s.position;
    this.epoch = s.epoch;
  }

  /** Epochs started so far. */
  get epochs(): number {
    return this.epoch;
  }
}
