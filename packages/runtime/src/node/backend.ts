/**
 * The fastest tfjs backend this Node process can run: `tensorflow` (libtensorflow through tfjs-node: oneDNN on
 * CPU, CUDA with tfjs-node-gpu) when @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node resolves from the user's
 * project, else `wasm` (XNNPACK, SIMD), else `cpu`. restorekit never depends on tfjs-node (its install downloads a
 * native binary): it is found where the user installed it, looked up from a directory (default: the working one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { BackendError, ConfigError, useBackend } from '@restorekit/core';

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
 * Settings of libtensorflow's CPU engine that it reads once, when it starts: they must be set before tfjs-node loads
 * (through `loadTfjsNode` / `useFastestBackend`, or in the environment).
 */
export interface TensorflowCpuOptions {
  /**
   * oneDNN's CPU kernels (libtensorflow's `TF_ENABLE_ONEDNN_OPTS`). Default: libtensorflow's own choice — on Linux, on
   * for CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX, else off — and off where `oneDNNHazard()` says it is not
   * safe. Which is faster depends on the CPU and the model: on a Zen 4 EPYC (on by default) DRCNet's convolutions ran
   * at libtensorflow's conv peak with it, on a Zen 3 (off by default) it doubled DRCNet's time (benchmarks/README.md,
   * "The tensorflow backend's CPU engine"). `restorekit bench` measures your models on your CPU.
   */
  oneDNN?: boolean;
}

/** What libtensorflow's CPU engine runs with in this process (see `TensorflowCpuOptions`). */
export interface TensorflowCpuState {
  /** Whether oneDNN's kernels are on; null where it cannot be told from here (not Linux x64: libtensorflow decides). */
  oneDNN: boolean | null;
  /** Why: "TF_ENABLE_ONEDNN_OPTS=0", "libtensorflow's default on this CPU (avx512_vnni)", … */
  why: string;
  /** Whether CPU tensors come from TF's pooling (BFC) allocator (`TF_CPU_ALLOCATOR_USE_BFC`; oneDNN has its own pool). */
  bfcAllocator: boolean;
  /** Set when restorekit turned oneDNN off because it can crash here (`oneDNNHazard`): the reason. */
  hazard?: string;
}

/** The CPU features for which libtensorflow turns oneDNN on by default on Linux (`IsMklEnabled` of TF 2.21, the C library restorekit is tested with). */
export const ONEDNN_DEFAULT_FEATURES = ['avx512_vnni', 'avx512_bf16', 'avx_vnni', 'amx_tile', 'amx_int8', 'amx_bf16'] as const;

/** This machine's CPU feature flags (Linux: /proc/cpuinfo), or null where they cannot be read. */
export function cpuFlags(): string[] | null {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^flags\s*:/.test(l));
    return line
      ? line
          .slice(line.indexOf(':') + 1)
          .trim()
          .split(/\s+/)
      : null;
  } catch {
    return null;
  }
}

/**
 * Where `tensorflowCpuState` and `loadTfjsNode` read the machine from (this package's own tests swap them for a
 * machine of their choosing; not exported from the package).
 */
export const machineProbe = { flags: cpuFlags, hazard: (): string | null => oneDNNHazard() };

/** TF's boolean environment values ('0', 'false', '1', 'true', any case); anything else: undefined (TF then keeps its default). */
function envBool(v: string | undefined): boolean | undefined {
  const t = v?.trim().toLowerCase();
  return t === '1' || t === 'true' ? true : t === '0' || t === 'false' ? false : undefined;
}

/**
 * What libtensorflow's CPU engine runs with, by the rules it applies when it starts: `TF_ENABLE_ONEDNN_OPTS` if it is
 * '0'/'1'/'false'/'true', else on for Linux x64 CPUs with one of `ONEDNN_DEFAULT_FEATURES`; `TF_CPU_ALLOCATOR_USE_BFC`.
 * Read before tfjs-node loads it says what it will use; after, what it uses — unless the environment changed since.
 */
export function tensorflowCpuState(machine: { env?: NodeJS.ProcessEnv; platform?: string; arch?: string; flags?: string[] | null } = {}): TensorflowCpuState {
  const env = machine.env ?? process.env;
  const platform = machine.platform ?? process.platform;
  const arch = machine.arch ?? process.arch;
  const bfcAllocator = envBool(env.TF_CPU_ALLOCATOR_USE_BFC) ?? false;
  const set = envBool(env.TF_ENABLE_ONEDNN_OPTS);
  if (set !== undefined) return { oneDNN: set, why: `TF_ENABLE_ONEDNN_OPTS=${env.TF_ENABLE_ONEDNN_OPTS}`, bfcAllocator };
  const ignored = env.TF_ENABLE_ONEDNN_OPTS ? ` (TF_ENABLE_ONEDNN_OPTS=${env.TF_ENABLE_ONEDNN_OPTS} is not 0, 1, false or true: ignored)` : '';
  if (platform !== 'linux' || arch !== 'x64') return { oneDNN: null, why: `libtensorflow's default on ${platform}-${arch}${ignored}`, bfcAllocator };
  const flags = machine.flags !== undefined ? machine.flags : machineProbe.flags();
  if (!flags) return { oneDNN: null, why: `libtensorflow's default (CPU features unreadable)${ignored}`, bfcAllocator };
  const has = ONEDNN_DEFAULT_FEATURES.filter((f) => flags.includes(f));
  return has.length
    ? { oneDNN: true, why: `libtensorflow's default on this CPU (${has.join(', ')})${ignored}`, bfcAllocator }
    : { oneDNN: false, why: `libtensorflow's default on this CPU (none of ${ONEDNN_DEFAULT_FEATURES.join(', ')})${ignored}`, bfcAllocator };
}

/**
 * Why oneDNN is not safe to run on this machine, or null. Linux x64 only: a CPU that reports no cache hierarchy
 * (no /sys/devices/system/cpu/cpu0/cache — CPUID's cache and topology leaves empty, as some virtual machines' CPUs
 * have them). On such a VM (2 vCPUs of a Zen 5 EPYC) libtensorflow 2.21 with oneDNN on died with SIGFPE in its
 * 1×1 convolutions of 512 channels into 1024 or 2048 and of 256 into 1024 (LCDNet's, for one): an integer division by zero
 * while oneDNN set the convolution up (gdb: `idiv` by 0 under `MklConvFwdPrimitive::Setup`), whatever
 * ONEDNN_MAX_CPU_ISA said; and FSDRNet's input gradient came out wrong by up to 19.7 (its fsdrnet_backward fixture;
 * right with ONEDNN_MAX_CPU_ISA=AVX2). With TF's own kernels both are right, and on the Zen 4 EPYC of earlier runs
 * oneDNN passed every fixture. The missing caches are that VM's oddity (a division by a cache or core count of zero
 * fits the crash): the sign this keys on, not a proven cause. `cacheDir` is for tests.
 */
export function oneDNNHazard(machine: { platform?: string; arch?: string; cacheDir?: string } = {}): string | null {
  const platform = machine.platform ?? process.platform;
  const arch = machine.arch ?? process.arch;
  if (platform !== 'linux' || arch !== 'x64') return null;
  const dir = machine.cacheDir ?? '/sys/devices/system/cpu/cpu0/cache';
  if (existsSync(dir)) return null;
  return `this CPU reports no cache hierarchy (no ${dir}), and there oneDNN can kill the process (SIGFPE) and compute wrong gradients`;
}

/** What the tfjs-node that `loadTfjsNode` loaded started with (the environment may change after). */
let loadedWith: TensorflowCpuState | null = null;

/**
 * What libtensorflow's CPU engine started with: as `loadTfjsNode` set it up, or, where tfjs-node was loaded some
 * other way, as the environment says (`tensorflowCpuState()`); null while no 'tensorflow' backend is registered.
 */
export function loadedTensorflowCpu(): TensorflowCpuState | null {
  return loadedWith ?? (tf.findBackendFactory('tensorflow') ? tensorflowCpuState() : null);
}

/**
 * Imports tfjs-node from `file`; true when it registered 'tensorflow' in the @tensorflow/tfjs-core this process
 * uses (false: it registered into another copy or version of tfjs-core). Throws what the import threw.
 *
 * Before the import it sets what libtensorflow reads at start-up: `TF_ENABLE_ONEDNN_OPTS` from `options.oneDNN` when
 * given, and `TF_CPU_ALLOCATOR_USE_BFC=true` unless the environment sets it — TF's pooling allocator for CPU
 * tensors, which it otherwise uses only with oneDNN on: without it every tensor is fresh memory from malloc, and on a
 * machine with slow page faults that cost Restormer's forward 760 000 faults and 8.6 s against 2.9 s (measured with
 * oneDNN off; with oneDNN on the setting changes nothing). Without `options.oneDNN` and `TF_ENABLE_ONEDNN_OPTS`, it
 * also sets `TF_ENABLE_ONEDNN_OPTS=0` where libtensorflow would turn oneDNN on but `oneDNNHazard()` says it can crash
 * there (`loadedTensorflowCpu().why` says so). Both stay in `process.env` (child processes inherit them).
 * A `ConfigError` when tfjs-node is loaded already and `options.oneDNN` asks for the other state: libtensorflow
 * cannot switch once started.
 */
export async function loadTfjsNode(file: string, options: TensorflowCpuOptions = {}): Promise<boolean> {
  const { oneDNN } = options;
  if (oneDNN !== undefined && typeof oneDNN !== 'boolean') throw new ConfigError(`tensorflow.oneDNN must be true or false, got ${JSON.stringify(oneDNN)}`);
  if (tf.findBackendFactory('tensorflow')) {
    const now = loadedTensorflowCpu()!;
    if (oneDNN !== undefined && now.oneDNN !== null && now.oneDNN !== oneDNN)
      throw new ConfigError(
        `tensorflow.oneDNN: ${oneDNN}, but tfjs-node is loaded already with oneDNN ${now.oneDNN ? 'on' : 'off'} (${now.why}); libtensorflow reads TF_ENABLE_ONEDNN_OPTS once, when it starts: set it before tfjs-node loads`,
      );
    return true;
  }
  // libtensorflow's start-up notices (CPU features) stay out of the output unless asked for.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  process.env.TF_CPU_ALLOCATOR_USE_BFC ??= 'true';
  if (oneDNN !== undefined) process.env.TF_ENABLE_ONEDNN_OPTS = oneDNN ? '1' : '0';
  let state = tensorflowCpuState();
  // Only libtensorflow's own default (neither the option nor the variable chose) gives way to the hazard.
  const hazard = state.oneDNN === true && envBool(process.env.TF_ENABLE_ONEDNN_OPTS) === undefined ? machineProbe.hazard() : null;
  if (hazard) {
    process.env.TF_ENABLE_ONEDNN_OPTS = '0';
    state = { ...tensorflowCpuState(), why: `restorekit's default: ${hazard}`, hazard };
  }
  await import(pathToFileURL(file).href);
  const ok = Boolean(tf.findBackendFactory('tensorflow'));
  if (ok) loadedWith = state;
  return ok;
}

/** What `useFastestBackend` chose, and why. */
export interface ChosenBackend {
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** Why this one: "found @tensorflow/tfjs-node", "no @tensorflow/tfjs-node in <dir>", … */
  why: string;
  /** For 'tensorflow': the module that registers it (pass it in a worker pool's `imports`). */
  tfjsNode?: string;
  /** For 'tensorflow': what libtensorflow's CPU engine runs with (oneDNN on or off, and why). */
  tensorflowCpu?: TensorflowCpuState;
  /** Backends tried first that could not start, with the reason. */
  skipped: string[];
}

/**
 * Activates the fastest backend available (see the module comment) and says which and why. Every candidate that
 * fails is recorded in `skipped` and the next one tried; only when cpu fails too does it throw a `BackendError`.
 * `from`: the directory tfjs-node is looked up from (default `process.cwd()`); `tensorflow`: libtensorflow's CPU
 * settings, applied if tfjs-node is loaded (see `loadTfjsNode`; a `ConfigError`, not a fallback, when they cannot be).
 */
export async function useFastestBackend(options: { from?: string; tensorflow?: TensorflowCpuOptions } = {}): Promise<ChosenBackend> {
  const from = options.from ?? process.cwd();
  const skipped: string[] = [];
  const found = findTfjsNode(from);
  if (found) {
    try {
      if (await loadTfjsNode(found.file, options.tensorflow)) {
        await useBackend('tensorflow');
        return { name: 'tensorflow', why: `found ${found.pkg}`, tfjsNode: found.file, tensorflowCpu: loadedTensorflowCpu() ?? undefined, skipped };
      }
      skipped.push(`tensorflow: ${found.pkg} registered its backend in another copy of @tensorflow/tfjs-core than restorekit's (${tf.version_core})`);
    } catch (e) {
      // The caller's own settings that cannot hold are their error, not a reason to fall back.
      if (e instanceof ConfigError) throw e;
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
