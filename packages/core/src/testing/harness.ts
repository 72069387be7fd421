import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { RestorekitError, fmtShape } from '../errors.js';
import { blocks } from '../registries.js';
import { compareArrays } from './fixtures.js';

export class HarnessError extends RestorekitError {}

export interface BlockCheckSpec {
  /** Creates a fresh, unbuilt block (a tf.layers.Layer; restorekit Blocks or any registered layer). */
  create: () => tfl.layers.Layer;
  /** Concrete NHWC input shapes, one per input (use batch > 1 and H ≠ W). */
  inputShapes: number[][];
  /** Expected output shape(s). */
  outputShape: number[] | number[][];
  /** Expected number of trainable weight tensors. */
  trainableWeights: number;
  /** Weight-name substrings that by design get no gradient (e.g. unused official weights), with the reason. */
  noGradient?: { match: string[]; reason: string };
  /** Run the training step in training mode (BatchNorm batch statistics). Default true. */
  trainingStep?: boolean;
  /** Reference backend for the cross-backend comparison (default 'cpu'). */
  referenceBackend?: string;
  /** Tolerance against the reference backend: |a − b| ≤ atol + rtol·|b| (default atol 1e-4, rtol 1e-3). */
  tolerance?: { atol: number; rtol: number };
  seed?: number;
}

export interface BlockCheckReport {
  backend: string;
  outputShapes: number[][];
  trainableWeights: number;
  gradients: { name: string; maxAbs: number; finite: boolean }[];
  /** Max |current − reference| over outputs (0 when the current backend is the reference). */
  maxDiffVsReference: number;
  referenceBackend: string;
  leakedTensors: number;
}

const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/**
 * One call per block (keras-hub's run_layer_test, timm's test_models): config round-trip (class and
 * registry), functional-model save/load round-trip, trainable weight count, exact output shape (symbolic
 * and concrete), one training step in which every trainable weight gets a finite non-zero gradient,
 * agreement with the reference backend, and no leaked tensors.
 * Throws `HarnessError` listing every failed check; returns the measurements.
 *
 * The block runs two passes on the current backend: one forward (output shapes, values) and one training
 * step (forward + backward). The save/load round trip is checked where it is cheap and exact: on the
 * reference backend, the reloaded model must give identical outputs (1e-6); on any other backend, the model
 * rebuilt from the saved artifacts on the reference backend must reproduce the first forward's outputs within
 * `tolerance` — one check for both the round trip and the backends' agreement, instead of two more forwards on a
 * backend that may be slow (SwiftShader's WebGPU ran LCDNet's tiny preset at ~23 s a forward).
 */
export async function checkBlock(spec: BlockCheckSpec): Promise<BlockCheckReport> {
  const failures: string[] = [];
  const before = tf.memory().numTensors;
  const backend = tf.getBackend();
  const ref = spec.referenceBackend ?? 'cpu';
  const tol = spec.tolerance ?? { atol: 1e-4, rtol: 1e-3 };
  const seed = spec.seed ?? 1234;
  const expectedShapes = Array.isArray(spec.outputShape[0]) ? (spec.outputShape as number[][]) : [spec.outputShape as number[]];

  const block = spec.create();
  const className = (block.constructor as unknown as { className: string }).className;

  // 1. Config round-trip through the class and through the registry.
  const cfg = block.getConfig();
  const Cls = block.constructor as new (c: unknown) => tfl.layers.Layer;
  const again = new Cls(JSON.parse(JSON.stringify(cfg)));
  if (JSON.stringify(again.getConfig()) !== JSON.stringify(cfg))
    failures.push(`config round-trip differs: ${JSON.stringify(cfg)} vs ${JSON.stringify(again.getConfig())}`);
  const type = className.split('>')[1];
  if (type && blocks.has(type)) {
    const viaRegistry = blocks.create({ type, ...(JSON.parse(JSON.stringify(cfg)) as object) });
    const { name: _n1, ...a } = viaRegistry.getConfig();
    const { name: _n2, ...b } = cfg;
    if (JSON.stringify(a) !== JSON.stringify(b)) failures.push(`registry round-trip differs for type '${type}'`);
  } else failures.push(`class ${className} is not in the block registry`);

  // 2. Functional model around the block; symbolic output shape must be exact.
  const inputs = spec.inputShapes.map((s) => tfl.input({ shape: s.slice(1) }));
  const symOut = list(block.apply(inputs.length === 1 ? inputs[0]! : inputs) as tfl.SymbolicTensor | tfl.SymbolicTensor[]);
  symOut.forEach((o, i) => {
    const want = [null, ...expectedShapes[i]!.slice(1)];
    if (JSON.stringify(o.shape) !== JSON.stringify(want))
      failures.push(`computeOutputShape gives ${JSON.stringify(o.shape)} for output ${i}, expected ${JSON.stringify(want)}`);
  });
  const model = tfl.model({ inputs, outputs: symOut.length === 1 ? symOut[0]! : symOut });
  const xs = spec.inputShapes.map((s, i) => tf.randomNormal(s, 0.25, 1, 'float32', seed + i));
  const xin = xs.length === 1 ? xs[0]! : xs;

  // 3. Forward (eval) and output shapes.
  const ys = list(model.predict(xin) as tf.Tensor | tf.Tensor[]);
  const outputShapes = ys.map((y) => y.shape);
  ys.forEach((y, i) => {
    if (JSON.stringify(y.shape) !== JSON.stringify(expectedShapes[i]))
      failures.push(`output ${i} has shape ${fmtShape(y.shape)}, expected ${fmtShape(expectedShapes[i]!)}`);
  });
  const yData = await Promise.all(ys.map((y) => y.data()));
  if (yData.some((d) => !Array.from(d).every(Number.isFinite))) failures.push('output has NaN or Inf');

  // 4. Trainable weight count.
  if (model.trainableWeights.length !== spec.trainableWeights)
    failures.push(`${model.trainableWeights.length} trainable weights, expected ${spec.trainableWeights}`);
  const names = model.weights.map((w) => w.originalName);
  if (new Set(names).size !== names.length) failures.push(`weight names are not unique: ${names.join(', ')}`);

  // 5. Save (topology and the weights of step 3's forward, before the training step changes them); step 7 rebuilds it.
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );

  // 6. One training step: every trainable weight gets a finite, non-zero gradient.
  const gradients: BlockCheckReport['gradients'] = [];
  const trainVars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const weightsOf = model.trainableWeights.map((w) => w.originalName);
  const probe = ys.map((y, i) => tf.randomNormal(y.shape, 0, 1, 'float32', seed + 100 + i));
  if (trainVars.length === 0) {
    // Parameter-free block: the gradient must still reach every input.
    const ig = tf.grads((...ins: tf.Tensor[]) => {
      const out = list(model.apply(ins.length === 1 ? ins[0]! : ins, { training: spec.trainingStep ?? true }) as tf.Tensor | tf.Tensor[]);
      return tf.addN(out.map((o, i) => tf.sum(tf.mul(o, probe[i]!)))) as tf.Scalar;
    })(xs);
    for (const [i, g] of ig.entries()) {
      const d = await g.data();
      const maxAbs = Math.max(...Array.from(d, Math.abs));
      gradients.push({ name: `input ${i}`, maxAbs, finite: Array.from(d).every(Number.isFinite) });
      if (!(maxAbs > 0) || !Array.from(d).every(Number.isFinite)) failures.push(`gradient w.r.t. input ${i} is zero or not finite`);
    }
    tf.dispose([ig, probe]);
  } else {
    const { value, grads } = tf.variableGrads(() => {
      const out = list(model.apply(xin, { training: spec.trainingStep ?? true }) as tf.Tensor | tf.Tensor[]);
      return tf.addN(out.map((o, i) => tf.sum(tf.mul(o, probe[i]!)))) as tf.Scalar;
    }, trainVars);
    for (const [i, v] of trainVars.entries()) {
      const g = grads[v.name];
      const name = weightsOf[i]!;
      const exemptHere = spec.noGradient?.match.some((m) => name.includes(m)) ?? false;
      if (!g) {
        // A weight that never enters the computation has no entry at all; fine only when declared.
        if (exemptHere) gradients.push({ name, maxAbs: 0, finite: true });
        else failures.push(`no gradient for ${name}`);
        continue;
      }
      const d = await g.data();
      let maxAbs = 0;
      let finite = true;
      for (const e of d) {
        if (!Number.isFinite(e)) finite = false;
        else if (Math.abs(e) > maxAbs) maxAbs = Math.abs(e);
      }
      gradients.push({ name, maxAbs, finite });
      const exempt = spec.noGradient?.match.some((m) => name.includes(m));
      if (!finite) failures.push(`gradient of ${name} is not finite`);
      else if (maxAbs === 0 && !exempt) failures.push(`gradient of ${name} is zero`);
      else if (maxAbs > 0 && exempt) failures.push(`${name} was declared gradient-free (${spec.noGradient!.reason}) but got a gradient`);
    }
    if (!Number.isFinite((await value.data())[0]!)) failures.push('training loss is not finite');
    const opt = tf.train.sgd(1e-3);
    opt.applyGradients(grads);
    opt.dispose();
    tf.dispose([value, probe, Object.values(grads)]);
  }

  // 7. The model rebuilt from step 5's artifacts on the reference backend must reproduce step 3's outputs: exactly
  //    when that is the current backend (the save/load round trip), within `tolerance` elsewhere (the round trip and
  //    the backends' agreement at once). It is fed host copies of the inputs, so no tensor data moves between backends.
  let maxDiffVsReference = 0;
  const onRef = backend === ref;
  const hostInputs = await Promise.all(xs.map(async (x) => ({ shape: x.shape, data: await x.data() })));
  if (!onRef) await tf.setBackend(ref);
  try {
    const reloaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    const ins = hostInputs.map((x) => tf.tensor(x.data as Float32Array, x.shape));
    const yRe = list(reloaded.predict(ins.length === 1 ? ins[0]! : ins) as tf.Tensor | tf.Tensor[]);
    for (let i = 0; i < yRe.length; i++) {
      const yi = await yRe[i]!.data();
      if (onRef) {
        const c = compareArrays(`reloaded output ${i}`, yi, yData[i]!, 1e-6, 1e-6);
        if (!c.ok) failures.push(`save/load round trip changes output ${i} (max diff ${c.maxAbsDiff})`);
        continue;
      }
      const c = compareArrays(`output ${i}`, yData[i]!, yi, tol.atol, tol.rtol);
      maxDiffVsReference = Math.max(maxDiffVsReference, c.maxAbsDiff);
      if (!c.ok)
        failures.push(
          `${backend} differs from the model saved and reloaded on ${ref} on output ${i}: max |diff| ${c.maxAbsDiff.toExponential(2)} (tolerance atol ${tol.atol}, rtol ${tol.rtol})`,
        );
    }
    tf.dispose([yRe, ins]);
    reloaded.dispose();
  } finally {
    if (!onRef) await tf.setBackend(backend);
  }

  // 8. Leaks.
  tf.dispose([ys, xs]);
  model.dispose();
  const leakedTensors = tf.memory().numTensors - before;
  if (leakedTensors !== 0) failures.push(`${leakedTensors} tensors leaked`);
  if (failures.length) throw new HarnessError(`checkBlock(${className}) on ${backend}:\n  - ${failures.join('\n  - ')}`);
  return { backend, outputShapes, trainableWeights: spec.trainableWeights, gradients, maxDiffVsReference, referenceBackend: ref, leakedTensors };
}

/** Runs `fn` and returns how many tensors it left behind (the harness's leak check for plain functions). */
export async function countLeaks(fn: () => unknown): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}
