import { describe, it } from 'vitest';
import { SimAM } from './index.js';
import { checkDRCNetFixture } from './fixture-helpers.js';

// SimAM is core's primitive (checkBlock'ed there); here it must reproduce DRCNet's simam_module.
describe('SimAM (DRCNet simam_module)', () => {
  it('reproduces drcnet/simam', () => checkDRCNetFixture('drcnet/simam.safetensors', (fx) => new SimAM({ lambda: fx.config.e_lambda as number })));
});
