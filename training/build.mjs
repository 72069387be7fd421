// Bundles training/rk-entry.mjs into training/.build/rk.mjs (see there). Run after changing compact.ts or rebuilding a
// package: `node training/build.mjs`. A snapshot, so a long training run is not affected by edits elsewhere.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(path.join(root, 'examples', 'package.json'));
const esbuild = require('esbuild');
const dist = (p) => path.join(root, 'packages', p, 'dist', 'index.js');
await esbuild.build({
  entryPoints: [path.join(here, 'rk-entry.mjs')],
  outfile: path.join(here, '.build', 'rk.mjs'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['@tensorflow/*', 'node:*'],
  alias: {
    '@restorekit/core': dist('core'),
    '@restorekit/train': dist('train'),
    '@restorekit/losses': dist('losses'),
    '@restorekit/metrics': dist('metrics'),
    '@restorekit/runtime': dist('runtime'),
  },
  logLevel: 'warning',
});
console.log('wrote training/.build/rk.mjs');
