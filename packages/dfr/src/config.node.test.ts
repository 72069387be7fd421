import { describe, expect, it } from 'vitest';
import { ConfigError, blocks, countParams, torchParameters } from '@restorekit/core';
import { DFR, PlainConvBlock, RegionNorm, SAM, UNetUpBlock, recordRegionMasks, regionNormPaths } from './index.js';

describe('@restorekit/dfr configuration (node-cpu)', () => {
  it('registers every block in the block registry', () => {
    for (const n of ['RegionNorm', 'DFR', 'PlainConvBlock', 'UNetUpBlock', 'SAM']) expect(blocks.has(n), n).toBe(true);
  });

  it('rejects bad options with ConfigError naming the option', () => {
    expect(() => new RegionNorm({ channels: 0 })).toThrow(ConfigError);
    expect(() => new RegionNorm({ channels: 4, threshold: 1.5 })).toThrow(/option 'threshold' must be a number in \(0, 1\)/);
    expect(() => new RegionNorm({ channels: 4, kernelSize: 4 })).toThrow(/option 'kernelSize' must be an odd positive integer/);
    expect(() => new DFR({ inChannels: 3, outChannels: 5 })).toThrow(
      /option 'outChannels' must be an even positive integer \(RN_L normalises half of the channels\), got 5/,
    );
    expect(() => new DFR({ inChannels: 3, outChannels: 4, useCsff: true, downsample: false })).toThrow(/useCsff/);
    expect(() => new DFR({ inChannels: 3, outChannels: 4, reluSlope: Number.NaN })).toThrow(/reluSlope/);
    expect(() => new UNetUpBlock({ inChannels: 4, outChannels: 4 })).toThrow(/smaller than 'inChannels'/);
    expect(() => new PlainConvBlock({ inChannels: 4, outChannels: -1 })).toThrow(/outChannels/);
    expect(() => new SAM({ channels: 4, kernelSize: 2 })).toThrow(/option 'kernelSize' must be an odd positive integer/);
    expect(() => new SAM({ channels: 4, bias: 'yes' as never })).toThrow(/option 'bias' must be a boolean/);
    expect(() => new DFR({ inChannels: 3 } as never)).toThrow(/option 'outChannels' is required/);
  });

  // 0.1 bug: options were kept as given, so DRCNet's `hin_position_left` (snake_case) was silently ignored. Every dfr
  // block now rejects an unknown option, naming the camelCase option that was meant.
  it('rejects snake_case and misspelled options with ConfigError naming the camelCase option', () => {
    const cases: [() => unknown, string, string][] = [
      [() => new DFR({ inChannels: 3, outChannels: 4, region_norm: false } as never), 'region_norm', 'regionNorm'],
      [() => new DFR({ inChannels: 3, outChannels: 4, use_csff: true } as never), 'use_csff', 'useCsff'],
      [() => new DFR({ inChannels: 3, outChannels: 4, relu_slope: 0.1 } as never), 'relu_slope', 'reluSlope'],
      [() => new DFR({ in_channels: 3, outChannels: 4 } as never), 'in_channels', 'inChannels'],
      [() => new DFR({ inChannels: 3, outChannels: 4, downsampel: false } as never), 'downsampel', 'downsample'],
      [() => new RegionNorm({ channels: 4, kernel_size: 3 } as never), 'kernel_size', 'kernelSize'],
      [() => new RegionNorm({ channels: 4, treshold: 0.5 } as never), 'treshold', 'threshold'],
      [() => new PlainConvBlock({ inChannels: 4, outChannels: 4, out_channels: 2 } as never), 'out_channels', 'outChannels'],
      [() => new UNetUpBlock({ inChannels: 8, outChannels: 4, reluSlop: 0.2 } as never), 'reluSlop', 'reluSlope'],
      [() => new SAM({ channels: 4, image_channels: 1 } as never), 'image_channels', 'imageChannels'],
      [() => new SAM({ chanels: 4 } as never), 'chanels', 'channels'],
    ];
    for (const [make, given, meant] of cases) {
      expect(make, given).toThrow(ConfigError);
      expect(make, given).toThrow(`unknown option '${given}' (did you mean '${meant}'?)`);
    }
  });

  it('getConfig returns every resolved option (defaults filled in)', () => {
    expect(new DFR({ inChannels: 3, outChannels: 4 }).getConfig()).toMatchObject({
      inChannels: 3,
      outChannels: 4,
      downsample: true,
      useCsff: false,
      regionNorm: true,
      reluSlope: 0.2,
      threshold: 0.8,
    });
    expect(new RegionNorm({ channels: 4 }).getConfig()).toMatchObject({ channels: 4, threshold: 0.8, kernelSize: 7 });
    expect(new PlainConvBlock({ inChannels: 4, outChannels: 2 }).getConfig()).toMatchObject({ inChannels: 4, outChannels: 2, reluSlope: 0.2 });
    expect(new UNetUpBlock({ inChannels: 8, outChannels: 4 }).getConfig()).toMatchObject({ inChannels: 8, outChannels: 4, reluSlope: 0.2 });
    expect(new SAM({ channels: 4 }).getConfig()).toMatchObject({ channels: 4, imageChannels: 3, kernelSize: 3, bias: true });
  });

  it('DFR has the official state_dict keys and parameter count (spec §1.2: stage-1 level 0 at wf 64 = 143,814)', () => {
    const d = new DFR({ inChannels: 64, outChannels: 64 });
    d.setFastWeightInitDuringBuild(true);
    d.build([null, 16, 16, 64]);
    expect(countParams(d)).toBe(143_814);
    expect(torchParameters(d).map((p) => p.name)).toEqual([
      'identity.weight',
      'identity.bias',
      'conv_1.weight',
      'conv_1.bias',
      'conv_2.weight',
      'conv_2.bias',
      'norm.sa.conv1.weight',
      'norm.sa.gamma_conv.weight',
      'norm.sa.gamma_conv.bias',
      'norm.sa.beta_conv.weight',
      'norm.sa.beta_conv.bias',
      'norm.rn.bn_norm.weight',
      'norm.rn.bn_norm.bias',
      'downsample.weight',
    ]);
    // RN_L weights are present with region norm off too (official constructor), so the count is unchanged.
    const off = new DFR({ inChannels: 64, outChannels: 64, regionNorm: false });
    off.setFastWeightInitDuringBuild(true);
    off.build([null, 16, 16, 64]);
    expect(countParams(off)).toBe(143_814);
    const csff = new DFR({ inChannels: 128, outChannels: 256, useCsff: true });
    csff.setFastWeightInitDuringBuild(true);
    csff.build([
      [null, 8, 8, 128],
      [null, 8, 8, 256],
      [null, 8, 8, 256],
    ]);
    expect(countParams(csff)).toBe(2_852_550); // spec §1.6 stage-2 level 2
    expect(regionNormPaths(csff).has('norm')).toBe(true);
    for (const b of [d, off, csff]) b.dispose();
  });

  it('UNetUpBlock 512→256 and SAM(64) have the spec §1.6 counts', () => {
    const u = new UNetUpBlock({ inChannels: 512, outChannels: 256 });
    u.setFastWeightInitDuringBuild(true);
    u.build([
      [null, 4, 4, 512],
      [null, 8, 8, 256],
    ]);
    expect(countParams(u)).toBe(2_425_856);
    const s = new SAM({ channels: 64 });
    s.build([
      [null, 8, 8, 64],
      [null, 8, 8, 3],
    ]);
    expect(countParams(s)).toBe(40_451);
    u.dispose();
    s.dispose();
  });

  it('recordRegionMasks cannot be nested', () => {
    expect(() => recordRegionMasks(() => recordRegionMasks(() => 0))).toThrow(/nested/);
  });
});
