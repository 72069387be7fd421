import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { checkFixture, type Fixture } from '@restorekit/core/testing';
import { FourierUnit, HSFSBlock, MSFFN, MSFM, MSSFBlock, SFE } from './index.js';

// Golden fixtures of the LCDNet reconstruction (shared/fixtures/lcdnet, RECONSTRUCTIONS.md): weights loaded by their
// state_dict keys, every output within the manifest's tolerance. The options come from the fixture's config.
const cfg = (fx: Fixture) => fx.config as Record<string, never>;
const CASES: Record<string, (fx: Fixture) => tf.serialization.Serializable & import('@tensorflow/tfjs-layers').layers.Layer> = {
  sfe: (fx) => new SFE({ inChannels: cfg(fx).in_channels, outChannels: cfg(fx).channels }),
  fourierunit: (fx) => new FourierUnit({ channels: cfg(fx).channels }),
  msffn: (fx) => new MSFFN({ channels: cfg(fx).channels }),
  mssfblock: (fx) => new MSSFBlock({ channels: cfg(fx).channels, residualScales: cfg(fx).residual_scales }),
  mssfblock_noscales: (fx) => new MSSFBlock({ channels: cfg(fx).channels, residualScales: cfg(fx).residual_scales }),
  msfm: (fx) => new MSFM({ channels: cfg(fx).channels, groups: cfg(fx).groups, kernelSizes: cfg(fx).kernel_sizes }),
  hsfsblock: (fx) =>
    new HSFSBlock({
      channels: cfg(fx).channels,
      numBlocks: cfg(fx).num_blocks,
      groups: cfg(fx).groups,
      kernelSizes: cfg(fx).kernel_sizes,
      residualScales: cfg(fx).residual_scales,
    }),
};

describe('LCDNet blocks reproduce the reference fixtures (lcdnet/*.safetensors)', () => {
  for (const [name, create] of Object.entries(CASES))
    it(name, async () => {
      const { comparisons } = await checkFixture(`lcdnet/${name}.safetensors`, create);
      for (const c of comparisons) {
        console.log(
          `[fixture] ${tf.getBackend()} lcdnet/${name} ${c.name} max|diff| ${c.maxAbsDiff.toExponential(2)} (atol ${c.atol}, worst ratio ${c.worstRatio.toFixed(3)})`,
        );
        expect(c.ok).toBe(true);
      }
    });
});
