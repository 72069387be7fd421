import { describe, it } from 'vitest';
import { SAM } from './index.js';
import { checkDRCNetFixture } from './fixture-helpers.js';

describe('SAM', () => {
  it('reproduces drcnet/sam (both outputs)', () =>
    checkDRCNetFixture(
      'drcnet/sam.safetensors',
      (fx) => new SAM({ channels: fx.config.n_feat as number, kernelSize: fx.config.kernel_size as number, bias: fx.config.bias as boolean }),
    ));
});
