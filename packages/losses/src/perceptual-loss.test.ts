import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, WeightsError, loadTorchStateDict, losses, parseSafetensors, serializeSafetensors } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { PerceptualLoss, VGGFeatures, vggLayerIndex, vggLayers } from './index.js';
import { directionalDerivative, gradStats, randomImage, scalar, seededVGGStateDict } from './test-helpers.js';

/** Float64 3×3 conv (pad 1) + bias + ReLU of one NHWC image, from OIHW weights: the first VGG layer by hand. */
function conv1Reference(x: ArrayLike<number>, h: number, w: number, wt: Float32Array, bias: Float32Array, cout: number): Float64Array {
  const out = new Float64Array(h * w * cout);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let o = 0; o < cout; o++) {
        let s = bias[o]!;
        for (let c = 0; c < 3; c++)
          for (let u = 0; u < 3; u++)
            for (let v = 0; v < 3; v++) {
              const y = i + u - 1,
                xx = j + v - 1;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              s += wt[((o * 3 + c) * 3 + u) * 3 + v]! * x[(y * w + xx) * 3 + c]!;
            }
        out[(i * w + j) * cout + o] = Math.max(0, s);
      }
  return out;
}

describe('VGG perceptual loss', () => {
  it('torchvision layer indices and BasicSR names', async () => {
    expect(vggLayers('vgg16').length).toBe(31);
    expect(vggLayers('vgg19').length).toBe(37);
    expect(vggLayerIndex('vgg16', 'pool3')).toBe(16);
    expect(vggLayerIndex('vgg19', 'relu3_1')).toBe(11);
    expect(vggLayerIndex('vgg19', 'conv5_4')).toBe(34);
    expect(() => vggLayerIndex('vgg16', 'conv5_4')).toThrow(ConfigError);
    // tfjs-layers re-cases config strings on save/load ('relu1_1' → 'relu11'): the option schema restores BasicSR's spelling
    expect(new VGGFeatures({ arch: 'vgg19', layers: ['relu11', 'pool1', 4] }).options.layers).toEqual(['relu1_1', 'pool1', 4]);
    expect(() => new VGGFeatures({ arch: 'vgg16', layers: ['conv5_4'] })).toThrow(ConfigError);
    expect(() => new VGGFeatures({ arch: 'vgg13' as never, layers: [0] })).toThrow(/option 'arch' must be 'vgg16' or 'vgg19'/);
    expect(() => new VGGFeatures({ arch: 'vgg19', layers: [] })).toThrow(ConfigError);
    expect(() => new VGGFeatures({ arch: 'vgg19', layers: [2], input_norm: true } as never)).toThrow(/did you mean 'inputNorm'/);
  });

  it('relu1_1 equals a float64 conv by hand; loss = Σ w_l · criterion, with ImageNet normalisation and safetensors bytes', async () => {
    await expectNoLeaks(async () => {
      const sd = seededVGGStateDict('vgg19', 4);
      const bytes = serializeSafetensors({ ...sd, 'classifier.0.bias': { shape: [2], data: new Float32Array(2) } });
      const x = randomImage([2, 6, 5, 3], 70);
      const y = randomImage([2, 6, 5, 3], 71);
      const vgg = new VGGFeatures({ arch: 'vgg19', layers: ['relu1_1', 'pool1'] });
      vgg.trainable = false;
      vgg.build([null, null, null, 3]);
      await loadTorchStateDict(vgg, parseSafetensors(bytes).tensors, { ignore: (k) => k.startsWith('classifier.') });
      const [f1, fp] = vgg.apply(x) as tf.Tensor[];
      const xd = await x.data();
      const ref = conv1Reference(xd.subarray(0, 90), 6, 5, sd['features.0.weight']!.data, sd['features.0.bias']!.data, 64);
      const got = (await f1!.data()).subarray(0, 6 * 5 * 64);
      let md = 0;
      ref.forEach((r, i) => {
        md = Math.max(md, Math.abs(r - got[i]!));
      });
      expect(md).toBeLessThan(1e-5);
      expect(fp!.shape).toEqual([2, 3, 2, 64]);
      // loss by its definition from the extractor's features
      const [g1, gp] = vgg.apply(y) as tf.Tensor[];
      const l1 = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.abs(tf.sub(a, b)));
      const wantT = tf.tidy(() => tf.add(tf.mul(l1(f1!, g1!), 0.5), tf.mul(l1(fp!, gp!), 2)));
      const want = await scalar(wantT);
      const loss = losses.create({
        type: 'PerceptualLoss',
        arch: 'vgg19',
        layerWeights: { relu1_1: 0.5, '4': 2 },
        inputNorm: false,
        lossWeight: 3,
      }) as PerceptualLoss;
      await loss.loadWeights(bytes);
      const v = loss.call(x, y);
      expect(await scalar(v)).toBeCloseTo(3 * want, 5);
      // L2 criterion
      const wantL2T = tf.tidy(() => tf.mean(tf.squaredDifference(f1!, g1!)));
      const wantL2 = await scalar(wantL2T);
      const l2 = new PerceptualLoss({ arch: 'vgg19', layerWeights: { relu1_1: 1 }, inputNorm: false, criterion: 'l2' });
      await l2.loadWeights(sd);
      const v2 = l2.call(x, y);
      expect(await scalar(v2)).toBeCloseTo(wantL2, 5);
      // ImageNet normalisation = the un-normalised loss of (x − mean)/std
      const norm = (t: tf.Tensor) => tf.tidy(() => tf.div(tf.sub(t, tf.tensor1d([0.485, 0.456, 0.406])), tf.tensor1d([0.229, 0.224, 0.225])));
      const withNorm = new PerceptualLoss({ arch: 'vgg19', layerWeights: { relu1_1: 1 } });
      await withNorm.loadWeights(sd);
      const l2n = new PerceptualLoss({ arch: 'vgg19', layerWeights: { relu1_1: 1 }, inputNorm: false });
      await l2n.loadWeights(sd);
      const [xn, yn] = [norm(x), norm(y)];
      const a = withNorm.call(x, y);
      const b = l2n.call(xn, yn);
      expect(await scalar(a)).toBeCloseTo(await scalar(b), 5);
      tf.dispose([x, y, f1!, fp!, g1!, gp!, v, v2, xn, yn, a, b, wantT, wantL2T]);
      for (const l of [loss, l2, withNorm, l2n]) l.dispose();
      vgg.dispose();
    });
  });

  it('gradients reach the prediction (VGG-16 and VGG-19) and match finite differences', async () => {
    await expectNoLeaks(async () => {
      const x = randomImage([1, 8, 8, 3], 80);
      const y = randomImage([1, 8, 8, 3], 81);
      for (const arch of ['vgg16', 'vgg19'] as const) {
        const loss = new PerceptualLoss({ arch, layerWeights: { relu1_2: 1, relu2_1: 0.5 }, criterion: 'l2' });
        await loss.loadWeights(seededVGGStateDict(arch, 6));
        const f = (p: tf.Tensor) => loss.call(p, y) as tf.Scalar;
        const g = await gradStats(f, x);
        expect(g.finite && g.maxAbs > 0, arch).toBe(true);
        const [a, n] = await directionalDerivative(f, x, 1e-3, 'gradient-sign');
        expect(Math.abs(a - n), `${arch}: analytic ${a} vs numeric ${n}`).toBeLessThan(3e-2 * Math.abs(a) + 1e-4);
        loss.dispose();
      }
      tf.dispose([x, y]);
    });
  });

  it('typed errors: missing layer in the weights file, weights not loaded, bad options', async () => {
    await expectNoLeaks(async () => {
      const loss = new PerceptualLoss({ arch: 'vgg16', layerWeights: { pool3: 1 } });
      const sd = seededVGGStateDict('vgg16', 16);
      delete sd['features.14.weight'];
      await expect(loss.loadWeights(sd)).rejects.toThrow(WeightsError);
      await expect(loss.loadWeights(sd)).rejects.toThrow(/features\.14\.weight/);
      await expect(loss.loadWeights(serializeSafetensors(sd))).rejects.toThrow(/features\.14\.weight/);
      await expect(loss.loadWeights(null as never)).rejects.toThrow(WeightsError);
      const a = tf.zeros([1, 8, 8, 3]);
      expect(() => loss.call(a, a)).toThrow(WeightsError);
      expect(() => new PerceptualLoss({ arch: 'vgg11' as never })).toThrow(ConfigError);
      expect(() => new PerceptualLoss({ layerWeights: { relu9_9: 1 } })).toThrow(ConfigError);
      expect(() => new PerceptualLoss({ criterion: 'cosine' as never })).toThrow(ConfigError);
      expect(() => new PerceptualLoss({ reduction: 'none' })).toThrow(ConfigError);
      tf.dispose([a]);
      loss.dispose();
    });
  });
});
