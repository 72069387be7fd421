// Vite config of the browser demo: `vite` (dev server), `vite build` (→ dist/), `vite preview` (serves dist/).
import { defineConfig } from 'vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

export default defineConfig({
  root: here,
  base: './',
  // The worker bundle is an ES module (tfjs and restorekit are ESM; `new Worker(url, { type: 'module' })`).
  worker: { format: 'es' },
  build: { outDir: resolve(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096, reportCompressedSize: false },
  // The dev server may read the workspace packages (linked into node_modules) and @restorekit/models' shipped weights.
  server: { fs: { allow: [repo] } },
});
