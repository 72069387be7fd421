import { describe, expect, it } from 'vitest';
import { Conv2d, ConfigError, RegistryError, models } from '@restorekit/core';
import { registerModel, createModel, listModels, getModelSpec } from './registry.js';

describe('model registry', () => {
  registerModel({
    name: 'test-net',
    paper: 'a test family',
    citation: '-',
    inputRange: [0, 1],
    sizeMultiple: 4,
    defaultPreset: 'base',
    presets: {
      base: { description: 'base', config: { inChannels: 3, outChannels: 3, kernelSize: 3, padding: 1 }, params: 84 },
      wide: { description: 'wide', config: { inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 } },
    },
    create: (c) => new Conv2d(c as never),
  });

  it('creates from presets with overrides, and through the core models registry', async () => {
    const a = (await createModel('test-net')) as Conv2d;
    expect(a.options.outChannels).toBe(3);
    const b = (await createModel('test-net', { preset: 'wide', bias: false, name: 'mine' })) as Conv2d;
    expect(b.options).toMatchObject({ outChannels: 8, bias: false });
    expect(b.name).toBe('mine');
    const c = (await models.create({ type: 'test-net', preset: 'wide' })) as Conv2d;
    expect(c.options.outChannels).toBe(8);
  });

  it('lists families and presets as data', () => {
    const l = listModels().find((m) => m.name === 'test-net')!;
    expect(l.presets).toEqual([
      { name: 'base', description: 'base', params: 84 },
      { name: 'wide', description: 'wide', params: undefined },
    ]);
    expect(l.sizeMultiple).toBe(4);
    expect(getModelSpec('test-net').defaultPreset).toBe('base');
  });

  it('unknown model or preset, duplicate registration and bad default raise typed errors', async () => {
    await expect(createModel('nope')).rejects.toThrow(RegistryError);
    await expect(createModel('nope')).rejects.toThrow(/unknown model 'nope'/);
    await expect(createModel('test-net', { preset: 'huge' })).rejects.toThrow(/has no preset 'huge' \(presets: base, wide\)/);
    expect(() => registerModel({ ...getModelSpec('test-net') })).toThrow(/already registered/);
    expect(() => registerModel({ ...getModelSpec('test-net'), name: 'other', defaultPreset: 'x' })).toThrow(ConfigError);
  });
});
