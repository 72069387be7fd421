/**
 * The browser demo end to end in real Chromium (Debian's, SwiftShader for WebGL and WebGPU): build it with Vite, serve
 * the build with `vite preview` on 127.0.0.1, and drive the page with Playwright: restore a 96×96 sample on webgl,
 * webgpu and wasm (in the page's Web Worker), check the PSNRs the page shows, cancel a long run midway and check the
 * page recovers, and save a screenshot to examples/browser-demo/screenshot.png. `vite preview` sends the COOP/COEP
 * headers of vite.config.mjs: the page is cross-origin isolated and wasm runs tfjs's threaded build; a second page,
 * served without those headers, shows the same restoration on 1 thread.
 * Chromium: /usr/bin/chromium or $CHROMIUM_PATH; missing, the test fails and says so. RESTOREKIT_NO_BROWSER=1 (the
 * repository's switch for machines without Chromium) skips it, under a name that says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, chromiumArgs } from '../../vitest.shared';
import { chromium as playwrightChromium, type Browser, type BrowserContext, type Page } from 'playwright';

const here = dirname(fileURLToPath(import.meta.url));
const examples = resolve(here, '..');
const demo = join(examples, 'browser-demo');
const config = join(demo, 'vite.config.mjs');
const viteBin = join(examples, 'node_modules', 'vite', 'bin', 'vite.js');
// The launch flags and Chromium of the repository's browser tests: SwiftShader WebGL and WebGPU, headless.
const chromiumPath = chromium;
const noBrowser = process.env.RESTOREKIT_NO_BROWSER === '1';

/** Runs a command to completion (bounded); rejects with its output on a non-zero exit. */
function exec(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, args, { cwd: examples, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      rej(new Error(`${args.join(' ')}: timed out after ${timeoutMs} ms\n${out}`));
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      code === 0 ? res(out) : rej(new Error(`${args.join(' ')}: exit code ${code}\n${out}`));
    });
  });
}

const freePort = () =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

/** Starts `vite preview` on 127.0.0.1:port and resolves once it answers. */
async function startPreview(port: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, [viteBin, 'preview', '--config', config, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: examples,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout!.on('data', (d) => {
    out += d;
  });
  p.stderr!.on('data', (d) => {
    out += d;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (p.exitCode !== null) throw new Error(`vite preview exited with code ${p.exitCode}:\n${out}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return p;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  p.kill('SIGKILL');
  throw new Error(`vite preview did not answer on 127.0.0.1:${port} within 30 s:\n${out}`);
}

interface RunResult {
  backend: string;
  /** `${build}/${threads}` of the wasm backend (e.g. 'threaded-simd/2'); '' when the run was not on wasm. */
  wasm: string;
  psnrNoisy: number;
  psnrRestored: number;
  tiles: number;
  frames: number;
  restoreMs: number;
}

async function pick(page: Page, opts: { backend: string; sample: string; tile: number; model?: string }) {
  if (opts.model) await page.selectOption('#model', opts.model);
  await page.selectOption('#backend', opts.backend);
  await page.fill('#tile', String(opts.tile));
  const size = /-(\d+)\.png$/.exec(opts.sample)![1];
  if ((await page.inputValue('#sample')) !== opts.sample) {
    await page.selectOption('#sample', opts.sample);
    await page.waitForFunction((s) => document.getElementById('status')!.textContent!.includes(`${s}×${s} image loaded`), size, { timeout: 20_000 });
  }
}

async function restoreOnce(page: Page, opts: { backend: string; sample: string; tile: number; model?: string }): Promise<RunResult> {
  await pick(page, opts);
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'error', 'cancelled'].includes(document.getElementById('status')!.dataset.state!), undefined, { timeout: 120_000 });
  const state = await page.getAttribute('#status', 'data-state');
  if (state !== 'done') throw new Error(`${opts.backend}: the run ended '${state}': ${await page.textContent('#status')}`);
  const v = async (id: string) => (await page.getAttribute(id, 'data-value'))!;
  return {
    backend: await v('#r-backend'),
    wasm: (await page.getAttribute('#r-wasm', 'data-value')) ?? '',
    psnrNoisy: Number(await v('#r-psnr-noisy')),
    psnrRestored: Number(await v('#r-psnr-restored')),
    tiles: Number(await v('#r-tiles')),
    frames: Number(await v('#r-frames')),
    restoreMs: Number(await v('#r-t-restore')),
  };
}

/** Picks the wasm thread count (the page starts a new worker for it) and waits for that worker. */
async function pickThreads(page: Page, threads: string) {
  await page.selectOption('#threads', threads);
  await page.waitForFunction(() => document.getElementById('status')!.dataset.worker === 'ready', undefined, { timeout: 30_000 });
}

/** The restored image as the page drew it (RGBA bytes of the #after canvas). */
const restoredPixels = (page: Page) =>
  page.$eval('#after', (c) => {
    const canvas = c as HTMLCanvasElement;
    return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
  });

const maxAbsDiff = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** The pool size tfjs-backend-wasm 4.22 picks by itself (backend.cc): ⌊logical cores / 2⌋, at least 1, at most 8. */
const tfjsAutoThreads = (hardwareConcurrency: number) => Math.min(8, Math.max(1, Math.floor(hardwareConcurrency / 2)));

describe('browser demo (Vite build, vite preview, Playwright Chromium)', () => {
  let browser: Browser | undefined;
  let server: ChildProcess | undefined;
  let page: Page;
  let port = '';
  const logs: string[] = [];
  /** File names of the .wasm binaries the page's worker fetched (Vite adds a hash: tfjs-backend-wasm-simd-<hash>.wasm). */
  const wasmFetched: string[] = [];

  beforeAll(async () => {
    if (noBrowser) return;
    if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: apt-get install -y chromium (CI does), or set CHROMIUM_PATH`);
    await exec([viteBin, 'build', '--config', config, '--logLevel', 'warn'], 150_000);
    expect(statSync(join(demo, 'dist', 'index.html')).isFile()).toBe(true);
    server = await startPreview(await freePort());
    port = /--port\s(\d+)/.exec(server.spawnargs.join(' '))![1]!;
    browser = await playwrightChromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true, timeout: 60_000 });
    page = await browser.newPage({ viewport: { width: 960, height: 900 } });
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) logs.push(`[http ${r.status()}] ${r.url()}`);
    });
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    page.on('request', (r) => {
      if (r.url().endsWith('.wasm')) wasmFetched.push(r.url().split('/').pop()!);
    });
    await page.goto(`http://127.0.0.1:${port}/`, { timeout: 30_000 });
    await page.waitForFunction(
      () => document.querySelectorAll('#model option').length > 0 && document.getElementById('status')!.textContent!.includes('image loaded'),
      undefined,
      { timeout: 60_000 },
    );
  }, 240_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    if (server && server.exitCode === null) server.kill('SIGTERM');
  });

  const title = noBrowser
    ? 'skipped: RESTOREKIT_NO_BROWSER=1 (no Chromium on this run)'
    : 'restores on webgl, webgpu and wasm in a worker, cancels midway and recovers';
  it.skipIf(noBrowser)(
    title,
    async () => {
      try {
        const models = await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value));
        expect(models).toContain('denoiser');
        // The page selects a model with trained weights first (compact:default once @restorekit/models ships it, else the demo's denoiser).
        const first = await page.inputValue('#model');
        expect((await page.textContent('#weights-note'))!.trim(), `the page's default model ${first} should have trained weights`).toBe('');

        // The demo's own denoiser (trained by examples/train-denoiser) on every browser backend.
        for (const backend of ['webgl', 'webgpu', 'wasm']) {
          const r = await restoreOnce(page, { model: 'denoiser', backend, sample: 'samples/kodim03-96.png', tile: 64 });
          console.log(
            `${backend}: denoiser noisy ${r.psnrNoisy.toFixed(2)} dB → restored ${r.psnrRestored.toFixed(2)} dB, ${r.tiles} tiles, ${r.restoreMs.toFixed(0)} ms, ${r.frames} page frames`,
          );
          expect(r.backend).toBe(backend);
          expect(Number.isFinite(r.psnrNoisy)).toBe(true);
          expect(Number.isFinite(r.psnrRestored)).toBe(true);
          expect(r.psnrNoisy).toBeGreaterThan(15); // σ = 25 on 8-bit: about 20 dB
          expect(r.psnrRestored).toBeGreaterThan(r.psnrNoisy); // trained weights denoise
          expect(r.tiles).toBeGreaterThan(1);
          // wasm with the page's default thread count ('auto'): tfjs's threaded build, on the pool size tfjs picks.
          if (backend === 'wasm') expect(r.wasm).toBe(`threaded-simd/${tfjsAutoThreads(await page.evaluate(() => navigator.hardwareConcurrency))}`);
          else expect(r.wasm).toBe('');
        }
        // restorekit's shipped denoiser, when this build of @restorekit/models registers it with its weights.
        if (first === 'compact:default') {
          const r = await restoreOnce(page, { model: 'compact:default', backend: 'webgl', sample: 'samples/kodim03-96.png', tile: 64 });
          console.log(`webgl: compact:default noisy ${r.psnrNoisy.toFixed(2)} dB → restored ${r.psnrRestored.toFixed(2)} dB, ${r.restoreMs.toFixed(0)} ms`);
          expect(r.psnrRestored).toBeGreaterThan(r.psnrNoisy);
        } else console.log(`compact:default is not offered by this build of @restorekit/models (default model: ${first})`);

        // Cancel midway: a 256×256 image in 32-pixel tiles (dozens of tiles); cancel after the first tiles are in.
        await pick(page, { model: 'denoiser', backend: 'webgl', sample: 'samples/kodim23-256.png', tile: 32 });
        await page.click('#run');
        await page.waitForFunction(
          () => Number(document.getElementById('status')!.dataset.tiles ?? 0) >= 2 && document.getElementById('status')!.dataset.state === 'running',
          undefined,
          { timeout: 60_000 },
        );
        await page.click('#cancel');
        await page.waitForFunction(() => document.getElementById('status')!.dataset.state !== 'running', undefined, { timeout: 30_000 });
        expect(await page.getAttribute('#status', 'data-state'), (await page.textContent('#status'))!).toBe('cancelled');
        const doneTiles = Number(await page.getAttribute('#status', 'data-tiles'));
        const totalTiles = Number(await page.getAttribute('#status', 'data-total'));
        const progress = await page.$eval('#progress', (p) => (p as HTMLProgressElement).value);
        console.log(`cancelled after ${doneTiles} of ${totalTiles} tiles; progress bar reset to ${progress}`);
        expect(doneTiles).toBeGreaterThanOrEqual(2);
        expect(doneTiles).toBeLessThan(totalTiles); // midway
        expect(await page.isEnabled('#run')).toBe(true);
        expect(await page.isDisabled('#cancel')).toBe(true);

        // The page recovers: a second run completes.
        const again = await restoreOnce(page, { backend: 'webgl', sample: 'samples/kodim03-96.png', tile: 64 });
        expect(again.psnrRestored).toBeGreaterThan(again.psnrNoisy);
        // The screenshot: a 256×256 sample on wasm (fast), slider in the middle.
        const shot = await restoreOnce(page, { model: 'denoiser', backend: 'wasm', sample: 'samples/kodim23-256.png', tile: 128 });
        expect(shot.psnrRestored).toBeGreaterThan(shot.psnrNoisy);
        await page.fill('#slider', '50');
        await page.dispatchEvent('#slider', 'input');
        await page.screenshot({ path: join(demo, 'screenshot.png'), fullPage: true });
        expect(statSync(join(demo, 'screenshot.png')).size).toBeGreaterThan(10_000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- page console ---\n${logs.slice(-40).join('\n')}`);
      }
    },
    240_000,
  );

  it.skipIf(noBrowser)(
    noBrowser
      ? 'skipped: RESTOREKIT_NO_BROWSER=1 (no Chromium on this run)'
      : 'runs wasm on 2 threads when cross-origin isolated, with the single-thread result; without isolation on 1 thread',
    async () => {
      let plain: BrowserContext | undefined;
      try {
        const sample = { model: 'denoiser', backend: 'wasm', sample: 'samples/kodim03-96.png', tile: 64 };
        // vite preview sends COOP: same-origin and COEP: require-corp: the page, and its worker, are cross-origin isolated.
        expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
        expect(await page.getAttribute('#r-isolated', 'data-value')).toBe('true');
        expect(await page.isEnabled('#threads')).toBe(true);

        await pickThreads(page, '2');
        const two = await restoreOnce(page, sample);
        const twoPixels = await restoredPixels(page);
        await pickThreads(page, '1');
        const one = await restoreOnce(page, sample);
        const onePixels = await restoredPixels(page);
        await pickThreads(page, 'auto');
        // getThreadsCount() of the wasm backend: 2 threads where asked (even with 2 logical cores, where tfjs's own
        // choice is 1), the threaded-simd binary in both runs.
        expect(two.wasm).toBe('threaded-simd/2');
        expect(one.wasm).toBe('threaded-simd/1');
        expect(
          wasmFetched.some((f) => /^tfjs-backend-wasm-threaded-simd-[\w-]+\.wasm$/.test(f)),
          wasmFetched.join(', '),
        ).toBe(true);
        expect(
          wasmFetched.some((f) => /^tfjs-backend-wasm-(simd-)?[\w-]+\.wasm$/.test(f) && !f.includes('threaded')),
          wasmFetched.join(', '),
        ).toBe(false);
        // Threads change the speed, not the result.
        expect(Math.abs(two.psnrRestored - one.psnrRestored)).toBeLessThan(0.01);
        expect(two.psnrRestored).toBeGreaterThan(two.psnrNoisy);
        const diffThreads = maxAbsDiff(twoPixels, onePixels);
        expect(diffThreads).toBe(0); // XNNPACK splits the output between threads: the same bytes

        // The same build served without the headers (the document's COOP/COEP removed on the way): not isolated, so
        // no SharedArrayBuffer: tfjs falls back to its SIMD binary, on 1 thread, and the thread picker is off.
        plain = await browser!.newContext({ viewport: { width: 960, height: 900 } });
        const plainFetched: string[] = [];
        await plain.route(
          (url) => url.pathname === '/' || url.pathname.endsWith('/index.html'),
          async (route) => {
            const response = await route.fetch();
            const headers = { ...response.headers() };
            delete headers['cross-origin-opener-policy'];
            delete headers['cross-origin-embedder-policy'];
            await route.fulfill({ response, headers });
          },
        );
        const other = await plain.newPage();
        other.setDefaultTimeout(30_000);
        other.on('console', (m) => logs.push(`[plain ${m.type()}] ${m.text()}`));
        other.on('pageerror', (e) => logs.push(`[plain pageerror] ${e.message}`));
        other.on('request', (r) => {
          if (r.url().endsWith('.wasm')) plainFetched.push(r.url().split('/').pop()!);
        });
        await other.goto(`http://127.0.0.1:${port}/`, { timeout: 30_000 });
        await other.waitForFunction(
          () => document.getElementById('status')!.dataset.worker === 'ready' && document.getElementById('status')!.textContent!.includes('image loaded'),
          undefined,
          { timeout: 60_000 },
        );
        expect(await other.evaluate(() => crossOriginIsolated)).toBe(false);
        expect(await other.getAttribute('#r-isolated', 'data-value')).toBe('false');
        expect(await other.isDisabled('#threads')).toBe(true);
        const single = await restoreOnce(other, sample);
        const singlePixels = await restoredPixels(other);
        expect(single.wasm).toBe('simd/1');
        expect(plainFetched.length, plainFetched.join(', ')).toBe(1);
        expect(plainFetched[0]).toMatch(/^tfjs-backend-wasm-simd-[\w-]+\.wasm$/);
        expect(Math.abs(single.psnrRestored - one.psnrRestored)).toBeLessThan(0.01);
        expect(single.psnrNoisy).toBe(one.psnrNoisy); // the same seeded noise
        const diffBuilds = maxAbsDiff(singlePixels, onePixels);
        expect(diffBuilds).toBe(0); // the simd and threaded-simd binaries run the same kernels
        console.log(
          `wasm, 96×96: threaded-simd on 2 threads ${two.psnrRestored.toFixed(4)} dB in ${two.restoreMs.toFixed(0)} ms, on 1 thread ` +
            `${one.psnrRestored.toFixed(4)} dB in ${one.restoreMs.toFixed(0)} ms; not isolated (simd, 1 thread) ${single.psnrRestored.toFixed(4)} dB in ` +
            `${single.restoreMs.toFixed(0)} ms; max pixel difference 2 vs 1 thread ${diffThreads}, simd vs threaded-simd ${diffBuilds}`,
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- page console ---\n${logs.slice(-40).join('\n')}`);
      } finally {
        await plain?.close().catch(() => {});
      }
    },
    120_000,
  );
});
