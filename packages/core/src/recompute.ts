import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Block } from './block.js';
import { ConfigError } from './errors.js';
import { getSettings, withSettings, type Settings } from './settings.js';

/**
 * Gradient checkpointing ("recompute", as `torch.utils.checkpoint`).
 *
 * tfjs's gradient tape keeps every intermediate of the forward until the backward ends: an official AnyIR training step
 * at 64² peaks at 2.35 GB of tensors, and at 128² tfjs-backend-wasm's 4 GB heap runs out. A block marked `recompute`
 * instead runs its forward, in training under a recording tape, as ONE tape node whose inputs are the block's inputs and
 * its trainable weights: the forward runs with the tape off, so of the block only its inputs stay alive (they are the
 * previous block's outputs: checkpoints). In the backward, that node runs the block's forward again under a fresh
 * gradient computation and returns the gradients of the inputs and of the weights. Memory: the checkpoints plus the
 * intermediates of one block at a time, instead of every intermediate of every block; compute: one more forward of the
 * marked blocks (a training step costs about 1.3× as much, the backward being about twice a forward).
 *
 * The re-run must compute what the first run did: the same ops on the same values give bit-identical outputs and
 * gradients. A block whose training forward draws random numbers (dropout, stochastic depth) would draw different
 * ones the second time and so must not be marked; restorekit has no such block (no random op in any `forward`).
 * State changes a forward makes (BatchNorm2d's running statistics) are made once: the re-run checks `isRecomputing()`.
 * The settings in force during the forward (`configure`) are restored for the re-run.
 */

/** The parts of tfjs-core's engine the mechanism uses (checked against tfjs-core 4.22's engine.js). */
interface EngineInternals {
  state: { gradientDepth: number; kernelDepth: number; activeTape: unknown[] | null };
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor | tf.Tensor[];
    backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor | tf.Tensor[];
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): { value: tf.Tensor; grads: (tf.Tensor | undefined)[] };
}

const engine = () => tf.engine() as unknown as EngineInternals;

/** How many re-runs (backward of a recompute node) are in progress. */
let recomputeDepth = 0;

/** True while a recompute block's forward is being run again in the backward (stateful layers skip their updates). */
export function isRecomputing(): boolean {
  return recomputeDepth > 0;
}

/**
 * Whether a block marked `recompute`, called with `training`, is checkpointed now: a gradient tape is recording (tfjs
 * records when gradientDepth > 0 and no kernel is running, `Engine.isTapeOn`) and no re-run is in progress (inside a
 * re-run, and inside a checkpointed forward where the tape is off, nested marked blocks run as plain blocks).
 */
export function shouldCheckpoint(training: boolean): boolean {
  if (!training || recomputeDepth > 0) return false;
  const { gradientDepth, kernelDepth } = engine().state;
  return gradientDepth > 0 && kernelDepth === 0;
}

type Forward = (inputs: tf.Tensor | tf.Tensor[], training: boolean) => tf.Tensor | tf.Tensor[];

/** A node of tfjs's gradient tape (tfjs-core 4.22 tape.ts), as far as the mechanism touches it. */
interface TapeNode {
  outputs: tf.Tensor[];
  inputs: Record<string, tf.Tensor>;
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/**
 * Frees what a gradient computation that threw left on tfjs's tape. tfjs-core's gradients() frees the copies of op
 * inputs its tape saved for the backward only when a backward completes: a forward (or loss, or backward) that throws
 * leaves them alive, two or more tensors per op. Call it after catching such an error; it does nothing while an outer
 * gradient computation is running (that one still owns the tape) or when no tape is left.
 */
export function releaseAbandonedTape(): void {
  const state = engine().state;
  if (state.gradientDepth !== 0 || !Array.isArray(state.activeTape)) return;
  for (const node of state.activeTape as TapeNode[]) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
  state.activeTape = null;
}

/**
 * Runs `forward(xs, training)` as one tape node (see the module comment): outputs identical to the plain forward's;
 * the node's gradient re-runs the forward. Called by `Block.call` when `shouldCheckpoint` holds.
 *
 * The gradients are those the plain tape would give, nulls included: the re-run back-propagates only from the outputs
 * the loss reached, and an input or weight that gets no gradient there (a weight of a branch the options switch off,
 * or one that only feeds an output the loss ignores) is dropped from the node's inputs for this backward, so it gets
 * none at all (null in `tf.variableGrads`, skipped by the optimizers) rather than zeros. Only the gradients the backward
 * asks for are computed.
 */
export function checkpointed(block: Block, forward: Forward, xs: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor | tf.Tensor[] {
  const inputs = Array.isArray(xs) ? xs : [xs];
  // The weights as the tape knows them (LayerVariable.read() is the tf.Variable itself), each once.
  const weights: tf.Tensor[] = [];
  const ids = new Set<number>();
  for (const w of block.trainableWeights) {
    const v = w.read();
    if (!ids.has(v.id)) {
      ids.add(v.id);
      weights.push(v);
    }
  }
  const nodeInputs: Record<string, tf.Tensor> = {};
  inputs.forEach((x, i) => {
    nodeInputs[`x${i}`] = x;
  });
  weights.forEach((w, j) => {
    nodeInputs[`w${j}`] = w;
  });
  const settings = getSettings();
  let single = true;
  const forwardFunc = (_backend: unknown, save: (tensors: tf.Tensor[]) => void): tf.Tensor[] => {
    // The inputs are kept for the re-run (tfjs clones share the data: no copy); the caller may free its own references.
    save(inputs);
    const out = forward(xs, training);
    single = !Array.isArray(out);
    // Each output must be a tensor of this node's own: one that is an input, a weight or an earlier output gets a copy
    // (otherwise the tape would credit its gradient twice).
    const seen = new Set([...inputs, ...weights].map((t) => t.id));
    return (Array.isArray(out) ? out : [out]).map((o) => {
      const own = seen.has(o.id) ? tf.clone(o) : o;
      seen.add(own.id);
      return own;
    });
  };
  // What the backward asks for, set by the node's gradient (below) before it calls backwardsFunc.
  let wanted: { names: string[]; reached: boolean[] } | null = null;
  const backwardsFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Record<string, () => tf.Tensor> => {
    const dys = Array.isArray(dy) ? dy : [dy];
    const { names, reached } = wanted ?? { names: Object.keys(nodeInputs), reached: dys.map(() => true) };
    const map: Record<string, () => tf.Tensor> = {};
    try {
      if (names.length === 0 || !reached.includes(true)) return map;
      const again = Array.isArray(xs) ? saved : saved[0]!;
      // Gradients for the saved copies of the inputs (what the re-run reads) and for the weights themselves.
      const targets = names.map((n) => (n.startsWith('x') ? saved[Number(n.slice(1))]! : nodeInputs[n]!));
      const grads = rerun(() => forward(again, training), targets, dys, reached, settings);
      names.forEach((n, i) => {
        const g = grads[i];
        if (g) map[n] = () => g;
      });
      return map;
    } finally {
      // A node's gradient runs once per backward, so its checkpoint is not needed again: freed now rather than when
      // the whole backward ends (tfjs's rule for saved tensors; disposing twice is harmless).
      tf.dispose(saved);
    }
  };
  // Named scope: tape node and profile entry read 'Recompute' (no tfjs kernel has that name, so no gradient of its own).
  const outs = tf.tidy('Recompute', () => engine().runKernelFunc({ forwardFunc, backwardsFunc, inputs: nodeInputs })) as tf.Tensor[];
  // tfjs has just appended this node to the tape. Its gradient is called as a method of the backward's copy of the node,
  // whose `inputs` are those the backward needs (the others pruned) and which it then reads: the wrapper learns which
  // outputs received a gradient (tfjs would pass zeros for the others) and removes the inputs that get none.
  const tape = engine().state.activeTape as TapeNode[] | null;
  const node = tape?.[tape.length - 1];
  if (!node?.gradient || node.outputs[0] !== outs[0])
    throw new Error('recompute: the gradient tape is not laid out as in tfjs-core 4.22 (the recompute node is not its last node)');
  const fill = node.gradient;
  node.gradient = function (this: TapeNode | undefined, dys: (tf.Tensor | null)[]) {
    const pruned = this && typeof this.inputs === 'object' ? this.inputs : null;
    wanted = { names: Object.keys(pruned ?? nodeInputs), reached: dys.map((d) => d != null) };
    let map: Record<string, () => tf.Tensor>;
    try {
      map = fill(dys);
    } finally {
      wanted = null;
    }
    for (const n of Object.keys(pruned ?? nodeInputs)) {
      if (n in map) continue;
      if (pruned) delete pruned[n];
      else map[n] = () => tf.zerosLike(nodeInputs[n]!); // (a tape that does not prune its own copy: zeros)
    }
    return map;
  };
  return single ? outs[0]! : outs;
}

/**
 * The backward of a recompute node: runs `forward` again under a fresh tape and returns, for each of `xs`, the gradient
 * of Σᵢ ⟨outputᵢ, dysᵢ⟩ over the outputs the outer backward `reached` (undefined for one that receives none, as tfjs
 * gives). The outer backward's tape is set aside meanwhile: tfjs starts a new tape (and clears it afterwards) when a
 * gradient computation begins at depth 0, as the outer backward is.
 */
function rerun(forward: () => tf.Tensor | tf.Tensor[], xs: tf.Tensor[], dys: tf.Tensor[], reached: boolean[], settings: Settings): (tf.Tensor | undefined)[] {
  const eng = engine();
  const outerTape = eng.state.activeTape;
  recomputeDepth++;
  try {
    // tf.tidy keeps the tensors of the returned array and skips its gaps.
    return tf.tidy(() => {
      const f = () => {
        const out = getSettings() === settings ? forward() : withSettings(settings, forward);
        const outs = Array.isArray(out) ? out : [out];
        return sink(
          outs.filter((_, i) => reached[i]),
          dys.filter((_, i) => reached[i]),
        );
      };
      return eng.gradients(f, xs, undefined, true).grads as tf.Tensor[];
    }) as (tf.Tensor | undefined)[];
  } finally {
    recomputeDepth--;
    eng.state.activeTape = outerTape;
  }
}

/**
 * A scalar that depends on every output given, whose gradient hands each output its `dy` unchanged (a copy: the inner
 * backward owns and may free what it accumulates): the re-run's gradients are then exactly those of the outer
 * backward, for one output or several, with no extra arithmetic.
 */
function sink(outs: tf.Tensor[], dys: tf.Tensor[]): tf.Tensor {
  const inputs: Record<string, tf.Tensor> = {};
  outs.forEach((o, i) => {
    inputs[`y${i}`] = o;
  });
  return tf.tidy('RecomputeSink', () =>
    engine().runKernelFunc({
      forwardFunc: () => tf.scalar(0),
      backwardsFunc: () => {
        const map: Record<string, () => tf.Tensor> = {};
        outs.forEach((_, i) => {
          map[`y${i}`] = () => tf.clone(dys[i]!);
        });
        return map;
      },
      inputs,
    }),
  ) as tf.Tensor;
}

const BLOCK_BRAND = Symbol.for('restorekit.Block');

function isBlockLike(x: unknown): x is Block {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BLOCK_BRAND] === true;
}

/** Whether a block's class declares itself a repeated unit worth checkpointing (`static recomputeUnit = true`). */
export function isRecomputeUnit(b: Block): boolean {
  return (b.constructor as { recomputeUnit?: unknown }).recomputeUnit === true;
}

/**
 * Marks blocks for gradient checkpointing (recompute) and returns how many are marked.
 *
 * Walks every block under `root` (a Block, or a tf LayersModel of blocks, and their children) and sets each block's
 * `recompute` flag: with `true` (the default) on exactly the blocks whose class declares `static recomputeUnit = true`
 * (the repeated units of the models: TransformerBlock and its subclasses such as DAB, GatedDA, DFR, UNetUpBlock,
 * HSFSBlock, EFMABlock, NAFBlock, FSDRNet's per-level DynamicProcessing and FrequencyAux), with `false` on none, with a
 * predicate on the blocks it accepts; every other block of the tree is unmarked.
 *
 * A marked block, called in training (`training: true`) while a gradient tape records (`tf.grad`, `tf.variableGrads`,
 * an optimizer's `minimize`, the Trainer), keeps only its inputs for the backward and runs its forward again there:
 * peak memory falls to the checkpoints plus one block's intermediates (an official AnyIR step at 64² on wasm: see the
 * package README), for about 1.3× the compute of a step. Outside a tape, in inference, or with `training: false` a
 * marked block runs as usual. Outputs and gradients are bit-identical to the unmarked model's (the same ops run); a
 * marked block's nested marked blocks run plain (checkpointing the outermost ones is what saves memory).
 *
 * Limits: a marked block must be deterministic in training (restorekit's are: none draws random numbers), must read
 * only its own weights (`trainableWeights`; other variables it reads get no gradient through it), and higher-order
 * gradients through a marked block are not supported.
 *
 *     setRecompute(model);                 // the model's repeated units
 *     setRecompute(model, (b) => b.getClassName() === 'restorekit>TransformerBlock');
 *     setRecompute(model, false);          // off again
 */
export function setRecompute(root: tfl.layers.Layer, on: boolean | ((b: Block) => boolean) = true): number {
  if (typeof on !== 'boolean' && typeof on !== 'function')
    throw new ConfigError(`setRecompute: 'on' must be true, false or a function (block) => boolean, got ${JSON.stringify(on)}`);
  if (typeof root !== 'object' || root === null || typeof (root as { apply?: unknown }).apply !== 'function')
    throw new ConfigError('setRecompute: root must be a restorekit Block or a tf LayersModel');
  let marked = 0;
  const seen = new Set<unknown>();
  const visit = (layer: unknown): void => {
    if (seen.has(layer)) return;
    seen.add(layer);
    if (isBlockLike(layer)) {
      const want = typeof on === 'function' ? on(layer) === true : on && isRecomputeUnit(layer);
      layer.recompute = want;
      if (want) marked++;
      for (const child of layer.childLayers.values()) visit(child);
    } else {
      const layers = (layer as { layers?: unknown }).layers;
      if (Array.isArray(layers)) for (const l of layers) visit(l);
    }
  };
  visit(root);
  return marked;
}
