import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { blocks } from '@restorekit/core';
import { expectNoLeaks } from '@restorekit/core/testing';
import { releaseFFTCacheUse } from '@restorekit/fft';
import { MDTA } from '@restorekit/restormer';
import { SpatialFrequencyAttention } from './index.js';

// Both attentions run Restormer's transposed attention (`transposedAttention` of @restorekit/restormer). On an
// all-zero input q = k = 0, and F.normalize's clamp max(‖t‖, 1e-12) has a finite gradient in PyTorch; an
// implementation that differentiates sqrt(Σt²) at 0 gets ∞·0 = NaN in every weight behind q and k (AnyIR's attention
// had 104 such entries in qkv and qkv_dwconv before it used the shared implementation).
const ATTENTIONS: [string, () => tfl.layers.Layer][] = [
  ['MDTA', () => new MDTA({ channels: 8, heads: 2 })],
  ['SpatialFrequencyAttention (fft)', () => new SpatialFrequencyAttention({ channels: 8, heads: 2 })],
  ['SpatialFrequencyAttention (identity, bias)', () => new SpatialFrequencyAttention({ channels: 8, heads: 2, bias: true, frequencyBranch: 'identity' })],
  [
    'TransformerBlock with AnyIR attention',
    () => blocks.create({ type: 'TransformerBlock', channels: 8, attention: { type: 'SpatialFrequencyAttention', heads: 2 } }),
  ],
];

describe('transposed attention on an all-zero input', () => {
  for (const [name, make] of ATTENTIONS)
    for (const training of [false, true])
      it(`${name}${training ? ' (train mode)' : ''}: finite output and a finite gradient for every weight`, () =>
        expectNoLeaks(async () => {
          const m = make();
          const x = tf.zeros([2, 4, 5, 8]);
          m.build(x.shape);
          const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x, { training }) as tf.Tensor)) as tf.Scalar, vars);
          expect(Number.isFinite((await value.data())[0])).toBe(true);
          expect(Object.keys(grads)).toHaveLength(vars.length);
          const bad: string[] = [];
          for (const [k, g] of Object.entries(grads)) {
            const n = Array.from(await g.data()).filter((e) => !Number.isFinite(e)).length;
            if (n) bad.push(`${k}: ${n} non-finite`);
          }
          expect(bad).toEqual([]);
          tf.dispose([x, value, Object.values(grads)]);
          m.dispose();
          // A parent's dispose does not dispose its children: a plain TransformerBlock (unlike DAB) leaves its
          // attention registered as a user of the FFT basis cache, so end that use as @restorekit/fft documents.
          if (name.startsWith('TransformerBlock')) releaseFFTCacheUse(m);
        }));
});
