/**
 * The main entry is for browsers too: bundled as tsup bundles it, it imports tfjs and @restorekit/core only —
 * no sharp, no Node built-in — while the Node entry is where those live.
 */
import { describe, expect, it } from 'vitest';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

async function bundle(entry: string): Promise<{ text: string; imports: string[] }> {
  const r = await build({
    entryPoints: [join(pkg, entry)],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    packages: 'external',
    write: false,
    metafile: true,
    outdir: join(pkg, 'node_modules', '.cache', 'entries-test'),
    logLevel: 'silent',
  });
  const text = r.outputFiles.map((f) => f.text).join('\n');
  const imports = Object.values(r.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  return { text, imports: [...new Set(imports)].sort() };
}

const nodeBuiltin = (p: string) => p.startsWith('node:') || builtinModules.includes(p.split('/')[0]!);

describe('entry points', () => {
  it('the main entry imports tfjs and @restorekit/core only: no sharp, no node:* or other Node built-in', async () => {
    const { text, imports } = await bundle('src/index.ts');
    expect(imports).toEqual(['@restorekit/core', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers']);
    expect(text).not.toMatch(/\bfrom\s*["']sharp["']|require\(["']sharp["']\)|import\(["']sharp["']\)/);
    expect(text).not.toMatch(/["']node:/);
    expect(imports.filter(nodeBuiltin)).toEqual([]);
  });

  it('the Node entry is where sharp and worker_threads are (the check above would see them)', async () => {
    const { imports } = await bundle('src/node/index.ts');
    expect(imports).toContain('sharp');
    expect(imports).toContain('node:worker_threads');
    const worker = await bundle('src/node/worker.ts');
    expect(worker.imports).toContain('node:worker_threads');
    expect(worker.imports).not.toContain('sharp');
  });
});
