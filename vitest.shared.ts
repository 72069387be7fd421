/**
 * One test configuration for every package: the same `*.test.ts` files run in Node on the `cpu`
 * and `wasm` backends and in Debian's Chromium (SwiftShader) on `webgl` and `webgpu`, and, when
 * tfjs-node is there, on its `tensorflow` backend (project node-tensorflow; see `tfjsNodeModule`).
 * `*.node.test.ts` files are backend-independent (parsers, fuzzers, configs) and run once, in node-cpu.
 * Each run writes test-results/vitest.json; scripts/test-summary.mjs sums them.
 */
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = dirname(fileURLToPath(import.meta.url));
const sharedGuess = process.env.RESTOREKIT_SHARED ?? resolve(repoRoot, '..', 'shared');
/** ../shared (golden fixtures, datasets), with symlinks resolved so the dev server's fs.allow matches. */
export const sharedDir = existsSync(sharedGuess) ? realpathSync(sharedGuess) : sharedGuess;
export const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Chromium's launch flags for the browser backends: SwiftShader WebGL and WebGPU, headless (also used by the demo's test). */
export const chromiumArgs = [
  '--no-sandbox',
  '--headless',
  '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // SwiftShader runs a draw call on the CPU: one pass of a 512² model forward can outlast the GPU
  // watchdog, which then kills the GPU process (seen as a lost context: "Failed to compile fragment shader.")
  '--disable-gpu-watchdog',
];
const setup = join(repoRoot, 'test-setup', 'backend.ts');

/**
 * The module that registers tfjs-node's `tensorflow` backend, or null (then there is no project node-tensorflow).
 * restorekit never depends on tfjs-node (its install downloads a native binary); the tests get it from
 * `.tfjs-node/`, a development-only install outside the pnpm workspace that scripts/tfjs-node.sh makes (run by
 * scripts/test.sh; it builds tfjs-node from local parts and writes `.tfjs-node/ok` once it works), whose
 * @tensorflow/tfjs-core is a symlink to the workspace's, so that tfjs-node registers its backend in the tests' copy.
 * `RESTOREKIT_TFJS_NODE=<module or path>` names another ('0' turns the project off); without either,
 * @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node, is looked up from the repository root.
 */
export function tfjsNodeModule(): string | null {
  const env = process.env.RESTOREKIT_TFJS_NODE;
  if (env === '0') return null;
  const req = createRequire(join(repoRoot, 'package.json'));
  if (env) {
    const spec = env.startsWith('.') ? resolve(repoRoot, env) : env;
    try {
      return req.resolve(spec);
    } catch {
      throw new Error(`RESTOREKIT_TFJS_NODE=${env}: no such module from ${repoRoot} (run scripts/tfjs-node.sh, install @tensorflow/tfjs-node, or unset it)`);
    }
  }
  const local = join(repoRoot, '.tfjs-node');
  if (existsSync(join(local, 'ok'))) return createRequire(join(local, 'package.json')).resolve('@tensorflow/tfjs-node');
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      return req.resolve(pkg);
    } catch {
      // not installed: the usual case
    }
  }
  return null;
}

/** The rule of @restorekit/runtime's `oneDNNHazard`, restated so that this config needs no build: Linux x64 without /sys/…/cache. */
function oneDNNHazard(): boolean {
  return process.platform === 'linux' && process.arch === 'x64' && !existsSync('/sys/devices/system/cpu/cpu0/cache');
}

export function restorekitTestConfig(pkgDir: string, opts: { browser?: boolean; testTimeout?: number } = {}) {
  const include = ['src/**/*.test.ts', 'test/**/*.test.ts'];
  const exclude = ['**/*.node.test.ts', '**/node_modules/**', '**/dist/**'];
  const browser = (opts.browser ?? true) && process.env.RESTOREKIT_NO_BROWSER !== '1';
  if (browser && !existsSync(chromium))
    throw new Error(`Chromium not found at ${chromium}: apt-get install -y chromium, or set RESTOREKIT_NO_BROWSER=1 to run the Node backends only`);
  const testTimeout = opts.testTimeout ?? 600_000;
  const common = { setupFiles: [setup], testTimeout, hookTimeout: testTimeout };
  const tfjsNode = tfjsNodeModule();
  const browserProject = (backend: 'webgl' | 'webgpu') => ({
    server: { fs: { allow: [repoRoot, sharedDir] } },
    test: {
      ...common,
      name: backend,
      include,
      exclude,
      provide: { backend, sharedDir },
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({ launchOptions: { executablePath: chromium, args: chromiumArgs } }),
        instances: [{ browser: 'chromium' as const }],
      },
    },
  });
  return defineConfig({
    root: pkgDir,
    server: { fs: { allow: [repoRoot, sharedDir] } },
    optimizeDeps: {
      include: [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-layers',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-webgl',
        '@tensorflow/tfjs-backend-webgpu',
        '@tensorflow/tfjs-backend-wasm',
      ],
    },
    test: {
      reporters: ['default', ['json', { outputFile: join(pkgDir, 'test-results', 'vitest.json') }]],
      projects: [
        {
          test: {
            ...common,
            name: 'node-cpu',
            environment: 'node',
            include: [...include, 'src/**/*.node.test.ts', 'test/**/*.node.test.ts'],
            exclude: exclude.slice(1),
            provide: { backend: 'cpu', sharedDir },
          },
        },
        { test: { ...common, name: 'node-wasm', environment: 'node', include, exclude, provide: { backend: 'wasm', sharedDir } } },
        // TF_CPP_MIN_LOG_LEVEL=2: libtensorflow's start-up notices (CPU features) stay out of every test file's output.
        // The rest as @restorekit/runtime's loadTfjsNode sets them (what users get): TF's pooling CPU allocator, and
        // oneDNN off where the CPU reports no cache hierarchy (its `oneDNNHazard`: oneDNN can die of SIGFPE and compute
        // wrong gradients there) unless the environment says otherwise.
        ...(tfjsNode
          ? [
              {
                test: {
                  ...common,
                  name: 'node-tensorflow',
                  environment: 'node',
                  include,
                  exclude,
                  env: {
                    TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
                    TF_CPU_ALLOCATOR_USE_BFC: process.env.TF_CPU_ALLOCATOR_USE_BFC ?? 'true',
                    ...(process.env.TF_ENABLE_ONEDNN_OPTS === undefined && oneDNNHazard() ? { TF_ENABLE_ONEDNN_OPTS: '0' } : {}),
                  },
                  provide: { backend: 'tensorflow' as const, sharedDir, tfjsNode: pathToFileURL(tfjsNode).href },
                },
              },
            ]
          : []),
        ...(browser ? [browserProject('webgl'), browserProject('webgpu')] : []),
      ],
    },
  });
}
