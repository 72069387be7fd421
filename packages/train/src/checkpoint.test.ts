import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, WeightsError, exportTorchStateDict, loadTorchStateDict, parseSafetensors, serializeSafetensors } from '@restorekit/core';
import { Adam, AdamW, parseOptimizerState } from './optimizers.js';
import { cosineAnnealingRestartCyclicLR } from './schedules.js';
import { NoisyBatches, l1, tinyNet } from './test-helpers.js';
import { Trainer, decodeCheckpoint, encodeCheckpoint, type StepResult, type TrainerOptions } from './trainer.js';

/** cpu, wasm and tfjs-node run the same float32 kernels in the same order: resuming must be bit for bit there. */
const exactBackend = () => ['cpu', 'wasm', 'tensorflow'].includes(tf.getBackend());

function expectSame(a: Record<string, { data: Float32Array }>, b: Record<string, { data: Float32Array }>, what: string) {
  expect(Object.keys(a).sort(), what).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    const x = a[k]!.data;
    const y = b[k]!.data;
    if (exactBackend()) expect(Array.from(x), `${what} ${k}`).toEqual(Array.from(y));
    else
      x.forEach((v, i) => {
        expect(Math.abs(v - y[i]!), `${what} ${k}[${i}]`).toBeLessThan(1e-5);
      });
  }
}

const schedule = cosineAnnealingRestartCyclicLR({ lr: 4e-3, periods: [3, 20], restartWeights: [1, 0.5], etaMins: [1e-3, 1e-5] });
const options = (seed: number, dataSeed: number): TrainerOptions => ({
  model: tinyNet(seed),
  loss: l1,
  optimizer: new AdamW({ lr: 4e-3, weightDecay: 1e-2, betas: [0.9, 0.99] }),
  schedule,
  clipGradNorm: 0.2,
  ema: 0.9,
  data: new NoisyBatches(dataSeed),
});

describe('checkpoints resume exactly', () => {
  it('N steps = N/2 steps + save + new Trainer from the checkpoint (fresh model, other init and data seed) + N/2 steps', async () => {
    const N = 8;
    const straight = new Trainer(options(1, 21));
    const straightLog: StepResult[] = [];
    for (let i = 0; i < N; i++) straightLog.push(await straight.step());

    const first = new Trainer(options(1, 21));
    for (let i = 0; i < N / 2; i++) await first.step();
    // Through the one-file encoding, as it would be written to disk.
    const bytes = encodeCheckpoint(await first.saveCheckpoint());
    first.dispose();
    (first.model as { dispose(): void }).dispose();

    const { optimizer: _drop, ...rest } = options(77, 999); // different init and data seed: both come from the checkpoint
    (_drop as AdamW).dispose();
    const resumed = await Trainer.resume(decodeCheckpoint(bytes), rest);
    expect(resumed.globalStep).toBe(N / 2);
    expect(resumed.optimizer.type).toBe('AdamW');
    const resumedLog: StepResult[] = [];
    for (let i = 0; i < N / 2; i++) resumedLog.push(await resumed.step());

    // Same lrs, losses and gradient norms, step for step.
    const pick = (r: StepResult) => [r.step, r.lr, r.loss, r.gradNorm];
    if (exactBackend()) expect(resumedLog.map(pick)).toEqual(straightLog.slice(N / 2).map(pick));
    expectSame(await exportTorchStateDict(resumed.model), await exportTorchStateDict(straight.model), 'weights');
    expectSame(await resumed.ema!.stateDict(), await straight.ema!.stateDict(), 'EMA weights');
    const so = await straight.optimizer.stateDict(straight.params);
    const ro = await resumed.optimizer.stateDict(resumed.params);
    for (const name of Object.keys(so.state)) {
      expect(ro.state[name]!.step).toBe(N);
      expectSame(
        { m: ro.state[name]!.exp_avg, v: ro.state[name]!.exp_avg_sq },
        { m: so.state[name]!.exp_avg, v: so.state[name]!.exp_avg_sq },
        `optimizer ${name}`,
      );
    }
    for (const t of [straight, resumed]) {
      t.dispose();
      (t.model as { dispose(): void }).dispose();
    }
  });

  it('the checkpoint holds PyTorch-named safetensors (weights, EMA), optimizer state by name, step and sampler state', async () => {
    const t = new Trainer(options(2, 5));
    for (let i = 0; i < 3; i++) await t.step();
    const ckpt = await t.saveCheckpoint();
    expect(ckpt.step).toBe(3);
    expect(ckpt.settings).toEqual({ accumulate: 1, clipGradNorm: 0.2, ema: 0.9, optimizer: 'AdamW' });
    expect(ckpt.data).toEqual((t.data as NoisyBatches).getState());
    const w = parseSafetensors(ckpt.weights);
    expect(Object.keys(w.tensors).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    expect(w.tensors['0.weight']!.shape).toEqual([4, 3, 3, 3]); // PyTorch OIHW
    const live = await exportTorchStateDict(t.model);
    expect(Array.from(w.tensors['0.weight']!.data)).toEqual(Array.from(live['0.weight']!.data));
    const e = parseSafetensors(ckpt.ema!);
    expect(Array.from(e.tensors['0.weight']!.data)).not.toEqual(Array.from(live['0.weight']!.data));
    const o = parseOptimizerState(ckpt.optimizer);
    expect(Object.keys(o.state).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    expect(o.state['2.weight']!.exp_avg.shape).toEqual([3, 4, 3, 3]);
    expect(o.state['0.bias']!.step).toBe(3);
    expect(o.options).toEqual({ lr: 4e-3, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 1e-2, amsgrad: false });
    // The weights load by name into a fresh model (as into PyTorch with load_state_dict).
    const fresh = tinyNet(50);
    await loadTorchStateDict(fresh, w.tensors);
    expect(Array.from((await exportTorchStateDict(fresh))['2.bias']!.data)).toEqual(Array.from(live['2.bias']!.data));
    // The one-file form: BasicSR-style 'params.' / 'params_ema.' prefixes.
    const one = parseSafetensors(encodeCheckpoint(ckpt));
    expect(
      Object.keys(one.tensors)
        .filter((k) => k.startsWith('params.'))
        .sort(),
    ).toEqual(['params.0.bias', 'params.0.weight', 'params.2.bias', 'params.2.weight']);
    expect(Object.keys(one.tensors).some((k) => k.startsWith('params_ema.'))).toBe(true);
    expect(Object.keys(one.tensors).some((k) => k.startsWith('optimizer.exp_avg_sq.'))).toBe(true);
    fresh.dispose();
    t.dispose();
    (t.model as { dispose(): void }).dispose();
  });

  it('a checkpoint saved before any step resumes too (no optimizer state yet)', async () => {
    const t = new Trainer(options(3, 5));
    const ckpt = decodeCheckpoint(encodeCheckpoint(await t.saveCheckpoint()));
    expect(ckpt.step).toBe(0);
    const r = await Trainer.resume(ckpt, { ...options(4, 6), optimizer: new AdamW({ lr: 4e-3, weightDecay: 1e-2, betas: [0.9, 0.99] }) });
    const a = await t.step();
    const b = await r.step();
    if (exactBackend()) expect(b.loss).toBe(a.loss);
    for (const x of [t, r]) {
      x.dispose();
      (x.model as { dispose(): void }).dispose();
    }
  });

  it('mismatches are typed errors: other optimizer (CheckpointError), other model (WeightsError), not a checkpoint', async () => {
    const t = new Trainer(options(3, 5));
    await t.step();
    const ckpt = await t.saveCheckpoint();
    const adam = new Trainer({ ...options(3, 5), optimizer: new Adam() });
    await expect(adam.loadCheckpoint(ckpt)).rejects.toThrow(/holds AdamW state, this Trainer's optimizer is Adam/);
    const wide = new Trainer({ ...options(3, 5), model: tinyNet(3, 6) });
    await expect(wide.loadCheckpoint(ckpt)).rejects.toThrow(WeightsError);
    await expect(t.loadCheckpoint({ ...ckpt, format: 'x' as never })).rejects.toThrow(CheckpointError);
    expect(() => decodeCheckpoint(serializeSafetensors({}))).toThrow(/no 'restorekit.train' metadata/);
    for (const x of [t, adam, wide]) {
      x.dispose();
      (x.model as { dispose(): void }).dispose();
    }
  });
});
