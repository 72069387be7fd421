import { describe, expect, it } from 'vitest';
import { blocks, Registry, RegistryError, ConfigError, Conv2d, Sequential, useBackend, BackendError, configure } from './index.js';

describe('registries and configs', () => {
  it('creates blocks from { type, ...options } and round-trips the config exactly', () => {
    const cfg = { type: 'Conv2d', inChannels: 3, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, groups: 1, bias: false };
    const b = blocks.create(cfg) as Conv2d;
    expect(b).toBeInstanceOf(Conv2d);
    const back = blocks.toConfig('Conv2d', b);
    const again = blocks.toConfig('Conv2d', blocks.create(back));
    expect(again).toEqual(back);
    expect((blocks.create(back) as Conv2d).options).toEqual({ inChannels: 3, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, groups: 1, bias: false });
  });

  it('string options come back canonical after tfjs re-cases them (no encoded copy in the config)', () => {
    const s = new Sequential({ layers: [{ type: 'LayerNorm2d', channels: 4, normKind: 'BiasFree' }] });
    const cfg = JSON.parse(JSON.stringify(s.getConfig()));
    expect(JSON.stringify(cfg)).not.toMatch(/rkOptions/);
    // what tfjs does to string values on save/load:
    cfg.layers[0].type = 'layerNorm2d';
    cfg.layers[0].normKind = 'biasFree';
    const t = new Sequential(cfg);
    expect(JSON.parse(JSON.stringify(t.getConfig())).layers[0]).toEqual({ type: 'LayerNorm2d', channels: 4, normKind: 'BiasFree', eps: 1e-5 });
  });

  it('unknown types and bad configs raise typed errors naming the problem', () => {
    expect(() => blocks.create({ type: 'Nope' })).toThrow(RegistryError);
    expect(() => blocks.create({ type: 'Nope' })).toThrow(/unknown block type 'Nope' \(registered: .*Conv2d/);
    expect(() => blocks.create(null as never)).toThrow(ConfigError);
    expect(() => blocks.create({ kind: 'x' } as never)).toThrow(/needs a string 'type'/);
    expect(() => new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, groups: 2 })).toThrow(/groups=2 must divide inChannels=3/);
    expect(() => new Conv2d({ inChannels: 0, outChannels: 8, kernelSize: 3 })).toThrow(/inChannels' must be a positive integer, got 0/);
    expect(() => new Sequential({ layers: [] })).toThrow(ConfigError);
    const r = new Registry<number>('thing');
    r.register('a', { create: () => 1 });
    expect(() => r.register('a', { create: () => 2 })).toThrow(/already registered/);
    expect(r.create({ type: 'a' })).toBe(1);
    expect(() => configure({ convGradient: 'fast' as never })).toThrow(ConfigError);
  });

  it("useBackend('tensorflow') explains that tfjs-node must be installed and imported by the user", async () => {
    await expect(useBackend('tensorflow')).rejects.toThrow(BackendError);
    await expect(useBackend('tensorflow')).rejects.toThrow(/install @tensorflow\/tfjs-node/);
    await expect(useBackend('tpu' as never)).rejects.toThrow(/unknown backend 'tpu'/);
  });
});
