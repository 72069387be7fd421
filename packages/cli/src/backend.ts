/**
 * Which tfjs backend the CLI computes on. In Node: `tensorflow` when @tensorflow/tfjs-node-gpu or
 * @tensorflow/tfjs-node resolves from the user's project (looked up from the working directory; never a dependency
 * of the CLI), else `wasm` (else `cpu`); `--backend` overrides. webgl and webgpu need a browser.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@restorekit/core';
import { findTfjsNode, loadTfjsNode, loadedTensorflowCpu, useFastestBackend, type TensorflowCpuState } from '@restorekit/runtime/node';
import { FailureError, UsageError, reason } from './errors.js';

export const BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'] as const;
export type Backend = (typeof BACKENDS)[number];
/** The backends a Node process (and its worker threads) can run. */
export const NODE_BACKENDS = ['cpu', 'wasm', 'tensorflow'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

export interface ChosenBackend {
  name: NodeBackend;
  /** Why this one ("--backend", "found @tensorflow/tfjs-node", ...). */
  why: string;
  /** For 'tensorflow': the module that registers it (worker threads import it too). */
  tfjsNode?: string;
  /** For 'tensorflow': what libtensorflow's CPU engine runs with (oneDNN on or off, and why). */
  tensorflowCpu?: TensorflowCpuState;
}

/**
 * The line the commands print under their backend line on 'tensorflow': whether oneDNN's kernels are on and why, and
 * the variable that switches them (read once, when libtensorflow starts: per run, in the environment).
 */
export function tensorflowCpuLine(s: TensorflowCpuState): string {
  const state = s.oneDNN === null ? 'oneDNN: libtensorflow decides' : `oneDNN ${s.oneDNN ? 'on' : 'off'}`;
  if (s.hazard) return `tensorflow: ${state} (${s.why}); TF_ENABLE_ONEDNN_OPTS=1 forces it on, at that risk`;
  const other = s.oneDNN === null ? 'TF_ENABLE_ONEDNN_OPTS=0 or 1 sets it' : `TF_ENABLE_ONEDNN_OPTS=${s.oneDNN ? 0 : 1} turns it ${s.oneDNN ? 'off' : 'on'}`;
  return `tensorflow: ${state} (${s.why}); ${other}: faster or slower by CPU and model, restorekit bench tells`;
}

/** Silences tfjs's console warnings (its cpu backend's "install tfjs-node" banner among them): tfjs's production mode. */
export function quietCpu(): void {
  tf.env().set('PROD', true);
}

/** Picks, registers and activates the backend. Usage errors (exit 2) for browser-only names; failures (exit 1) when one cannot start. */
export async function selectBackend(requested: string | undefined, cwd: string, warn: (line: string) => void): Promise<ChosenBackend> {
  if (requested !== undefined && !(BACKENDS as readonly string[]).includes(requested))
    throw new UsageError(`unknown backend '${requested}' (backends: ${BACKENDS.join(', ')})`);
  if (requested === 'webgl' || requested === 'webgpu')
    throw new UsageError(
      `backend '${requested}' runs in browsers only; in Node use ${NODE_BACKENDS.join(', ')} (tensorflow needs @tensorflow/tfjs-node installed in your project)`,
    );
  if (requested === 'tensorflow') {
    const found = findTfjsNode(cwd);
    if (!found)
      throw new FailureError(
        `backend 'tensorflow' needs @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu) installed in your project (looked up from ${cwd}): npm i @tensorflow/tfjs-node@${tf.version_core}`,
      );
    let ok: boolean;
    try {
      ok = await loadTfjsNode(found.file);
    } catch (e) {
      throw new FailureError(`backend 'tensorflow': ${found.pkg} (${found.file}) failed to load: ${reason(e)}`);
    }
    if (!ok)
      throw new FailureError(
        `backend 'tensorflow': ${found.pkg} loaded but registered its backend in another copy of @tensorflow/tfjs-core than restorekit's (${tf.version_core}); install @tensorflow/tfjs-node@${tf.version_core} next to @restorekit/cli`,
      );
    await start('tensorflow');
    return { name: 'tensorflow', why: '--backend', tfjsNode: found.file, tensorflowCpu: loadedTensorflowCpu() ?? undefined };
  }
  if (requested === 'cpu' || requested === 'wasm') {
    await start(requested);
    return { name: requested, why: '--backend' };
  }
  // No --backend: the runtime's choice (tensorflow where tfjs-node is installed, else wasm, else cpu).
  let chosen: Awaited<ReturnType<typeof useFastestBackend>>;
  try {
    chosen = await useFastestBackend({ from: cwd });
  } catch (e) {
    throw new FailureError(reason(e));
  }
  for (const s of chosen.skipped) warn(`warning: ${s}: using the next backend`);
  if (chosen.name === 'cpu') quietCpu();
  return {
    name: chosen.name,
    why: chosen.why,
    ...(chosen.tfjsNode ? { tfjsNode: chosen.tfjsNode } : {}),
    ...(chosen.tensorflowCpu ? { tensorflowCpu: chosen.tensorflowCpu } : {}),
  };
}

async function start(name: NodeBackend): Promise<void> {
  // tfjs's cpu backend prints a banner suggesting tfjs-node on its first use in Node; the CLI says which backend it
  // uses (and picks tfjs-node by itself when it is installed), so the banner is turned off.
  if (name === 'cpu') quietCpu();
  try {
    await useBackend(name);
  } catch (e) {
    throw new FailureError(`backend '${name}' failed to start: ${reason(e)}`);
  }
}
