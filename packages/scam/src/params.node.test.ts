import { describe, expect, it } from 'vitest';
import { ConfigError, countParams } from '@restorekit/core';
import { SCAM } from './index.js';

describe('SCAM parameters and options', () => {
  const formula = (c: number, reduction = 8, minHidden = 4) => {
    const d = Math.max(Math.floor(c / reduction), minHidden);
    return 9 * c * c + c + 2 * d * c;
  };
  const count = (s: SCAM) => {
    const n = countParams(s);
    s.dispose();
    return n;
  };

  it('9c² + c + 2dc, d = max(c/8, 4): the spec values 9,504 / 37,952 / 151,680 / 606,464 at c = 32 … 256', () => {
    for (const c of [16, 32, 64, 128, 256]) expect(count(new SCAM({ channels: c }))).toBe(formula(c));
    expect([32, 64, 128, 256].map((c) => formula(c))).toEqual([9_504, 37_952, 151_680, 606_464]);
    expect(count(new SCAM({ channels: 24, reduction: 2, minHidden: 2 }))).toBe(formula(24, 2, 2));
  });

  it('defaults are the spec`s; variant B and odd hidden widths are refused with a reason', () => {
    const { name: _n, trainable: _t, dtype: _d, ...o } = new SCAM({ channels: 16 }).getConfig();
    expect(o).toEqual({ channels: 16, variant: 'A', reduction: 8, minHidden: 4 });
    expect(() => new SCAM({ channels: 16, variant: 'B' as never })).toThrow(/variant 'B' .* is not implemented/);
    expect(() => new SCAM({ channels: 40 })).toThrow(/d = max\(⌊40\/8⌋, 4\) = 5 must be even/);
    expect(() => new SCAM({ channels: 16, min_hidden: 4 } as never)).toThrow(/did you mean 'minHidden'/);
    expect(() => new SCAM({ channels: 16, minHidden: 3 })).toThrow(ConfigError);
  });
});
