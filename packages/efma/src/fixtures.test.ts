import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { checkFixture, type Fixture } from '@restorekit/core/testing';
import { GDFN } from '@restorekit/restormer';
import { DynamicProcessing, EFMABlock, FrequencyAux, IFilter, KFilter, MixFilter, SFilter } from './index.js';

// Golden fixtures of the FSDRNet reconstruction (shared/fixtures/fsdrnet, RECONSTRUCTIONS.md): each block is built from
// the reference constructor's config, loads the stored weights by their state_dict keys (strict), and reproduces every
// stored output within the manifest's tolerance. Inputs and outputs in the order the reference's forward takes/returns.
const cfg = (fx: Fixture) => fx.config as Record<string, never>;
const CASES: Record<string, { create: (fx: Fixture) => tfl.layers.Layer; outputs: string[] }> = {
  efma_block: {
    create: (fx) => new EFMABlock({ channels: cfg(fx).channels, heads: cfg(fx).heads, expansion: cfg(fx).ffn_expansion_factor }),
    outputs: ['__output__'],
  },
  efma_block_guided: {
    create: (fx) => new EFMABlock({ channels: cfg(fx).channels, heads: cfg(fx).heads, expansion: cfg(fx).ffn_expansion_factor }),
    outputs: ['__output__'],
  },
  // FSDRNet's feed-forward is Restormer's GDFN, used as is.
  gdfn: { create: (fx) => new GDFN({ channels: cfg(fx).channels, expansion: cfg(fx).ffn_expansion_factor }), outputs: ['__output__'] },
  faux: { create: (fx) => new FrequencyAux({ channels: cfg(fx).channels }), outputs: ['__output__', '__output2__'] },
  dps: {
    create: (fx) => new DynamicProcessing({ channels: cfg(fx).channels, kernelSize: cfg(fx).kernel_size, tFloor: cfg(fx).t_floor, lFloor: cfg(fx).l_floor }),
    outputs: ['__output__', '__output2__'],
  },
  s_filter: { create: (fx) => new SFilter({ channels: cfg(fx).channels }), outputs: ['__output__'] },
  mix_filter: { create: (fx) => new MixFilter({ channels: cfg(fx).channels, tFloor: cfg(fx).t_floor }), outputs: ['__output__'] },
  i_filter: { create: (fx) => new IFilter({ channels: cfg(fx).channels, lFloor: cfg(fx).l_floor }), outputs: ['__output__'] },
  k_filter: { create: (fx) => new KFilter({ channels: cfg(fx).channels, kernelSize: cfg(fx).kernel_size }), outputs: ['__output__'] },
};

describe('FSDRNet blocks reproduce the reference fixtures (fsdrnet/*.safetensors)', () => {
  for (const [name, { create, outputs }] of Object.entries(CASES))
    it(name, async () => {
      const { comparisons } = await checkFixture(`fsdrnet/${name}.safetensors`, create, { outputs });
      expect(comparisons.map((c) => c.name)).toEqual(outputs);
      for (const c of comparisons) {
        console.log(
          `[fixture] ${tf.getBackend()} fsdrnet/${name} ${c.name} max|diff| ${c.maxAbsDiff.toExponential(2)} (atol ${c.atol}, worst ratio ${c.worstRatio.toFixed(3)})`,
        );
        expect(c.ok).toBe(true);
      }
    });
});
