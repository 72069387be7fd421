/**
 * The runnable examples (examples/<name>/index.mjs) run as a user runs them — `node index.mjs` in their folder, as a
 * child process — and their exit codes and printed results are checked. Outputs go to a temporary folder.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const examples = resolve(here, '..');
const shared = inject('sharedDir') as string;

/** Runs `node index.mjs ...args` in examples/<name>; resolves to { code, stdout, stderr } (never rejects on exit codes). */
function runExample(name: string, args: string[] = [], timeout = 180_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      ['index.mjs', ...args],
      { cwd: join(examples, name), timeout, maxBuffer: 1 << 24, env: { ...process.env, RESTOREKIT_SHARED: shared } },
      (err, stdout, stderr) => res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const explain = (r: { code: number; stdout: string; stderr: string }) => `exit code ${r.code}\n${r.stdout}\n${r.stderr}`;

describe('examples run', () => {
  it('compose-custom-net: blocks of four packages, an official block from a .pth, training, save, reload, same output', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rk-compose-'));
    try {
      const r = await runExample('compose-custom-net', ['--out', out, '--steps', '3']);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toContain('block weights equal the checkpoint');
      expect(r.stdout).toMatch(/loaded 11 official tensors into layer 1 \(TransformerBlock\)/);
      const l1 = [...r.stdout.matchAll(/step \d+\s+L1 ([\d.]+)/g)].map((m) => Number(m[1]));
      expect(l1).toHaveLength(3);
      expect(l1[2]).toBeLessThan(l1[0]!);
      expect(r.stdout).toContain('reloaded (tf.loadLayersModel) max |Δ| = 0');
      expect(r.stdout).toContain('reloaded (safetensors → fresh net) max |Δ| = 0');
      expect(r.stdout).toContain('OK: same output after save and reload');
      for (const f of ['model.json', 'weights.bin', 'composed.safetensors']) expect(existsSync(join(out, f)), f).toBe(true);
      // The safetensors file names the composed net's weights by PyTorch keys, the official block's among them.
      const st = readFileSync(join(out, 'composed.safetensors'));
      const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8'));
      expect(Object.keys(header)).toContain('body.1.attn.qkv.weight');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);

  it('train-denoiser: BSD400 crops, σ = 25, PSNR table on two held-out BSD400 images; training helps', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rk-denoise-'));
    try {
      const r = await runExample('train-denoiser', ['--out', out, '--steps', '40', '--images', '24']);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toContain('held out: test_399.png, test_400.png');
      expect(r.stdout).not.toMatch(/cbsd68|bsd68-gray/);
      const mean = /^mean\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$/m.exec(r.stdout);
      expect(mean, r.stdout).not.toBeNull();
      const [noisy, untrained, trained] = mean!.slice(1).map(Number) as [number, number, number];
      expect(noisy).toBeGreaterThan(19); // σ = 25 on [0, 1] images clipped: about 20.3 dB
      expect(noisy).toBeLessThan(22);
      expect(trained).toBeGreaterThan(noisy);
      expect(trained).toBeGreaterThan(untrained);
      expect(r.stdout).toMatch(/^test_399\.png\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
      expect(existsSync(join(out, 'denoiser.safetensors'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);

  it('convert-pytorch-weights: .pth → model → safetensors → fresh model, identical; restorekit convert too', async () => {
    const out = mkdtempSync(join(tmpdir(), 'rk-convert-'));
    try {
      const r = await runExample('convert-pytorch-weights', ['--out', out]);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toContain('same keys as the .pth: true; same values: true');
      expect(r.stdout).toContain('fresh model from restormer.safetensors: max |Δ| = 0');
      expect(r.stdout).toMatch(/restorekit convert restormer_params\.pth restormer-cli\.safetensors → exit code 0/);
      expect(r.stdout).toContain("model from the CLI's file");
      expect(r.stdout).toContain('OK: identical outputs');
      expect(existsSync(join(out, 'restormer.safetensors'))).toBe(true);
      expect(existsSync(join(out, 'restormer-cli.safetensors'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);

  it('fine-tune-fsderain: Restormer fine-tuned with the FSDerain objective on seeded synthetic rain; the loss goes down', async () => {
    const r = await runExample('fine-tune-fsderain', ['--steps', '4']);
    expect(r.code, explain(r)).toBe(0);
    const losses = [...r.stdout.matchAll(/step \d+\s+FSDerain loss ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[3]).toBeLessThan(losses[0]!);
    const before = Number(/^before: FSDerain loss ([\d.]+)/m.exec(r.stdout)![1]);
    const after = Number(/^after : FSDerain loss ([\d.]+)/m.exec(r.stdout)![1]);
    expect(after).toBeLessThan(before);
    expect(r.stdout).toContain('OK: the loss went down');
  }, 240_000);

  it('an example that fails exits non-zero (a missing checkpoint)', async () => {
    const r = await runExample('convert-pytorch-weights', ['--weights', join(tmpdir(), 'no-such-file.pth'), '--out', join(tmpdir(), 'rk-convert-missing')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-file\.pth/);
    rmSync(join(tmpdir(), 'rk-convert-missing'), { recursive: true, force: true });
  }, 120_000);
});
