import { beforeAll, expect, inject } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { isBlock, withSettings, type Block } from '@restorekit/core';
import { compareWithFixture, fixtureTensor, loadFixtureWeights, type Comparison, type Fixture } from '@restorekit/core/testing';
import { fromOfficialConfig, getModelSpec, type ModelOf } from './registry.js';
import { GDFN } from '@restorekit/restormer';

/**
 * Runs the calling test file on tfjs's default webgl shaders (tensor shapes compiled into each program): the test setup
 * (test-setup/backend.ts) turns shape uniforms on for every other file, to compile fewer programs on SwiftShader, and
 * these files keep the default path that most webgl users run covered. No effect on other backends.
 */
export function defaultWebglShaders(): void {
  beforeAll(() => {
    if (tf.getBackend() !== 'webgl') return;
    expect(tf.env().getBool('WEBGL_USE_SHAPES_UNIFORMS'), 'the test setup turns shape uniforms on before this file runs').toBe(true);
    tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', false);
  });
}

/** Every GDFN inside a block, depth first (tests: where a model option must reach each feed-forward). */
export function gdfnsOf(layer: tfl.layers.Layer): GDFN[] {
  if (layer instanceof GDFN) return [layer];
  return isBlock(layer) ? [...layer.childLayers.values()].flatMap(gdfnsOf) : [];
}

/**
 * A Restormer-style model run on a full-model fixture while `configure({ maxHiddenBytes: bytes })` is in force: builds it
 * for the fixture's input, loads the fixture's weights, checks that the model has every transformer block's GDFN
 * (2·(n₁+n₂+n₃) + n₄ + refinement of them) and that the first one runs in more than one chunk at that setting, then
 * compares the forward with the fixture's output. Frees what it made.
 */
export async function fixtureWithFfnBytes(
  model: Block,
  fx: Fixture,
  bytes: number,
  cfg: { numBlocks?: readonly number[]; numRefinementBlocks?: number },
): Promise<{ ffns: GDFN[]; input: number[]; chunks: number; cmp: Comparison }> {
  const x = fixtureTensor(fx, '__input__');
  model.build(x.shape);
  await loadFixtureWeights(model, fx);
  const ffns = gdfnsOf(model);
  const [n1, n2, n3, n4] = cfg.numBlocks!;
  expect(ffns.length).toBe(2 * (n1! + n2! + n3!) + n4! + cfg.numRefinementBlocks!);
  const { chunks, y } = withSettings({ maxHiddenBytes: bytes }, () => ({
    chunks: ffns[0]!.chunksFor([x.shape[0]!, x.shape[1]!, x.shape[2]!, ffns[0]!.options.channels]),
    y: model.apply(x) as tf.Tensor,
  }));
  const cmp = await compareWithFixture(y, fx);
  const input = x.shape;
  tf.dispose([x, y]);
  return { ffns, input, chunks, cmp };
}

/** A model of a registered family built synchronously from a preset plus overrides (tests; users call `createModel`). */
export function presetModel<N extends string>(name: N, preset: string, overrides: Record<string, unknown> = {}): ModelOf<N> {
  const spec = getModelSpec(name);
  return spec.create({ ...spec.presets[preset]!.config, ...overrides }) as ModelOf<N>;
}

/** A model built synchronously from the official constructor arguments stored in a fixture's metadata. */
export function officialModel<N extends string>(name: N, kwargs: Record<string, unknown>): ModelOf<N> {
  const { preset, ...overrides } = fromOfficialConfig(name, kwargs);
  return presetModel(name, preset!, overrides);
}

/**
 * Runs `f` with every tensor disposal postponed until it returns (tidy scopes and explicit `dispose` alike), then
 * frees what was postponed, sparing `f`'s result. The reference for "freeing intermediates early changes nothing":
 * the same kernels run, but every tensor lives to the end.
 */
export function withoutEarlyFrees<T>(f: () => T, result: (r: T) => tf.Tensor[]): T {
  const proto = tf.Tensor.prototype;
  const dispose = proto.dispose;
  const postponed = new Set<tf.Tensor>();
  proto.dispose = function (this: tf.Tensor) {
    postponed.add(this);
  };
  let out: T;
  try {
    out = f();
  } finally {
    proto.dispose = dispose;
  }
  const keep = new Set(result(out!));
  for (const t of postponed) if (!keep.has(t)) t.dispose();
  return out;
}

/**
 * Loss Σ wᵢ·outᵢ over every output of a model (train mode) and its gradient for each trainable weight:
 * `{ loss, grads }`, grads keyed by weight name (a weight the loss does not reach has no entry).
 */
export function lossAndGradients(model: tfl.layers.Layer, x: tf.Tensor, seed: number): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const y = model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
        const ys = Array.isArray(y) ? y : [y];
        return tf.addN(ys.map((o, i) => tf.sum(tf.mul(o, tf.randomUniform(o.shape, -1, 1, 'float32', seed + i))))) as tf.Scalar;
      }),
    vars,
  );
  return { loss: value, grads };
}

/** Backends that run the multi-step training tests of the big models (the harness covers one step everywhere). */
export const TRAINING_BACKENDS: ReadonlySet<string> = new Set(['wasm', 'tensorflow']);

/** Whether this vitest project's backend (test-setup/backend.ts provides it) runs the multi-step training tests. */
export function runsTraining(): boolean {
  return TRAINING_BACKENDS.has((inject as unknown as (key: string) => string)('backend'));
}
