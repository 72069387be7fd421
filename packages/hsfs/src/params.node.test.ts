import { describe, expect, it } from 'vitest';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, countParams, torchParameters } from '@restorekit/core';
import { FourierUnit, HSFSBlock, MSFFN, MSFM, MSFMBranch, MSSFBlock, SFE } from './index.js';

// Parameter counts from the spec's formulas (drcnet-lcdnet-fsdrnet.md §2.3–2.6), which the reference
// implementation reproduced exactly (RECONSTRUCTIONS.md, "Parameter totals").
const mssf = (C: number) => 20 * C * C + 183 * C;
const msfm = (C: number) => {
  const c = C / 2;
  const d = Math.max(c / 2, 32);
  return 2 * C * C + 2 * C + 2 * c * c + 6 * c * d + 2 * d + 278 * c + 544;
};
const sfe = (c: number) => 2.875 * c * c + 11 * c;

function count(layer: tfl.layers.Layer & { torchParameters?: unknown }): number {
  const n = countParams(layer as never);
  layer.dispose();
  return n;
}

describe('parameter counts follow the spec formulas', () => {
  it('MSSFBlock: 20C² + 183C (residual scales on), the spec values at C = 32 … 512', () => {
    for (const C of [16, 32, 64, 128]) expect(count(new MSSFBlock({ channels: C }))).toBe(mssf(C));
    expect([32, 64, 128, 256].map(mssf)).toEqual([26_336, 93_632, 351_104, 1_357_568]);
    expect(mssf(512)).toBe(5_336_576);
    // Without residual scales: 3C fewer (β_L, β_G, γ).
    for (const C of [16, 32, 64]) expect(count(new MSSFBlock({ channels: C, residualScales: false }))).toBe(mssf(C) - 3 * C);
  });

  it('MSSFBlock parts: local 4C² + 24C, global 12C² + 16C, MSFFN 4C² + 136C, norms 4C, scales 3C', () => {
    for (const C of [16, 32, 64]) {
      const b = new MSSFBlock({ channels: C });
      const by = (prefix: string) =>
        torchParameters(b)
          .filter((p) => p.name.startsWith(prefix))
          .reduce((n, p) => n + p.torchShape.reduce((a, x) => a * x, 1), 0);
      expect(by('local.')).toBe(4 * C * C + 24 * C);
      expect(by('global.')).toBe(12 * C * C + 16 * C);
      expect(by('ffn.')).toBe(4 * C * C + 136 * C);
      expect(by('norm1.') + by('norm2.')).toBe(4 * C);
      expect(by('beta_l') + by('beta_g') + by('gamma')).toBe(3 * C);
      b.dispose();
    }
    expect(count(new MSFFN({ channels: 32 }))).toBe(4 * 32 * 32 + 136 * 32);
    expect(count(new FourierUnit({ channels: 32 }))).toBe(2 * 32 * 4 * 32 + 4 * 32 + 2 * 4 * 32);
  });

  it('MSFM: 2C² + 2C + 2c² + 6cd + 2d + 278c + 544 (c = C/2, d = max(c/2, 32)), the spec values', () => {
    for (const C of [32, 64, 128, 256]) expect(count(new MSFM({ channels: C }))).toBe(msfm(C));
    expect([32, 64, 128, 256, 512].map(msfm)).toEqual([10_752, 26_016, 71_904, 249_760, 924_960]);
    // One branch: c·G·k² + 2G·k² (filter conv + norm) + 2cd + d + 2c (selection) + c² + c (out).
    const c = 16,
      G = 8,
      k = 5,
      d = 32;
    expect(count(new MSFMBranch({ channels: c, groups: G, kernelSize: k }))).toBe(c * G * k * k + 2 * G * k * k + 3 * c * d + d + 2 * c + c * c + c);
  });

  it('HSFSBlock: N·(20C² + 183C) + MSFM(C); the spec`s encoder rows 37,088 / 119,648 / 423,008 / 1,607,328 and middle 6,261,536', () => {
    for (const [C, N] of [
      [32, 1],
      [64, 1],
      [32, 3],
      [128, 2],
    ] as const)
      expect(count(new HSFSBlock({ channels: C, numBlocks: N }))).toBe(N * mssf(C) + msfm(C));
    expect([32, 64, 128, 256].map((C) => mssf(C) + msfm(C))).toEqual([37_088, 119_648, 423_008, 1_607_328]);
    expect(mssf(512) + msfm(512)).toBe(6_261_536);
  });

  it('SFE: 2.875c² + 11c, the spec values 12,480 / 48,512 / 191,232 at c = 64 / 128 / 256', () => {
    for (const c of [16, 64, 128, 256]) expect(count(new SFE({ outChannels: c }))).toBe(sfe(c));
    expect([64, 128, 256].map(sfe)).toEqual([12_480, 48_512, 191_232]);
  });
});

describe('options', () => {
  it('every open choice is an option whose default is the spec`s', () => {
    const d = (l: tfl.layers.Layer) => {
      const { name: _n, trainable: _t, dtype: _d, ...o } = l.getConfig() as Record<string, unknown>;
      return o;
    };
    expect(d(new MSSFBlock({ channels: 16 }))).toEqual({
      channels: 16,
      residualScales: true,
      expansion: 2,
      kernelSize: 3,
      ffnKernelSizes: [3, 5],
      normKind: 'WithBias',
      bias: true,
      fftNorm: 'ortho',
    });
    expect(d(new MSFM({ channels: 32 }))).toEqual({ channels: 32, groups: 8, kernelSizes: [3, 5], reduction: 2, minHidden: 32, selectionSoftmax: 'branches' });
    expect(d(new HSFSBlock({ channels: 32 }))).toMatchObject({
      channels: 32,
      numBlocks: 1,
      groups: 8,
      kernelSizes: [3, 5],
      residualScales: true,
      selectionSoftmax: 'branches',
    });
    expect(d(new SFE({ outChannels: 32 }))).toEqual({ inChannels: 3, outChannels: 32 });
    expect(d(new FourierUnit({ channels: 8 }))).toEqual({ channels: 8, bias: true, normKind: 'WithBias', fftNorm: 'ortho' });
  });

  it('PyTorch spellings are refused with the restorekit name suggested', () => {
    expect(() => new MSSFBlock({ channels: 16, residual_scales: false } as never)).toThrow(
      /unknown option 'residual_scales' \(did you mean 'residualScales'\?\)/,
    );
    expect(() => new MSFM({ channels: 32, kernel_sizes: [3, 5] } as never)).toThrow(/did you mean 'kernelSizes'/);
    expect(() => new SFE({ channels: 16 } as never)).toThrow(ConfigError);
  });

  it('G must divide C/2 (G = 8 needs C a multiple of 16), and the error says so', () => {
    expect(() => new MSFM({ channels: 8 })).toThrow(/groups G = 8 must divide the branch channels C\/2 = 4 .*multiple of 16/);
    expect(() => new HSFSBlock({ channels: 24 })).toThrow(ConfigError);
    expect(() => new MSFM({ channels: 8, groups: 4 })).not.toThrow();
    expect(() => new MSFM({ channels: 30, kernelSizes: [3, 5, 7, 9], groups: 1 })).toThrow(/split evenly into 4 branches/);
  });

  it('kernel sizes must be odd; MSFFN needs two different ones; MSFM branches need k ≥ 3', () => {
    expect(() => new MSFM({ channels: 32, kernelSizes: [3, 4] })).toThrow(/odd/);
    expect(() => new MSFFN({ channels: 8, kernelSizes: [3, 3] })).toThrow(/must differ/);
    expect(() => new MSFFN({ channels: 8, kernelSizes: [3, 5, 7] })).toThrow(/a list of 2/);
    expect(() => new MSFMBranch({ channels: 8, groups: 8, kernelSize: 1 })).toThrow(ConfigError);
    expect(() => new MSFFN({ channels: 6 })).not.toThrow();
    expect(() => new MSFFN({ channels: 5, expansion: 1.5 })).toThrow(/multiple of 4/);
    expect(() => new SFE({ outChannels: 6 })).toThrow(/multiple of 4/);
  });
});
