import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Conv2d, Sequential, LayerNorm2d, BatchNorm2d, countParams } from './index.js';

async function saveLoad(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      art = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  // through JSON text, as a file would be
  const topo = JSON.parse(JSON.stringify(art!.modelTopology));
  return tfl.loadLayersModel(tf.io.fromMemory({ ...art!, modelTopology: topo }));
}

describe('a functional model composed from Blocks', () => {
  it('saves with model.save and reloads with tf.loadLayersModel to identical outputs', async () => {
    const before = tf.memory().numTensors;
    const inp = tfl.input({ shape: [null, null, 3] });
    const stem = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1, name: 'stem' });
    const body = new Sequential({
      name: 'body',
      layers: [
        { type: 'LayerNorm2d', channels: 8, normKind: 'BiasFree' },
        { type: 'Conv2d', inChannels: 8, outChannels: 16, kernelSize: 1 },
        { type: 'SimpleGate' },
        { type: 'BatchNorm2d', channels: 8 },
        { type: 'Conv2d', inChannels: 8, outChannels: 8, kernelSize: 3, padding: 1, groups: 8 },
      ],
    });
    const head = new Conv2d({ inChannels: 8, outChannels: 3, kernelSize: 3, padding: 1, name: 'head' });
    const h = stem.apply(inp) as tfl.SymbolicTensor;
    const out = tfl.layers
      .add()
      .apply([inp, head.apply(tfl.layers.add().apply([h, body.apply(h) as tfl.SymbolicTensor])) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: inp, outputs: out });
    // every weight of every nested child is visible to the model, with unique stable names
    const names = model.weights.map((w) => w.originalName);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('body/4/weight');
    expect(names).toContain('body/3/running_var');
    expect(model.trainableWeights.length).toBe(2 + 1 + 2 + 2 + 2 + 2);
    expect(countParams(model)).toBe(3 * 8 * 9 + 8 + 8 + 8 * 16 + 16 + 8 + 8 + 8 * 9 + 8 + 8 * 3 * 9 + 3);
    const x = tf.randomUniform([2, 12, 20, 3], 0, 1, 'float32', 5);
    const y = model.predict(x) as tf.Tensor;
    const loaded = await saveLoad(model);
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(Array.from(await y2.data())).toEqual(Array.from(await y.data()));
    expect(loaded.layers.map((l) => l.getClassName())).toContain('restorekit>Sequential');
    tf.dispose([x, y, y2]);
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('freezing a Block freezes all its children (and unfreezing restores them)', () => {
    const s = new Sequential({
      layers: [
        { type: 'Conv2d', inChannels: 2, outChannels: 2, kernelSize: 1 },
        { type: 'LayerNorm2d', channels: 2 },
      ],
    });
    s.build([null, 4, 4, 2]);
    expect(s.trainableWeights.length).toBe(4);
    s.trainable = false;
    expect(s.trainableWeights.length).toBe(0);
    expect(s.nonTrainableWeights.length).toBe(4);
    expect((s.layersList[1] as LayerNorm2d).trainable).toBe(false);
    s.trainable = true;
    expect(s.trainableWeights.length).toBe(4);
    s.dispose();
    const bn = new BatchNorm2d({ channels: 3 });
    bn.build([null, 2, 2, 3]);
    expect(bn.trainableWeights.map((w) => w.originalName)).toEqual(['weight', 'bias']);
    expect(bn.nonTrainableWeights.map((w) => w.originalName)).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    bn.dispose();
  });
});
