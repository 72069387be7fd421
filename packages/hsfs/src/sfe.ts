import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  GELU,
  InstanceNorm2d,
  free,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import { withChannels } from './common.js';

const OPTIONS = {
  /** Image channels. Default 3. */
  inChannels: opt.posInt(3),
  /** Feature channels c (a multiple of 4). */
  outChannels: opt.posInt(),
};
export type SFEOptions = OptionsInput<typeof OPTIONS>;

/**
 * Shallow feature extraction for the down-scaled inputs of LCDNet's encoder ([SIBLING], identical in ALGNet and
 * MSFSNet): Conv3×3(in → c/4) → GELU → Conv1×1(c/4 → c/2) → GELU → Conv3×3(c/2 → c/2) → GELU → Conv1×1(c/2 → c) →
 * InstanceNorm2d(c, affine; eps 1e-5, instance statistics in every mode). All convs with bias; GELU is the exact erf form.
 * PyTorch keys `conv1` … `conv4`, `norm`. 2.875c² + 11c parameters (3 input channels).
 */
export class SFE extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>SFE';
  static override optionsSchema = OPTIONS;
  readonly convs: [Conv2d, Conv2d, Conv2d, Conv2d];
  readonly norm: InstanceNorm2d;
  readonly gelu: GELU;

  constructor(opts: SFEOptions & BlockArgs) {
    super(opts as never);
    const { inChannels: i, outChannels: c } = this.options;
    if (c % 4) throw new ConfigError(`SFE: outChannels must be a multiple of 4 (its hidden widths are c/4 and c/2), got ${c}`);
    const conv = (a: number, b: number, k: number) => new Conv2d({ inChannels: a, outChannels: b, kernelSize: k, padding: Math.floor(k / 2) });
    this.convs = [
      this.addChild('conv1', conv(i, c / 4, 3)),
      this.addChild('conv2', conv(c / 4, c / 2, 1)),
      this.addChild('conv3', conv(c / 2, c / 2, 3)),
      this.addChild('conv4', conv(c / 2, c, 1)),
    ];
    this.norm = this.addChild('norm', new InstanceNorm2d({ channels: c, affine: true, eps: 1e-5 }));
    this.gelu = this.addChild('gelu', new GELU());
  }

  override build(s: tfl.Shape): void {
    const { inChannels: i, outChannels: c } = this.options;
    const ins = [i, c / 4, c / 2, c / 2];
    this.convs.forEach((conv, j) => {
      this.buildChild(conv, withChannels(s, ins[j]!));
    });
    this.buildChild(this.norm, withChannels(s, c));
    this.buildChild(this.gelu, withChannels(s, c / 4));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.inChannels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    let y = this.run(this.convs[0], x, training);
    for (const conv of this.convs.slice(1)) {
      const a = free(this.run(this.gelu, y, training), y);
      y = free(this.run(conv, a, training), a);
    }
    return free(this.run(this.norm, y, training), y);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return withChannels(s, this.options.outChannels);
  }
}
registerBlock(SFE);
