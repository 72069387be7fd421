import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  Conv2d,
  ConfigError,
  canonicalName,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
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
    throw new ConfigError(
      `VGG (${arch}): unknown layer ${JSON.stringify(layer)} (an index 0..${layers.length - 1} of torchvision's features, or a name like relu3_1 / pool3)`,
    );
  return hit.index;
}

/**
 * BasicSR layer names by their canonical form. tfjs-layers re-cases every string of a config when it saves and
 * loads a model ('relu1_1' → 'relu11'); mapping the canonical form back keeps the BasicSR spelling through
 * save/load. VGG-19's names include every VGG-16 name; whether a layer exists in the arch is checked in the constructor.
 */
const LAYER_BY_CANON = new Map(vggLayers('vgg19').map((l) => [canonicalName(l.name), l.name]));

const layerList: OptionSpec<(number | string)[], false> = {
  expects: "a non-empty list of torchvision layer indices or BasicSR layer names ('relu3_1', 'pool3')",
  hasDefault: false,
  parse(v) {
    if (!Array.isArray(v) || v.length === 0) return { ok: false };
    const out: (number | string)[] = [];
    for (const x of v) {
      if (Number.isInteger(x) && (x as number) >= 0) out.push(x as number);
      else if (typeof x === 'string' && LAYER_BY_CANON.has(canonicalName(x))) out.push(LAYER_BY_CANON.get(canonicalName(x))!);
      else return { ok: false, why: `unknown layer ${JSON.stringify(x)}` };
    }
    return { ok: true, value: out };
  },
};

const OPTIONS = {
  /** 'vgg16' or 'vgg19' (torchvision `features` layout). */
  arch: opt.custom<VGGArch>("'vgg16' or 'vgg19'", (v) => v === 'vgg16' || v === 'vgg19' || 'unknown arch'),
  /** Layers whose outputs are returned, in this order: torchvision indices or BasicSR names. */
  layers: layerList,
  /** Normalise [0, 1] inputs with the ImageNet mean/std first (BasicSR `use_input_norm`). */
  inputNorm: opt.bool(false),
  /** Map [−1, 1] inputs to [0, 1] first (BasicSR `range_norm`). */
  rangeNorm: opt.bool(false),
};
export type VGGFeaturesOptions = OptionsInput<typeof OPTIONS>;

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/**
 * torchvision VGG-16/19 `features` up to the deepest requested layer (3×3 conv pad 1 + ReLU,
 * MaxPool 2×2), weights under torchvision keys `features.<i>.weight/bias`. Returns the requested
 * layers' outputs (one tensor, or an array for several). Weights are never downloaded: build the
 * block, then load a torchvision-named state dict with core's `loadTorchStateDict` (a full
 * torchvision file has deeper layers and `classifier.*`: pass `ignore` for those, as the VGG losses'
 * `loadWeights` does).
 */
export class VGGFeatures extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>VGGFeatures';
  static override optionsSchema = OPTIONS;
  readonly indices: number[];
  readonly plan: VGGLayer[];
  private readonly convs = new Map<number, Conv2d>();

  constructor(opts: VGGFeaturesOptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    // which names and indices exist depends on the arch (VGG-16 has no conv5_4): checked against it here
    this.indices = o.layers.map((l) => vggLayerIndex(o.arch, l));
    const last = Math.max(...this.indices);
    this.plan = vggLayers(o.arch).slice(0, last + 1);
    for (const l of this.plan)
      if (l.kind === 'conv')
        this.convs.set(
          l.index,
          this.addChild(`features.${l.index}`, new Conv2d({ inChannels: l.inChannels, outChannels: l.outChannels, kernelSize: 3, padding: 1 })),
        );
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
          ? tf.add(
              tf.conv2d(
                tf.pad(h, [
                  [0, 0],
                  [1, 1],
                  [1, 1],
                  [0, 0],
                ]) as tf.Tensor4D,
                conv.kernel.read() as tf.Tensor4D,
                1,
                'valid',
              ),
              conv.biasVar!.read(),
            )
          : this.run(conv, h, training);
      } else if (l.kind === 'relu') h = tf.relu(h);
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
