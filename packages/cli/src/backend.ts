/**
 * Which tfjs backend the CLI computes on. In Node: `tensorflow` when @tensorflow/tfjs-node-gpu or
 * @tensorflow/tfjs-node resolves from the user's project (looked up from the working directory; never a dependency
 * of the CLI), else `wasm` (else `cpu`); `--backend` overrides. webgl and webgpu need a browser.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@restorekit/core';
import { FailureError, UsageError, reason } from './errors.js';

export const BACKENDS = ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'] as const;
export type Backend = (typeof BACKENDS)[number];
/** The backends a Node process (and its worker threads) can run. */
export const NODE_BACKENDS = ['cpu', 'wasm', 'tensorflow'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

/** tfjs-node packages, preferred first. */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** The file of the first tfjs-node package that resolves from `cwd` (the user's project), or null. */
export function findTfjsNode(cwd: string): { pkg: string; file: string } | null {
  const req = createRequire(join(cwd, '__restorekit_cli__.js'));
  for (const pkg of TFJS_NODE_PACKAGES) {
    try {
      return { pkg, file: req.resolve(pkg) };
    } catch {
      // not installed in the project: the usual case
    }
  }
  return null;
}

export interface ChosenBackend {
  name: NodeBackend;
  /** Why this one ("--backend", "found @tensorflow/tfjs-node", ...). */
  why: string;
  /** For 'tensorflow': the module that registers it (worker threads import it too). */
  tfjsNode?: string;
}

/** Imports tfjs-node; true when it registered 'tensorflow' in the tfjs-core this process uses. */
async function loadTfjsNode(file: string): Promise<boolean> {
  if (tf.findBackendFactory('tensorflow')) return true;
  // libtensorflow's start-up notices (CPU features) stay out of the output unless asked for.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  await import(pathToFileURL(file).href);
  return Boolean(tf.findBackendFactory('tensorflow'));
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
  const found = findTfjsNode(cwd);
  if (requested === 'tensorflow') {
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
    return { name: 'tensorflow', why: '--backend', tfjsNode: found.file };
  }
  if (requested === 'cpu' || requested === 'wasm') {
    await start(requested);
    return { name: requested, why: '--backend' };
  }
  if (found) {
    try {
      if (await loadTfjsNode(found.file)) {
        await start('tensorflow');
        return { name: 'tensorflow', why: `found ${found.pkg}`, tfjsNode: found.file };
      }
      warn(`warning: ${found.pkg} did not register its backend in restorekit's @tensorflow/tfjs-core ${tf.version_core} (another copy or version): using wasm`);
    } catch (e) {
      warn(`warning: ${found.pkg} failed to load (${reason(e)}): using wasm`);
    }
  }
  try {
    await useBackend('wasm');
    return { name: 'wasm', why: found ? `${found.pkg} unusable` : 'no @tensorflow/tfjs-node in the project' };
  } catch (e) {
    warn(`warning: the wasm backend failed to start (${reason(e)}): using cpu`);
    await start('cpu');
    return { name: 'cpu', why: 'wasm failed to start' };
  }
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
