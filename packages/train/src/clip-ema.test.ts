import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, exportTorchStateDict } from '@restorekit/core';
import { clipGradNorm, globalNorm } from './clip.js';
import { EMA } from './ema.js';
import { tinyNet } from './test-helpers.js';

describe('clipGradNorm (torch.nn.utils.clip_grad_norm_)', () => {
  it('total norm over all gradients; scales by maxNorm/(norm + 1e-6) when above', async () => {
    // ‖(3, 4)‖ = 5, ‖12‖ = 12, total = sqrt(25 + 144) = 13.
    const g = [tf.tensor1d([3, 4]), null, tf.tensor2d([[12]])];
    const { grads, norm } = clipGradNorm(g, 6.5);
    expect((await norm.data())[0]).toBeCloseTo(13, 5);
    const coef = 6.5 / (13 + 1e-6);
    expect(grads[1]).toBeNull();
    const a = await grads[0]!.data();
    const b = await grads[2]!.data();
    for (const [got, want] of [
      [a[0]!, 3 * coef],
      [a[1]!, 4 * coef],
      [b[0]!, 12 * coef],
    ])
      expect(Math.abs(got - want)).toBeLessThan(1e-6);
    // The caller's gradients are untouched.
    expect(Array.from(await g[0]!.data())).toEqual([3, 4]);
    tf.dispose([...g.filter((x) => x !== null), ...grads.filter((x) => x !== null), norm] as tf.Tensor[]);
  });

  it('leaves gradients below the threshold unchanged (coefficient clamped to 1)', async () => {
    const g = [tf.tensor1d([3, 4])];
    const { grads, norm } = clipGradNorm(g, 5.5);
    expect(Array.from(await grads[0]!.data())).toEqual([3, 4]);
    const zero = globalNorm([null]);
    expect((await zero.data())[0]).toBe(0);
    tf.dispose([g[0]!, grads[0]!, norm, zero]);
    expect(() => clipGradNorm([], 0)).toThrow(ConfigError);
  });
});

describe('EMA (BasicSR model_ema)', () => {
  it('ema = decay·ema + (1 − decay)·w, starting from the weights; withWeights swaps and restores exactly', async () => {
    const net = tinyNet(5);
    const ema = new EMA(net, { decay: 0.9 });
    const v = net.layersList[0]! as unknown as { kernel: { read(): tf.Variable } };
    const kernel = v.kernel.read();
    const w0 = Array.from(await kernel.data());
    // Move the weights: w1 = w0 + 1, then w2 = w0 + 3.
    kernel.assign(tf.add(kernel, 1));
    ema.update();
    kernel.assign(tf.add(kernel, 2));
    ema.update();
    // ema1 = 0.9 w0 + 0.1 (w0 + 1) = w0 + 0.1; ema2 = 0.9 (w0 + 0.1) + 0.1 (w0 + 3) = w0 + 0.39
    const e = Array.from(await ema.tensors[0]!.data());
    e.forEach((x, i) => {
      expect(Math.abs(x - (w0[i]! + 0.39))).toBeLessThan(1e-6);
    });
    const trained = Array.from(await kernel.data());
    const inside = await ema.withWeights(async () => Array.from(await kernel.data()));
    expect(inside).toEqual(e);
    expect(Array.from(await kernel.data())).toEqual(trained);
    // The EMA state dict has PyTorch keys and layouts, and loads back.
    const sd = await ema.stateDict();
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(sd['0.weight']!.shape).toEqual([4, 3, 3, 3]);
    const other = new EMA(net, { decay: 0.5 });
    await other.loadStateDict(sd);
    expect(Array.from(await other.tensors[0]!.data())).toEqual(e);
    expect(Array.from(await kernel.data())).toEqual(trained);
    const live = await exportTorchStateDict(net);
    expect(Array.from(live['0.weight']!.data)).not.toEqual(Array.from(sd['0.weight']!.data));
    ema.dispose();
    other.dispose();
    net.dispose();
  });

  it('rejects a decay outside [0, 1)', async () => {
    const net = tinyNet(5);
    expect(() => new EMA(net, { decay: 1 })).toThrow(/decay must be a number in \[0, 1\)/);
    net.dispose();
  });
});
