/** The build of every package: ESM + CJS + .d.ts, tfjs and sibling packages external (peers / dependencies). */
import { defineConfig } from 'tsup';

export function packageBuild(entry: Record<string, string> = { index: 'src/index.ts' }) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@restorekit\//, /^node:/],
  });
}
