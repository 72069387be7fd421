/** Helpers of the CLI tests: the built executable (rebuilt when the sources are newer), child processes, test images. */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeImage } from '@restorekit/runtime/node';

export const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cliPath = join(pkgDir, 'dist', 'cli.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (!e.name.includes('.test.')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The tests run the built executable, `node dist/cli.js`, as a user does. turbo builds a package's dependencies
 * before its tests, not the package itself: when dist/ is missing or older than the sources, it is built here first.
 */
export async function ensureBuilt(): Promise<void> {
  const sources = Math.max(newest(join(pkgDir, 'src')), statSync(join(pkgDir, 'package.json')).mtimeMs, statSync(join(pkgDir, 'tsup.config.ts')).mtimeMs);
  const built = [cliPath, join(pkgDir, 'dist', 'index.js')].map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0));
  if (Math.min(...built) > sources) return;
  const req = createRequire(join(pkgDir, '..', '..', 'package.json'));
  const tsupPkg = req.resolve('tsup/package.json');
  const bin = (req(tsupPkg) as { bin: Record<string, string> }).bin.tsup!;
  await promisify(execFile)(process.execPath, [join(dirname(tsupPkg), bin)], { cwd: pkgDir, maxBuffer: 1 << 24 });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` in `cwd` (stdout and stderr are pipes, not terminals). */
export function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A smooth test image with some texture (deterministic), 8-bit, with 1, 3 or 4 channels (alpha a gradient). */
export function testImage(width: number, height: number, channels: 1 | 3 | 4) {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        const v = c === 3 ? 40 + (x * 200) / width : 128 + 70 * Math.sin(x * 0.3 + c) * Math.cos(y * 0.25 - c) + ((x * 7 + y * 13 + c * 5) % 11);
        data[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return { data, width, height, channels };
}

export async function writeTestImage(path: string, width: number, height: number, channels: 1 | 3 | 4 = 3): Promise<void> {
  await writeImage(path, testImage(width, height, channels));
}
