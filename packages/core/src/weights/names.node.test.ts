// Weights by name in composed nets (restorekit 0.2): every key unique and stable, subtree loads by prefix,
// unbuilt blocks counted and loaded correctly. Each test failed on 0.1 (see the comment above it).
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import {
  ConfigError,
  Conv2d,
  GELU,
  LayerNorm2d,
  Sequential,
  WeightsError,
  countParams,
  exportTorchStateDict,
  loadTorchStateDict,
  torchParameters,
} from '../index.js';

/** A functional model: conv(stem) → LayerNorm → conv(head), each a restorekit block named by the user. */
function functionalNet() {
  const x = tfl.input({ shape: [null, null, 3] });
  const stem = new Conv2d({ name: 'stem', inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 });
  const norm = new LayerNorm2d({ name: 'norm', channels: 4 });
  const head = new Conv2d({ name: 'head', inChannels: 4, outChannels: 3, kernelSize: 1 });
  const y = head.apply(norm.apply(stem.apply(x))) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: y });
}

describe('PyTorch keys of composed nets', () => {
  it("a functional model prefixes each layer's keys by the layer name (0.1 exported 2 keys for two Conv2d, not 4)", async () => {
    await tf.setBackend('cpu');
    const model = functionalNet();
    const keys = torchParameters(model).map((p) => p.name);
    expect(keys).toEqual(['stem.weight', 'stem.bias', 'norm.weight', 'norm.bias', 'head.weight', 'head.bias']);
    const sd = await exportTorchStateDict(model);
    expect(Object.keys(sd)).toEqual(keys);
    expect(sd['stem.weight']!.shape).toEqual([4, 3, 3, 3]);
    model.dispose();
  });

  it('export → strict load round-trips a composed net exactly, weight by weight (0.1: a strict load "succeeded" with 2 of 4)', async () => {
    const a = functionalNet();
    const b = functionalNet();
    // b's layers got the same user names; make its weights different first.
    for (const w of b.weights) w.write(tf.zerosLike(w.read()));
    const report = await loadTorchStateDict(b, await exportTorchStateDict(a));
    expect(report.loaded.length).toBe(6);
    for (const [i, w] of a.weights.entries()) expect(Array.from(await b.weights[i]!.read().data())).toEqual(Array.from(await w.read().data()));
    a.dispose();
    b.dispose();
  });

  it('two weights under one key are an error naming the key, never a silent overwrite', async () => {
    const c1 = new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1 });
    const c2 = new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1 });
    expect(() => torchParameters([c1, c2])).toThrow(WeightsError);
    expect(() => countParams([c1, c2])).toThrow(/2 PyTorch key\(s\) name two weights each: weight, bias/);
    tf.dispose([...c1.weights, ...c2.weights].map((w) => w.read()));
  });

  it("tfjs's own Conv2D and Dense layers get PyTorch names; other weighted tfjs layers are refused by name", async () => {
    const x = tfl.input({ shape: [8, 8, 3] });
    const y = tfl.layers.conv2d({ name: 'c', filters: 5, kernelSize: 3, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: x, outputs: y });
    expect(torchParameters(m).map((p) => [p.name, p.torchShape])).toEqual([
      ['c.weight', [5, 3, 3, 3]],
      ['c.bias', [5]],
    ]);
    const bn = tfl.model({ inputs: x, outputs: tfl.layers.batchNormalization({ name: 'bn' }).apply(x) as tfl.SymbolicTensor });
    expect(() => torchParameters(bn)).toThrow(/layer 'bn' \(BatchNormalization\) has weights with no PyTorch name/);
    m.dispose();
    bn.dispose();
  });
});

describe('loading one block out of a full checkpoint', () => {
  /** A "full checkpoint": two Sequential stages, as a U-Net level would be stored. */
  async function fullCheckpoint() {
    const stage = () =>
      new Sequential({
        layers: [
          { type: 'Conv2d', inChannels: 2, outChannels: 2, kernelSize: 3, padding: 1 },
          { type: 'LayerNorm2d', channels: 2 },
        ],
      });
    const x = tfl.input({ shape: [null, null, 2] });
    const s1 = stage();
    const s2 = stage();
    const m = tfl.model({ inputs: x, outputs: s2.apply(s1.apply(x)) as tfl.SymbolicTensor });
    const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of Object.entries(await exportTorchStateDict(m))) sd[k.replace(s1.name, 'encoder_level1').replace(s2.name, 'encoder_level2')] = v;
    m.dispose();
    return sd;
  }

  it('{ prefix } loads the subtree strictly and ignores the rest (0.1 threw "unexpected keys" for the rest)', async () => {
    const sd = await fullCheckpoint();
    expect(Object.keys(sd).length).toBe(8);
    const block = new Sequential({
      layers: [
        { type: 'Conv2d', inChannels: 2, outChannels: 2, kernelSize: 3, padding: 1 },
        { type: 'LayerNorm2d', channels: 2 },
      ],
    });
    const r = await loadTorchStateDict(block, sd, { prefix: 'encoder_level2.' });
    expect(r.loaded).toEqual(['encoder_level2.0.weight', 'encoder_level2.0.bias', 'encoder_level2.1.weight', 'encoder_level2.1.bias']);
    const w = block.torchParameters()[0]!.variable.read();
    const want = sd['encoder_level2.0.weight']!.data; // OIHW [2,2,3,3]; tfjs HWIO: element [0,0,0,0] is O0 I0 H0 W0
    expect((await w.data())[0]).toBe(want[0]);
    block.dispose();
  });

  it('strict inside the subtree: a block that does not fit its subtree names what is wrong', async () => {
    const sd = await fullCheckpoint();
    const wrong = new Sequential({
      layers: [
        { type: 'Conv2d', inChannels: 2, outChannels: 2, kernelSize: 3, padding: 1, bias: false },
        { type: 'LayerNorm2d', channels: 2, normKind: 'BiasFree' },
      ],
    });
    await expect(loadTorchStateDict(wrong, sd, { prefix: 'encoder_level1.' })).rejects.toThrow(
      /unexpected keys \(2\): encoder_level1\.0\.bias, encoder_level1\.1\.bias/,
    );
    await expect(loadTorchStateDict(wrong, sd, { prefix: 'decoder.' })).rejects.toThrow(/no key starts with the prefix 'decoder\.'/);
    wrong.dispose();
  });
});

describe('unbuilt blocks', () => {
  it('count and load from their options alone (0.1: countParams gave 0 and every key was "unexpected")', async () => {
    const conv = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3 });
    expect(conv.built).toBe(false);
    expect(countParams(conv)).toBe(8 * 3 * 9 + 8);
    expect(conv.built).toBe(true);
    const seq = new Sequential({
      layers: [{ type: 'Conv2d', inChannels: 3, outChannels: 4, kernelSize: 1 }, { type: 'GELU' }, { type: 'LayerNorm2d', channels: 4 }],
    });
    const sd = {
      '0.weight': { shape: [4, 3, 1, 1], data: new Float32Array(12).fill(0.5) },
      '0.bias': { shape: [4], data: new Float32Array(4) },
      '2.weight': { shape: [4], data: new Float32Array(4).fill(1) },
      '2.bias': { shape: [4], data: new Float32Array(4) },
    };
    expect((await loadTorchStateDict(seq, sd)).loaded.length).toBe(4);
    expect(countParams(new GELU())).toBe(0);
    conv.dispose();
    seq.dispose();
  });

  it('a block whose options do not fix its input channels says "build first" instead of counting 0', async () => {
    const s = new Sequential({ layers: [{ type: 'GELU' }] });
    expect(() => countParams(s)).toThrow(ConfigError);
    expect(() => countParams(s)).toThrow(/is not built and its options do not fix its input channels: call build\(inputShape\)/);
  });
});
