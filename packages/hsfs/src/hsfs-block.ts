import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { free, opt, registerBlock, type BlockArgs, type OptionsInput, type ResolvedOptions } from '@restorekit/core';
import { FFTBlock } from '@restorekit/fft';
import { MSSFBlock } from './mssf-block.js';
import { MSFM } from './msfm.js';
import { kernelSizesOption, withChannels } from './common.js';

const OPTIONS = {
  channels: opt.posInt(),
  /** N, the MSSFBlocks before the MSFM. Default 1 (the paper's N is not known; spec §2.12). */
  numBlocks: opt.int({ min: 0 }, 1),
  /** MSFM filter groups G. Default 8 [SIBLING]. */
  groups: opt.posInt(8),
  /** MSFM kernel sizes, one branch each. Default [3, 5] [SIBLING]. */
  kernelSizes: kernelSizesOption([3, 5]),
  /** MSSFBlock residual scales β_L, β_G, γ. Default true [SIBLING]. */
  residualScales: opt.bool(true),
  /** MSFM selection normalisation. Default 'branches' (spec §2.14). */
  selectionSoftmax: opt.enum(['branches', 'channels'] as const, 'branches'),
  /** MSSFBlock feed-forward hidden ratio. Default 2 [SIBLING]. */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2),
  /** MSSFBlock norms. Default 'WithBias'. */
  normKind: opt.enum(['WithBias', 'BiasFree'] as const, 'WithBias'),
};
export type HSFSBlockOptions = OptionsInput<typeof OPTIONS>;

/**
 * LCDNet's hierarchical spatial-frequency selection block (spec §2.6 [SUMMARY]): X₁ = MSSFBlock_N ∘ … ∘ MSSFBlock_1(X);
 * output X₁ + MSFM(X₁). PyTorch keys `blocks.{i}.*`, `msfm.*`. N·(20C² + 183C) + MSFM(C) parameters.
 */
export class HSFSBlock extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>HSFSBlock';
  /** A repeated unit: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = OPTIONS;
  readonly blocks: MSSFBlock[] = [];
  readonly msfm: MSFM;

  constructor(opts: HSFSBlockOptions & BlockArgs) {
    super(opts as never);
    const { channels, numBlocks, groups, kernelSizes, residualScales, selectionSoftmax, expansion, normKind } = this.options;
    for (let i = 0; i < numBlocks; i++) this.blocks.push(this.addChild(`blocks.${i}`, new MSSFBlock({ channels, residualScales, expansion, normKind })));
    this.msfm = this.addChild('msfm', new MSFM({ channels, groups, kernelSizes, selectionSoftmax }));
  }

  override build(s: tfl.Shape): void {
    const shape = withChannels(s, this.options.channels);
    for (const b of this.blocks) this.buildChild(b, shape);
    this.buildChild(this.msfm, shape);
    super.build(s); // FFTBlock: a user of the DFT-basis cache until disposed
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    let y = x;
    for (const b of this.blocks) {
      const prev = y;
      y = this.run(b, prev, training);
      if (prev !== x) prev.dispose();
    }
    const m = this.run(this.msfm, y, training);
    const out = tf.add(y, m);
    return free(out, m, y === x ? null : y);
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(HSFSBlock);
