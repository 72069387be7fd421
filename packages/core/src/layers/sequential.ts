import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { opt, type OptionsInput, type ResolvedOptions } from '../options.js';
import { blocks } from '../registries.js';
import type { ComponentConfig } from '../registry.js';

const OPTIONS = {
  /** Child blocks as `{ type, ...options }` configs, run in order; PyTorch keys '0.', '1.', … like `nn.Sequential`. */
  layers: opt.custom<ComponentConfig[]>(
    'a non-empty array of { type, ...options } configs',
    (v) =>
      (Array.isArray(v) && v.length > 0 && v.every((c) => c !== null && typeof c === 'object' && typeof (c as { type?: unknown }).type === 'string')) ||
      'each entry needs a string type',
  ),
};
export type SequentialOptions = OptionsInput<typeof OPTIONS>;

/** PyTorch `nn.Sequential` of registered blocks, described entirely by JSON (so it saves, loads and round-trips). */
export class Sequential extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>Sequential';
  static override optionsSchema = OPTIONS;
  readonly layersList: tfl.layers.Layer[];
  constructor(opts: SequentialOptions & BlockArgs) {
    super(opts as never);
    this.layersList = this.options.layers.map((c, i) => this.addChild(String(i), blocks.create(c)));
  }
  override build(s: tfl.Shape): void {
    let shape = s;
    for (const l of this.layersList) {
      this.buildChild(l, shape);
      shape = l.computeOutputShape(shape) as tfl.Shape;
    }
    this.built = true;
  }
  /** The first layer's input channels (so an unbuilt Sequential builds from its options). */
  protected override expectedChannels(): (number | undefined)[] {
    const first = this.layersList[0] as unknown as { expectedChannels?: () => (number | undefined)[] };
    return first.expectedChannels?.call(first) ?? [];
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    // Each intermediate output is freed once the next layer has consumed it, rather than at the end of the
    // call (peak memory of a deep stage is two activations, not all of them). Gradients are unaffected:
    // tfjs keeps its own copies of what backprop needs.
    let h = x;
    for (const l of this.layersList) {
      const next = this.run(l, h, training);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h;
  }
  /** The children's complete configs (every option resolved), not the configs as given. */
  override getConfig(): tf.serialization.ConfigDict {
    const layers = this.layersList.map((l) => {
      const { name: _n, trainable: _t, dtype: _d, batchInputShape: _b, ...options } = l.getConfig();
      return { type: blocks.resolveName(l.getClassName().split('>').pop()!) ?? l.getClassName(), ...options };
    });
    return { ...super.getConfig(), layers } as tf.serialization.ConfigDict;
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return this.layersList.reduce((sh, l) => l.computeOutputShape(sh) as tfl.Shape, s);
  }
}
registerBlock(Sequential);
