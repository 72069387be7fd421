import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  Conv2d,
  ConvTranspose2d,
  BatchNorm2d,
  Sequential,
  LayerNorm2d,
  WeightsError,
  loadTorchStateDict,
  exportTorchStateDict,
  countParams,
  serializeSafetensors,
  parseSafetensors,
} from '../index.js';

function net() {
  const s = new Sequential({
    layers: [
      { type: 'Conv2d', inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 },
      { type: 'BatchNorm2d', channels: 4 },
      { type: 'Conv2d', inChannels: 4, outChannels: 8, kernelSize: 3, padding: 1, groups: 4, bias: false },
      { type: 'ConvTranspose2d', inChannels: 8, outChannels: 2, kernelSize: 2, stride: 2 },
      { type: 'LayerNorm2d', channels: 2, normKind: 'BiasFree' },
    ],
  });
  s.build([null, 6, 6, 3]);
  return s;
}
/** A PyTorch-layout state dict with deterministic values. */
function torchSd(): Record<string, { shape: number[]; data: Float32Array }> {
  const shapes: Record<string, number[]> = {
    '0.weight': [4, 3, 3, 3],
    '0.bias': [4],
    '1.weight': [4],
    '1.bias': [4],
    '1.running_mean': [4],
    '1.running_var': [4],
    '1.num_batches_tracked': [],
    '2.weight': [8, 1, 3, 3],
    '3.weight': [8, 2, 2, 2],
    '3.bias': [2],
    '4.weight': [2],
  };
  const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
  let k = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    sd[name] = { shape, data: Float32Array.from({ length: n }, (_, i) => (name.includes('var') ? 1 + i * 0.1 : Math.sin(++k + i * 0.7))) };
  }
  return sd;
}

describe('loadTorchStateDict / exportTorchStateDict', () => {
  it('maps OIHW, depthwise and transposed-conv layouts: conv weight [o,i,kh,kw] lands at HWIO [kh,kw,i,o]', async () => {
    const s = net();
    const sd = torchSd();
    const r = await loadTorchStateDict(s, sd);
    expect(r.missing).toEqual([]);
    const conv = s.layersList[0] as Conv2d;
    const k = conv.kernel.read().arraySync() as number[][][][];
    const src = sd['0.weight']!.data; // [4,3,3,3]
    expect(k[1]![2]![0]![3]).toBeCloseTo(src[((3 * 3 + 0) * 3 + 1) * 3 + 2]!, 6); // o=3,i=0,kh=1,kw=2
    const dw = (s.layersList[2] as Conv2d).kernel.read().arraySync() as number[][][][];
    expect(dw[0]![1]![0]![5]).toBeCloseTo(sd['2.weight']!.data[(5 * 3 + 0) * 3 + 1]!, 6);
    const ct = (s.layersList[3] as ConvTranspose2d).kernel.read().arraySync() as number[][][][]; // [k,k,out,in]
    expect(ct[1]![0]![1]![6]).toBeCloseTo(sd['3.weight']!.data[((6 * 2 + 1) * 2 + 1) * 2 + 0]!, 6); // in=6,out=1,kh=1,kw=0
    s.dispose();
  });

  it('export → safetensors → load into a fresh net reproduces the outputs exactly (PyTorch names and shapes)', async () => {
    const a = net();
    await loadTorchStateDict(a, torchSd());
    const out = await exportTorchStateDict(a);
    expect(Object.keys(out).sort()).toEqual(Object.keys(torchSd()).sort());
    expect(out['3.weight']!.shape).toEqual([8, 2, 2, 2]);
    const file = parseSafetensors(serializeSafetensors(out));
    const b = net();
    await loadTorchStateDict(b, file.tensors);
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 3);
    const ya = a.apply(x) as tf.Tensor,
      yb = b.apply(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0]).toBe(0);
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('strict mode lists every missing, unexpected and mis-shaped key, writes nothing and leaks nothing', async () => {
    const s = net();
    const before = s.getWeights().map((w) => w.dataSync().slice());
    const sd: Record<string, unknown> = torchSd();
    delete sd['1.bias'];
    sd['9.weight'] = { shape: [1], data: new Float32Array(1) };
    sd['0.bias'] = { shape: [5], data: new Float32Array(5) };
    const n0 = tf.memory().numTensors;
    let err: WeightsError | undefined;
    try {
      await loadTorchStateDict(s, sd);
    } catch (e) {
      err = e as WeightsError;
    }
    expect(err).toBeInstanceOf(WeightsError);
    expect(err!.missing).toEqual(['1.bias']);
    expect(err!.unexpected).toEqual(['9.weight']);
    expect(err!.mismatched).toEqual([{ key: '0.bias', expected: [4], got: [5] }]);
    expect(err!.message).toMatch(/missing keys \(1\): 1\.bias/);
    expect(err!.message).toMatch(/unexpected keys \(1\): 9\.weight/);
    expect(err!.message).toMatch(/0\.bias expected \[4\] got \[5\]/);
    expect(tf.memory().numTensors).toBe(n0);
    s.getWeights().forEach((w, i) => {
      expect(Array.from(w.dataSync())).toEqual(Array.from(before[i]!));
    });
    s.dispose();
  });

  it('rejects NaN / Inf weights, naming the key, and keeps the old values', async () => {
    const s = net();
    const sd = torchSd();
    sd['2.weight']!.data[3] = NaN;
    sd['0.bias']!.data[0] = Infinity;
    await expect(loadTorchStateDict(s, sd)).rejects.toThrow(/NaN or Inf values in: 0\.bias, 2\.weight/);
    const t = { ...torchSd(), '0.bias': tf.tensor1d([1, 2, NaN, 4]) };
    await expect(loadTorchStateDict(s, t)).rejects.toThrow(/NaN or Inf values in: 0\.bias/);
    (t['0.bias'] as tf.Tensor).dispose();
    s.dispose();
  });

  it("accepts checkpoints wrapped as { params } and Lightning/DataParallel prefixes ('net.', 'module.')", async () => {
    const s = net();
    expect((await loadTorchStateDict(s, { params: torchSd() })).loaded.length).toBe(11);
    // a whole Lightning .ckpt: many non-tensor top-level entries around state_dict
    const ckpt = {
      epoch: 3,
      global_step: 1200,
      pytorch_lightning_version: '2.1',
      callbacks: {},
      optimizer_states: [{}],
      lr_schedulers: [],
      loops: {},
      hparams_name: 'kwargs',
      hyper_parameters: { lr: 2e-4 },
      state_dict: Object.fromEntries(Object.entries(torchSd()).map(([k, v]) => [`net.${k}`, v])),
    };
    expect((await loadTorchStateDict(s, ckpt)).loaded.length).toBe(11);
    const pre = Object.fromEntries(Object.entries(torchSd()).map(([k, v]) => [`net.${k}`, v]));
    expect((await loadTorchStateDict(s, pre)).loaded.length).toBe(11);
    const mod = Object.fromEntries(Object.entries(torchSd()).map(([k, v]) => [`module.${k}`, v]));
    expect((await loadTorchStateDict(s, mod)).loaded.length).toBe(11);
    // non-strict: partial loads report what is missing
    const part = torchSd();
    delete part['4.weight'];
    expect((await loadTorchStateDict(s, part, { strict: false })).missing).toEqual(['4.weight']);
    s.dispose();
  });

  it('countParams counts PyTorch parameters, not buffers', async () => {
    const s = net();
    // conv 4*3*9+4, bn 4+4, dw 8*9, convT 8*2*4+2, ln 2  (running stats and num_batches_tracked excluded)
    expect(countParams(s)).toBe(112 + 8 + 72 + 66 + 2);
    s.dispose();
    const c = new Conv2d({ inChannels: 48, outChannels: 96, kernelSize: 3, padding: 1, bias: false });
    c.build([null, 8, 8, 48]);
    expect(countParams(c)).toBe(48 * 96 * 9);
    c.dispose();
    const bn = new BatchNorm2d({ channels: 7 });
    bn.build([null, 2, 2, 7]);
    expect(countParams(bn)).toBe(14);
    bn.dispose();
    const ln = new LayerNorm2d({ channels: 5 });
    ln.build([null, 2, 2, 5]);
    expect(ln.torchParameters().map((p) => p.name)).toEqual(['weight', 'bias']);
    ln.dispose();
  });
});
