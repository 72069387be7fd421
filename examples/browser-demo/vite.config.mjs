// Vite config of the browser demo: `vite` (dev server), `vite build` (→ dist/), `vite preview` (serves dist/).
import { defineConfig } from 'vite';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
// Cross-origin isolation: with these two headers on the page, `crossOriginIsolated` is true, SharedArrayBuffer exists
// and tfjs-backend-wasm runs its threaded build. require-corp blocks cross-origin resources that do not opt in: the
// demo loads none (the .wasm files, weights and samples are all same-origin). Static hosts need the same headers.
const crossOriginIsolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: here,
  base: './',
  // The worker bundle is an ES module (tfjs and restorekit are ESM; `new Worker(url, { type: 'module' })`).
  worker: { format: 'es' },
  build: { outDir: resolve(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096, reportCompressedSize: false },
  // The dev server may read the workspace packages (linked into node_modules) and @restorekit/models' shipped weights.
  server: { fs: { allow: [repo] }, headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
});
