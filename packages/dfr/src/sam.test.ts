import { describe, it } from 'vitest';
import { checkBlock } from '@restorekit/core/testing';
import { SAM } from './index.js';
import { runFixture } from './fixture-helpers.js';

describe('SAM', () => {
  it('reproduces drcnet/sam (both outputs)', () =>
    runFixture('drcnet/sam.safetensors', (fx) => new SAM({ channels: fx.config.n_feat as number, kernelSize: fx.config.kernel_size as number, bias: fx.config.bias as boolean })));
  it('passes the block harness', () =>
    checkBlock({ create: () => new SAM({ channels: 6 }), inputShapes: [[2, 5, 7, 6], [2, 5, 7, 3]], outputShape: [[2, 5, 7, 6], [2, 5, 7, 3]], trainableWeights: 6 }));
});
