import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block, Conv2d, ConfigError, WeightsError, loadTorchStateDict, parseSafetensors, registerBlock,
  type BlockArgs, type LoadReport, type StateTensor,
} from '@restorekit/core';

export type VGGArch = 'vgg16' | 'vgg19';

/** torchvision `cfgs['D']` (VGG-16) and `cfgs['E']` (VGG-19); 'M' = MaxPool2d(2, 2). */
const CFG: Record<VGGArch, (number | 'M')[]> = {
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/** One entry of torchvision's `vgg.features` Sequential. */
export interface VGGLayer {
  index: number;
  kind: 'conv' | 'relu' | 'pool';
  /** BasicSR name: conv1_1, relu1_1, ..., pool1. */
  name: string;
  inChannels: number;
  outChannels: number;
}

/** The `features` layers of torchvision's VGG-16/19 with torchvision indices and BasicSR names. */
export function vggLayers(arch: VGGArch): VGGLayer[] {
  const cfg = CFG[arch];
  if (!cfg) throw new ConfigError(`VGG: unknown arch '${String(arch)}' (vgg16 | vgg19)`);
  const out: VGGLayer[] = [];
  let c = 3;
  let block = 1;
  let k = 1;
  for (const v of cfg) {
    if (v === 'M') {
      out.push({ index: out.length, kind: 'pool', name: `pool${block}`, inChannels: c, outChannels: c });
      block++;
      k = 1;
    } else {
      out.push({ index: out.length, kind: 'conv', name: `conv${block}_${k}`, inChannels: c, outChannels: v });
      out.push({ index: out.length, kind: 'relu', name: `relu${block}_${k}`, inChannels: v, outChannels: v });
      c = v;
      k++;
    }
  }
  return out;
}

/** Resolves a layer given as a torchvision index or a BasicSR name ('relu3_1', 'pool3', 'conv5_4'). */
export function vggLayerIndex(arch: VGGArch, layer: number | string): number {
  const layers = vggLayers(arch);
  const hit = typeof layer === 'number' ? layers[layer] : layers.find((l) => l.name === layer);
  if (!hit || (typeof layer === 'number' && !Number.isInteger(layer)))
    throw new ConfigError(`VGG (${arch}): unknown layer ${JSON.stringify(layer)} (an index 0..${layers.length - 1} of torchvision's features, or a name like relu3_1 / pool3)`);
  return hit.index;
}

export interface VGGFeaturesOptions {
  /** 'vgg16' or 'vgg19' (torchvision `features` layout). */
  arch: VGGArch;
  /** Layers whose outputs are returned, in this order: torchvision indices or BasicSR names. */
  layers: (number | string)[];
  /** Normalise [0, 1] inputs with the ImageNet mean/std first (BasicSR `use_input_norm`). Default false. */
  inputNorm?: boolean;
  /** Map [−1, 1] inputs to [0, 1] first (BasicSR `range_norm`). Default false. */
  rangeNorm?: boolean;
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * torchvision VGG-16/19 `features` up to the deepest requested layer (3×3 conv pad 1 + ReLU,
 * MaxPool 2×2), weights under torchvision keys `features.<i>.weight/bias`. Returns the requested
 * layers' outputs (one tensor, or an array for several). Weights are never downloaded: load a
 * torchvision-named state dict or safetensors file with `loadVGGWeights`.
 */
export class VGGFeatures extends Block<VGGFeaturesOptions & Record<string, unknown>> {
  static className = 'restorekit>VGGFeatures';
  readonly indices: number[];
  readonly plan: VGGLayer[];
  private readonly convs = new Map<number, Conv2d>();

  constructor(opts: VGGFeaturesOptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    if (o.arch !== 'vgg16' && o.arch !== 'vgg19') throw new ConfigError(`VGGFeatures: arch must be 'vgg16' or 'vgg19', got ${JSON.stringify(o.arch)}`);
    if (!Array.isArray(o.layers) || o.layers.length === 0) throw new ConfigError(`VGGFeatures: 'layers' must be a non-empty list of layer indices or names`);
    this.indices = o.layers.map((l) => vggLayerIndex(o.arch, l));
    const last = Math.max(...this.indices);
    this.plan = vggLayers(o.arch).slice(0, last + 1);
    for (const l of this.plan)
      if (l.kind === 'conv')
        this.convs.set(l.index, this.addChild(`features.${l.index}`, new Conv2d({ inChannels: l.inChannels, outChannels: l.outChannels, kernelSize: 3, padding: 1 })));
  }

  override build(s: tfl.Shape): void {
    let shape = s;
    for (const l of this.plan) {
      const conv = this.convs.get(l.index);
      if (conv) this.buildChild(conv, shape);
      shape = this.layerShape(l, shape);
    }
    this.built = true;
  }

  protected override expectedChannels() {
    return [3];
  }

  private layerShape(l: VGGLayer, s: tfl.Shape): tfl.Shape {
    if (l.kind === 'pool') return [s[0]!, s[1] == null ? null : Math.floor(s[1] / 2), s[2] == null ? null : Math.floor(s[2] / 2), s[3]!];
    return [s[0]!, s[1]!, s[2]!, l.outChannels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor | tf.Tensor[] {
    let h = x;
    if (this.options.rangeNorm) h = tf.div(tf.add(h, 1), 2);
    if (this.options.inputNorm) h = tf.div(tf.sub(h, tf.tensor1d(MEAN)), tf.tensor1d(STD));
    const outs = new Map<number, tf.Tensor>();
    // Frozen (the losses' case): plain tf.conv2d, whose lazily evaluated gradient only computes dL/dx
    // (Conv2DBackpropInput exists on every backend); core's conv2d always computes the filter gradient
    // too, which the frozen VGG does not need. Trainable: core's Conv2d (filter gradients on wasm too).
    const frozen = !this.trainable;
    for (const l of this.plan) {
      if (l.kind === 'conv') {
        const conv = this.convs.get(l.index)!;
        h = frozen
          ? tf.add(tf.conv2d(tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D, conv.kernel.read() as tf.Tensor4D, 1, 'valid'), conv.biasVar!.read())
          : this.run(conv, h, training);
      }
      else if (l.kind === 'relu') h = tf.relu(h);
      else h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
      outs.set(l.index, h);
    }
    const ys = this.indices.map((i) => outs.get(i)!);
    return ys.length === 1 ? ys[0]! : ys;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape | tfl.Shape[] {
    const shapes = new Map<number, tfl.Shape>();
    let shape = s;
    for (const l of this.plan) {
      shape = this.layerShape(l, shape);
      shapes.set(l.index, shape);
    }
    const ys = this.indices.map((i) => shapes.get(i)!);
    return ys.length === 1 ? ys[0]! : ys;
  }
}
registerBlock(VGGFeatures);

/** A state dict (`{ key: tensor | { shape, data } }`) or the bytes of a safetensors file. */
export type WeightSource = Record<string, StateTensor | unknown> | ArrayBuffer | ArrayBufferView;

function toStateDict(src: WeightSource, where: string): Record<string, unknown> {
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return parseSafetensors(src, where).tensors;
  if (src === null || typeof src !== 'object') throw new WeightsError(`${where}: expected a state dict or safetensors bytes`);
  return src as Record<string, unknown>;
}

/**
 * Loads the weights a block needs from a larger torchvision-named file (extra keys such as deeper
 * VGG layers or `classifier.*` are ignored). Every needed key must be present: a missing one throws
 * `WeightsError` naming it, before anything is written.
 */
export function loadNamedWeights(block: Block, src: WeightSource, opts: { prefix?: string; where?: string } = {}): LoadReport {
  const where = opts.where ?? block.getClassName();
  const sd = toStateDict(src, where);
  const prefix = opts.prefix ?? '';
  const need = block.torchParameters().map((p) => p.name);
  const missing = need.filter((k) => !(prefix + k in sd));
  if (missing.length) throw new WeightsError(`${where}: the weights file lacks ${missing.length} needed key(s): ${missing.map((k) => prefix + k).join(', ')}`, missing);
  const wanted = new Set(need.map((k) => prefix + k));
  const subset: Record<string, unknown> = {};
  for (const k of wanted) subset[k] = sd[k];
  return loadTorchStateDict(block, subset, { prefix, strict: true });
}

/** Builds (for 3-channel input) and loads a VGGFeatures block from torchvision `features.<i>.*` weights. */
export function loadVGGWeights(block: VGGFeatures, src: WeightSource, opts: { prefix?: string } = {}): LoadReport {
  if (!block.built) block.build([null, null, null, 3]);
  return loadNamedWeights(block, src, { ...opts, where: `VGGFeatures(${block.options.arch})` });
}
