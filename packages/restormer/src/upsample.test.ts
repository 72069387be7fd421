import { describe, expect, it } from 'vitest';
import { ConfigError } from '@restorekit/core';
import { Upsample } from './upsample.js';
import { restormerFixture } from './test-helpers.js';

describe('Upsample', () => {
  it('reproduces the official Upsample (fixture; PyTorch PixelShuffle order)', () =>
    restormerFixture('upsample', (c) => new Upsample({ channels: c.n_feat as number })));

  it('has key body.0.weight [2n, n, 3, 3] and rejects odd channels', () => {
    const u = new Upsample({ channels: 384 });
    u.build([null, null, null, 384]);
    expect(u.torchParameters().map((q) => [q.name, q.torchShape])).toEqual([['body.0.weight', [768, 384, 3, 3]]]);
    u.dispose();
    expect(() => new Upsample({ channels: 3 })).toThrow(ConfigError);
  });
});
