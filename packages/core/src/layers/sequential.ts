import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, registerBlock, type BlockArgs } from '../block.js';
import { ConfigError } from '../errors.js';
import { blocks } from '../registries.js';
import type { ComponentConfig } from '../registry.js';

export interface SequentialOptions {
  /** Child blocks as `{ type, ...options }` configs, run in order; PyTorch keys '0.', '1.', … like `nn.Sequential`. */
  layers: ComponentConfig[];
}

/** PyTorch `nn.Sequential` of registered blocks, described entirely by JSON (so it saves, loads and round-trips). */
export class Sequential extends Block<SequentialOptions & Record<string, unknown>> {
  static className = 'restorekit>Sequential';
  readonly layersList: tfl.layers.Layer[];
  constructor(opts: SequentialOptions & BlockArgs) {
    super(opts as never);
    if (!Array.isArray(this.options.layers) || this.options.layers.length === 0) throw new ConfigError(`Sequential: 'layers' must be a non-empty array of { type, ...options } configs`);
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
  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return this.layersList.reduce((sh, l) => l.computeOutputShape(sh) as tfl.Shape, s);
  }
}
registerBlock(Sequential);
