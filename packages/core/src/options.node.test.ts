import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { ConfigError, Conv2d, LayerNorm2d, Sequential, SimAM, opt, resolveOptions, suggestOption } from './index.js';

/** Saves a LayersModel to memory (model.json + weights) the way tfjs does for files. */
async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

describe('option schema', () => {
  it('rejects unknown options with the camelCase name of a snake_case spelling, or the closest name', () => {
    expect(() => new Conv2d({ inChannels: 3, outChannels: 8, kernel_size: 3 } as never)).toThrow(ConfigError);
    expect(() => new Conv2d({ inChannels: 3, outChannels: 8, kernel_size: 3 } as never)).toThrow(
      /unknown option 'kernel_size' \(did you mean 'kernelSize'\?\)/,
    );
    expect(() => new LayerNorm2d({ channels: 4, normKnd: 'BiasFree' } as never)).toThrow(/unknown option 'normKnd' \(did you mean 'normKind'\?\)/);
    expect(() => new LayerNorm2d({ channels: 4, kind: 'BiasFree' } as never)).toThrow(
      /unknown option 'kind' \(did you mean 'normKind'\?\).*known options: channels, normKind, eps/,
    );
    expect(suggestOption('ffn_expansion_factor', ['channels', 'ffnExpansionFactor'])).toBe('ffnExpansionFactor');
    expect(suggestOption('zzzz', ['channels', 'heads'])).toBeNull();
    // names of 0.1 and of the official constructors that the naming table replaces
    expect(suggestOption('dim', ['channels', 'heads'])).toBe('channels');
    expect(suggestOption('LayerNorm_type', ['channels', 'normKind'])).toBe('normKind');
    expect(suggestOption('dim', ['inChannels', 'outChannels'])).toBe('outChannels');
  });

  it('names the option, what it must be and what was given', () => {
    expect(() => new LayerNorm2d({ channels: 4, normKind: 'bias_freee' as never })).toThrow(
      /option 'normKind' must be one of 'WithBias', 'BiasFree', got "bias_freee"/,
    );
    expect(() => new SimAM({ lambda: -1 })).toThrow(/option 'lambda' must be a finite number > 0, got -1/);
    expect(() => new Conv2d({ inChannels: 3, outChannels: 8 } as never)).toThrow(/option 'kernelSize' is required/);
    expect(() => new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: -1 })).toThrow(/option 'padding' must be/);
    expect(() => resolveOptions('f', { a: opt.posInt() }, 'x')).toThrow(/f: options must be an object, got "x"/);
  });

  it('resolves defaults once: getConfig holds every option, and enum variants map to the canonical value', () => {
    const ln = new LayerNorm2d({ channels: 4, normKind: 'bias_free' as never, name: 'ln' });
    expect(ln.options).toEqual({ channels: 4, normKind: 'BiasFree', eps: 1e-5 });
    expect(Object.isFrozen(ln.options)).toBe(true);
    const cfg = ln.getConfig();
    expect(cfg).toMatchObject({ channels: 4, normKind: 'BiasFree', eps: 1e-5, name: 'ln' });
    const conv = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3 });
    expect(conv.getConfig()).toMatchObject({ stride: 1, padding: 0, groups: 1, bias: true });
  });

  it('a saved model reloads with the same options, and editing model.json changes the reloaded model', async () => {
    await tf.setBackend('cpu');
    const x = tfl.input({ shape: [null, null, 3] });
    const body = new Sequential({
      name: 'body',
      layers: [
        { type: 'Conv2d', inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 },
        { type: 'LayerNorm2d', channels: 4, normKind: 'BiasFree' },
      ],
    });
    const model = tfl.model({ inputs: x, outputs: body.apply(x) as tfl.SymbolicTensor });
    const art = await saveToMemory(model);
    const topo = JSON.stringify(art.modelTopology);
    expect(topo).not.toMatch(/rk_options|rkOptions/);
    const again = await tfl.loadLayersModel(tf.io.fromMemory(art));
    const body2 = again.getLayer('body') as Sequential;
    expect(JSON.parse(JSON.stringify(body2.getConfig())).layers).toEqual(JSON.parse(JSON.stringify(body.getConfig())).layers);
    const input = tf.randomUniform([1, 5, 6, 3], 0, 1, 'float32', 1);
    const a = model.predict(input) as tf.Tensor;
    const b = again.predict(input) as tf.Tensor;
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    // Edit the saved file: the LayerNorm becomes WithBias (one more weight, `bias`), eps changes the values.
    const edited = JSON.parse(topo.replace('"norm_kind":"bias_free"', '"norm_kind":"with_bias"'));
    expect(JSON.stringify(edited)).toMatch(/"norm_kind":"with_bias"/);
    const editedModel = await tfl.loadLayersModel(tf.io.fromMemory({ ...art, modelTopology: edited, weightSpecs: undefined, weightData: undefined }));
    const ln = (editedModel.getLayer('body') as Sequential).layersList[1] as LayerNorm2d;
    expect(ln.options.normKind).toBe('WithBias');
    expect(ln.weights.map((w) => w.originalName.split('/').pop())).toEqual(['weight', 'bias']);
    tf.dispose([input, a, b]);
    for (const m of [model, again, editedModel]) m.dispose();
  });

  it('configs saved by restorekit 0.1 (with the hex rkOptions copy) load with their exact options, or say how to re-save', () => {
    const hex = (o: unknown) => Array.from(new TextEncoder().encode(JSON.stringify(o)), (b) => b.toString(16).padStart(2, '0')).join('');
    const conv = new Conv2d({
      inChannels: 1,
      outChannels: 1,
      kernelSize: 1,
      rkOptions: hex({ inChannels: 3, outChannels: 8, kernelSize: 3, bias: false }),
    } as never);
    expect(conv.options).toMatchObject({ inChannels: 3, outChannels: 8, kernelSize: 3, bias: false });
    // 0.1's LayerNorm2d option 'kind' is 'normKind' in 0.2:
    expect(() => new LayerNorm2d({ channels: 4, rkOptions: hex({ channels: 4, kind: 'BiasFree' }) } as never)).toThrow(
      /unknown option 'kind'.*saved by restorekit 0\.1.*save it again/,
    );
    expect(() => new LayerNorm2d({ channels: 4, rkOptions: 'zz' } as never)).toThrow(/rkOptions is not a hex-encoded options string/);
  });
});
