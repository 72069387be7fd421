import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, ShapeError } from '@restorekit/core';
import { Adam, AdamW, parseOptimizerState, serializeOptimizerState } from './optimizers.js';
import type { NamedParam } from './params.js';

/**
 * PyTorch's update rule (torch/optim/adam.py, `_single_tensor_adam`) written out in float64 for 3 steps on four scalars,
 * lr 0.01, betas (0.8, 0.95), eps 1e-3 (large, so adding it outside sqrt(v̂) rather than inside shows), wd 0.1:
 *   AdamW: p ← p(1 − lr·wd); Adam: g ← g + wd·p
 *   m ← m + (1 − β1)(g − m);  v ← β2·v + (1 − β2)g²
 *   p ← p − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps)
 * The numbers below were computed with that rule in Python floats (no torch at hand); e.g. AdamW step 1, p = 0.5, g = 0.3:
 *   p ← 0.5·(1 − 0.001) = 0.4995; m = 0.06; v = 0.0045; m̂ = 0.3; sqrt(v̂) = 0.3; p ← 0.4995 − 0.01·0.3/(0.3 + 0.001) = 0.48953322259136...
 */
const P0 = [0.5, -1.25, 2.0, 0.0];
const GRADS = [
  [0.3, -0.2, 1.5, 0.0],
  [-0.1, -0.4, 0.5, 2.0],
  [0.05, 0.6, -1.0, 0.001],
];
const HYPER = { lr: 0.01, betas: [0.8, 0.95] as [number, number], eps: 1e-3, weightDecay: 0.1 };
const EXPECTED = {
  AdamW: [
    [0.4895332225913621, -1.2387997512437812, 1.9880066622251833, 0.0],
    [0.4855449377288446, -1.227828114477866, 1.9774909986795317, -0.007752498248103417],
    [0.4814070114273094, -1.2280181911163333, 1.9741363913743717, -0.013424719971076884],
  ],
  AdamWm: [0.0324, 0.030399999999999983, 0.07200000000000006, 0.32019999999999993],
  AdamWv: [0.004661250000000004, 0.027405000000000027, 0.16340625000000014, 0.19000005000000017],
  Adam: [
    [0.49002849002849, -1.2400306748466257, 1.9900058788947679, 0.0],
    [0.48489867309367923, -1.2301200229232805, 1.981130491288813, -0.007752498248103417],
    [0.4793595803471264, -1.228762075467227, 1.9780976022259409, -0.01342972277259689],
  ],
  Adamm: [0.056338429302329414, -0.030042891256011645, 0.16906270388809252, 0.32004495003503786],
  Adamv: [0.006136358895097596, 0.029184718322692184, 0.18577097063768627, 0.19000000252563223],
  AdamWAmsgrad3: [0.4814505392492139, -1.2280181911163333, 1.9741363913743717, -0.013281021888432998],
};

function close(got: ArrayLike<number>, want: number[], tol = 1e-6) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `element ${i}: got ${got[i]}, want ${want[i]}`).toBeLessThan(tol);
}

/** The four scalars split over two parameters (shapes [2] and [2, 1]) so per-parameter state is exercised. */
function scalars(): NamedParam[] {
  return [
    { name: 'a', variable: tf.variable(tf.tensor1d(P0.slice(0, 2))) },
    { name: 'b.weight', variable: tf.variable(tf.tensor2d(P0.slice(2), [2, 1])) },
  ];
}
const gradsAt = (t: number) => [tf.tensor1d(GRADS[t]!.slice(0, 2)), tf.tensor2d(GRADS[t]!.slice(2), [2, 1])];
const values = async (ps: NamedParam[]) => [...(await ps[0]!.variable.data()), ...(await ps[1]!.variable.data())];

describe('AdamW / Adam follow PyTorch numerically', () => {
  for (const kind of ['AdamW', 'Adam'] as const) {
    it(`${kind}: 3 steps equal the written-out PyTorch rule to 1e-6`, async () => {
      const ps = scalars();
      const o = kind === 'AdamW' ? new AdamW(HYPER) : new Adam(HYPER);
      for (let t = 0; t < 3; t++) {
        const g = gradsAt(t);
        o.step(ps, g);
        tf.dispose(g);
        close(await values(ps), EXPECTED[kind][t]!);
      }
      const sd = await o.stateDict(ps);
      close([...sd.state.a!.exp_avg.data, ...sd.state['b.weight']!.exp_avg.data], EXPECTED[`${kind}m`]);
      close([...sd.state.a!.exp_avg_sq.data, ...sd.state['b.weight']!.exp_avg_sq.data], EXPECTED[`${kind}v`]);
      expect(sd.state.a!.step).toBe(3);
      o.dispose();
      for (const p of ps) p.variable.dispose();
    });
  }

  it('AdamW amsgrad uses the running maximum of v in the denominator', async () => {
    const ps = scalars();
    const o = new AdamW({ ...HYPER, amsgrad: true });
    for (let t = 0; t < 3; t++) {
      const g = gradsAt(t);
      o.step(ps, g);
      tf.dispose(g);
    }
    close(await values(ps), EXPECTED.AdamWAmsgrad3);
    o.dispose();
    for (const p of ps) p.variable.dispose();
  });

  it('AdamW decays before the moment update, Adam adds wd·p to the gradient: they differ from step 1', async () => {
    // Sanity on the two constructions: with wd = 0 both reduce to the same update.
    const a = scalars();
    const b = scalars();
    const oa = new AdamW({ ...HYPER, weightDecay: 0 });
    const ob = new Adam({ ...HYPER, weightDecay: 0 });
    const g = gradsAt(0);
    oa.step(a, g);
    ob.step(b, g);
    expect(await values(a)).toEqual(await values(b));
    tf.dispose(g);
    oa.dispose();
    ob.dispose();
    for (const p of [...a, ...b]) p.variable.dispose();
  });

  it('PyTorch defaults: AdamW weight decay 1e-2, Adam 0; betas (0.9, 0.999), eps 1e-8, lr 1e-3', () => {
    expect(new AdamW().options).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false });
    expect(new Adam().options.weightDecay).toBe(0);
  });

  it('a parameter without a gradient is left alone: no decay, no state (as p.grad is None in PyTorch)', async () => {
    const ps = scalars();
    const o = new AdamW(HYPER);
    const g = gradsAt(0);
    o.step(ps, [g[0]!, null]);
    close(await ps[1]!.variable.data(), P0.slice(2));
    expect(o.paramState('b.weight')).toBeUndefined();
    expect(o.paramState('a')!.step).toBe(1);
    o.step(ps, g);
    expect(o.paramState('a')!.step).toBe(2);
    expect(o.paramState('b.weight')!.step).toBe(1);
    tf.dispose(g);
    o.dispose();
    for (const p of ps) p.variable.dispose();
  });

  it('rejects PyTorch spellings with a suggestion, bad betas, and mis-shaped gradients', () => {
    expect(() => new AdamW({ weight_decay: 0.1 } as never)).toThrow(/unknown option 'weight_decay' \(did you mean 'weightDecay'\?\)/);
    expect(() => new AdamW({ betas: [0.9, 1] })).toThrow(ConfigError);
    const ps = scalars();
    const o = new Adam();
    const bad = [tf.zeros([3]), tf.zeros([2, 1])];
    expect(() => o.step(ps, bad)).toThrow(ShapeError);
    tf.dispose(bad);
    for (const p of ps) p.variable.dispose();
  });
});

describe('optimizer state', () => {
  it('is saved in PyTorch layout by parameter name and resumes bit for bit', async () => {
    // A conv kernel in tfjs HWIO [kh, kw, in, out] = [1, 2, 3, 2]; PyTorch OIHW is [2, 3, 1, 2].
    const mk = () => ({
      name: 'conv.weight',
      variable: tf.variable(
        tf.tensor4d(
          Array.from({ length: 12 }, (_, i) => (i - 5) / 7),
          [1, 2, 3, 2],
        ),
      ),
      layout: 'conv' as const,
    });
    const grad = (t: number) =>
      tf.tensor4d(
        Array.from({ length: 12 }, (_, i) => Math.sin(i + 3 * t)),
        [1, 2, 3, 2],
      );
    const straight = [mk()];
    const resumed = [mk()];
    const o1 = new AdamW({ lr: 0.05, weightDecay: 0.01 });
    const o2 = new AdamW({ lr: 0.05, weightDecay: 0.01 });
    for (let t = 0; t < 2; t++) {
      const g = grad(t);
      o1.step(straight, [g]);
      o2.step(resumed, [g]);
      g.dispose();
    }
    const sd = await o2.stateDict(resumed);
    expect(sd.state['conv.weight']!.exp_avg.shape).toEqual([2, 3, 1, 2]);
    // exp_avg in OIHW equals the tfjs moment transposed.
    const mTorch = tf.transpose(o2.paramState('conv.weight')!.expAvg, [3, 2, 0, 1]);
    expect(Array.from(sd.state['conv.weight']!.exp_avg.data)).toEqual(Array.from(await mTorch.data()));
    mTorch.dispose();
    const bytes = serializeOptimizerState(sd);
    o2.dispose();
    const o3 = new AdamW({ lr: 0.05, weightDecay: 0.01 });
    o3.loadStateDict(parseOptimizerState(bytes), resumed);
    expect(o3.paramState('conv.weight')!.step).toBe(2);
    for (let t = 2; t < 5; t++) {
      const g = grad(t);
      o1.step(straight, [g]);
      o3.step(resumed, [g]);
      g.dispose();
    }
    expect(Array.from(await resumed[0]!.variable.data())).toEqual(Array.from(await straight[0]!.variable.data()));
    o1.dispose();
    o3.dispose();
    straight[0]!.variable.dispose();
    resumed[0]!.variable.dispose();
  });

  it('a state that does not fit the parameters is a CheckpointError naming them', async () => {
    const ps = scalars();
    const o = new Adam();
    const g = gradsAt(0);
    o.step(ps, g);
    tf.dispose(g);
    const sd = await o.stateDict(ps);
    const other: NamedParam[] = [{ name: 'a', variable: tf.variable(tf.zeros([3])) }];
    expect(() => new Adam().loadStateDict(sd, other)).toThrow(/exp_avg of 'a' has shape \[2\], the parameter \[3\][\s\S]*'b.weight' is not a parameter/);
    expect(() => new AdamW().loadStateDict(sd, ps)).toThrow(CheckpointError);
    o.dispose();
    for (const p of [...ps, ...other]) p.variable.dispose();
  });

  it('stepping keeps the number of tensors constant', () => {
    const ps = scalars();
    const o = new AdamW({ ...HYPER, amsgrad: true });
    const g = gradsAt(1);
    o.step(ps, g);
    const n = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) o.step(ps, g);
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose(g);
    o.dispose();
    for (const p of ps) p.variable.dispose();
  });
});
