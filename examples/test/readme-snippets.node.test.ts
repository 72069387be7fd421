/**
 * Every JavaScript/TypeScript code block of every README in the repository runs, as a user would paste it: each block
 * is written to examples/.snippets/ (so `@restorekit/*` and tfjs resolve from this workspace package) and executed
 * with Node, in a working folder where the files the READMEs name exist (FILES below). A README whose example drifts
 * from the API fails here, with the README, the block's line and the error.
 * A block can opt out only by being a shell, JSON or text block (```sh, ```json, ```text): those are not code to run.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { transform } from 'esbuild';
import { inject } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const shared = inject('sharedDir') as string;
const work = join(root, 'examples', '.snippets');

/** Files README examples read, by the name they use, and where the test finds a stand-in of the same layout. */
const FILES: Record<string, string> = {
  // A Restormer checkpoint in the official release layout ({ params: state_dict }); the fixture's model is narrow.
  'restormer.pth': join(shared, 'fixtures', 'pth', 'restormer_params.pth'),
};

function readmes(): string[] {
  const out = [join(root, 'README.md')];
  for (const d of ['packages', 'examples'])
    for (const p of readdirSync(join(root, d))) if (existsSync(join(root, d, p, 'README.md'))) out.push(join(root, d, p, 'README.md'));
  return out;
}

interface Snippet {
  readme: string;
  line: number;
  lang: string;
  code: string;
}

function snippets(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\w+)\s*$/.exec(lines[i]!);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    const lang = m[1]!.toLowerCase();
    if (['js', 'javascript', 'mjs', 'ts', 'typescript'].includes(lang))
      out.push({ readme: relative(root, file), line: start + 1, lang, code: body.join('\n') });
  }
  return out;
}

const run = promisify(execFile);
const all = readmes().flatMap(snippets);

describe('README code blocks run', () => {
  it('finds the README examples (every package README has at least one)', () => {
    const withCode = new Set(all.map((s) => s.readme));
    for (const r of readmes())
      if (r.includes(`${join('packages', '')}`)) expect(withCode.has(relative(root, r)), `${relative(root, r)} has no js/ts example`).toBe(true);
  });

  for (const s of all) {
    it(`${s.readme}:${s.line}`, async () => {
      rmSync(join(work, `${s.readme.replace(/[/.]/g, '_')}_${s.line}`), { recursive: true, force: true });
      const dir = join(work, `${s.readme.replace(/[/.]/g, '_')}_${s.line}`);
      mkdirSync(dir, { recursive: true });
      for (const [name, target] of Object.entries(FILES)) if (s.code.includes(name)) symlinkSync(target, join(dir, name));
      const js = s.lang.startsWith('t') ? (await transform(s.code, { loader: 'ts', format: 'esm', target: 'node20' })).code : s.code;
      writeFileSync(join(dir, 'snippet.mjs'), js);
      try {
        await run(process.execPath, ['snippet.mjs'], { cwd: dir, timeout: 300_000, maxBuffer: 1 << 24 });
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string; message: string };
        throw new Error(`${s.readme}:${s.line} failed:\n${err.stderr || err.message}\n${err.stdout ?? ''}`);
      }
    });
  }
});
