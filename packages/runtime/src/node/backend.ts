/**
 * The fastest tfjs backend this Node process can run: `tensorflow` (libtensorflow through tfjs-node: oneDNN on
 * CPU, CUDA with tfjs-node-gpu) when @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node resolves from the user's
 * project, else `wasm` (XNNPACK, SIMD), else `cpu`. restorekit never depends on tfjs-node (its install downloads a
 * native binary): it is found where the user installed it, looked up from a directory (default: the working one).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, useBackend } from '@restorekit/core';

/** tfjs-node packages, preferred first. */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** The first tfjs-node package that resolves from `cwd` (the user's project) and its entry file, or null. */
export function findTfjsNode(cwd: string = process.cwd()): { pkg: string; file: string } | null {
  const req = createRequire(join(cwd, '__restorekit__.js'));
  for (const pkg of TFJS_NODE_PACKAGES) {
    try {
      return { pkg, file: req.resolve(pkg) };
    } catch {
      // not installed in the project: the usual case
    }
  }
  return null;
}

/**
 * Imports tfjs-node from `file`; true when it registered 'tensorflow' in the @tensorflow/tfjs-core this process
 * uses (false: it registered into another copy or version of tfjs-core). Throws what the import threw.
 */
export async function loadTfjsNode(file: string): Promise<boolean> {
  if (tf.findBackendFactory('tensorflow')) return true;
  // libtensorflow's start-up notices (CPU features) stay out of the output unless asked for.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  await import(pathToFileURL(file).href);
  return Boolean(tf.findBackendFactory('tensorflow'));
}

/** What `useFastestBackend` chose, and why. */
export interface ChosenBackend {
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** Why this one: "found @tensorflow/tfjs-node", "no @tensorflow/tfjs-node in <dir>", … */
  why: string;
  /** For 'tensorflow': the module that registers it (pass it in a worker pool's `imports`). */
  tfjsNode?: string;
  /** Backends tried first that could not start, with the reason. */
  skipped: string[];
}

/**
 * Activates the fastest backend available (see the module comment) and says which and why. Every candidate that
 * fails is recorded in `skipped` and the next one tried; only when cpu fails too does it throw a `BackendError`.
 * `from`: the directory tfjs-node is looked up from (default `process.cwd()`).
 */
export async function useFastestBackend(options: { from?: string } = {}): Promise<ChosenBackend> {
  const from = options.from ?? process.cwd();
  const skipped: string[] = [];
  const found = findTfjsNode(from);
  if (found) {
    try {
      if (await loadTfjsNode(found.file)) {
        await useBackend('tensorflow');
        return { name: 'tensorflow', why: `found ${found.pkg}`, tfjsNode: found.file, skipped };
      }
      skipped.push(`tensorflow: ${found.pkg} registered its backend in another copy of @tensorflow/tfjs-core than restorekit's (${tf.version_core})`);
    } catch (e) {
      skipped.push(`tensorflow: ${found.pkg} failed to load: ${(e as Error).message}`);
    }
  }
  const why = found ? `${found.pkg} unusable` : `no @tensorflow/tfjs-node in ${from}`;
  try {
    await useBackend('wasm');
    return { name: 'wasm', why, skipped };
  } catch (e) {
    skipped.push(`wasm: ${(e as Error).message}`);
  }
  try {
    await useBackend('cpu');
  } catch (e) {
    throw new BackendError(`no backend could start: ${[...skipped, `cpu: ${(e as Error).message}`].join('; ')}`);
  }
  return { name: 'cpu', why: `${why}, wasm failed to start`, skipped };
}
