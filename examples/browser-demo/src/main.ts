/**
 * The page: controls, the before/after slider and the results table. Everything heavy (TensorFlow.js, the model,
 * tiled restoration, PSNR) runs in ./worker.ts; the page only posts messages and draws what comes back.
 * `#status[data-state]` is idle | running | done | cancelled | error, `#status[data-worker]` starting | ready (the
 * end-to-end test waits on them).
 * The wasm thread count is fixed when a worker's wasm backend starts: changing it starts a new worker.
 */
import { MAX_WASM_THREADS, type Backend, type FromWorker, type ModelChoice, type RgbImage, type ToWorker, type WasmInfo } from './protocol';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSel = $<HTMLSelectElement>('model');
const backendSel = $<HTMLSelectElement>('backend');
const threadsSel = $<HTMLSelectElement>('threads');
const sampleSel = $<HTMLSelectElement>('sample');
const fileInput = $<HTMLInputElement>('file');
const runBtn = $<HTMLButtonElement>('run');
const cancelBtn = $<HTMLButtonElement>('cancel');
const progress = $<HTMLProgressElement>('progress');
const status = $<HTMLSpanElement>('status');
const note = $<HTMLParagraphElement>('weights-note');
const before = $<HTMLCanvasElement>('before');
const after = $<HTMLCanvasElement>('after');
const slider = $<HTMLInputElement>('slider');
const beforeClip = $<HTMLDivElement>('before-clip');

let worker: Worker | null = null;
const send = (m: ToWorker, transfer: Transferable[] = []) => worker!.postMessage(m, transfer);
let trained = new Map<string, boolean>();
let clean: RgbImage | null = null;
/** What the worker said: threads are possible only when the page is cross-origin isolated. */
let isolated = false;

// 1 … min(8, logical cores): more threads than cores only queue up; 'auto' is tfjs's choice (⌊cores / 2⌋).
for (let n = 1; n <= Math.min(MAX_WASM_THREADS, navigator.hardwareConcurrency || 1); n++) threadsSel.add(new Option(String(n), String(n)));

function setState(state: 'idle' | 'running' | 'done' | 'cancelled' | 'error', text: string) {
  status.dataset.state = state;
  status.textContent = text;
  const busy = state === 'running';
  runBtn.disabled = busy || !clean || !modelSel.value;
  cancelBtn.disabled = !busy;
  threadsSel.disabled = busy || !isolated;
}

function draw(canvas: HTMLCanvasElement, im: RgbImage) {
  canvas.width = im.width;
  canvas.height = im.height;
  const rgba = new ImageData(im.width, im.height);
  for (let p = 0; p < im.width * im.height; p++) {
    rgba.data[p * 4] = im.data[p * 3]!;
    rgba.data[p * 4 + 1] = im.data[p * 3 + 1]!;
    rgba.data[p * 4 + 2] = im.data[p * 3 + 2]!;
    rgba.data[p * 4 + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
  // The clipped "before" canvas is drawn at the full comparison width.
  before.style.width = `${after.getBoundingClientRect().width || 512}px`;
}

async function decode(blob: Blob): Promise<RgbImage> {
  const bmp = await createImageBitmap(blob);
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0);
  const { data } = ctx.getImageData(0, 0, bmp.width, bmp.height);
  const rgb = new Uint8Array(bmp.width * bmp.height * 3);
  for (let p = 0; p < bmp.width * bmp.height; p++) rgb.set(data.subarray(p * 4, p * 4 + 3), p * 3);
  return { data: rgb, width: bmp.width, height: bmp.height };
}

async function loadImage(source: Blob | string) {
  const blob = typeof source === 'string' ? await (await fetch(source)).blob() : source;
  clean = await decode(blob);
  draw(after, clean);
  draw(before, clean);
  setState('idle', `${clean.width}×${clean.height} image loaded`);
}

function updateNote() {
  note.textContent =
    trained.get(modelSel.value) === false
      ? `${modelSel.value} has random weights here (no trained weights ship with it yet): its output is not a restoration.`
      : '';
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
function result(id: string, value: number | string, text = String(value)) {
  const el = $(id);
  el.dataset.value = String(value);
  el.textContent = text;
}

let frames = 0;
let heartbeat = 0;
const beat = () => {
  frames++;
  heartbeat = requestAnimationFrame(beat);
};

function onMessage(e: MessageEvent<FromWorker>) {
  const m = e.data;
  switch (m.type) {
    case 'models': {
      const previous = modelSel.value;
      trained = new Map(m.models.map((x) => [x.id, x.trained]));
      modelSel.replaceChildren(...m.models.map((x) => new Option(`${x.label}${x.trained ? '' : ' (random weights)'}`, x.id)));
      modelSel.value = m.models.some((x) => x.id === previous) ? previous : (m.models.find((x) => x.trained) ?? m.models[0])!.id;
      updateNote();
      isolated = m.crossOriginIsolated;
      status.dataset.worker = 'ready';
      result(
        'r-isolated',
        String(m.crossOriginIsolated),
        m.crossOriginIsolated
          ? `yes: SharedArrayBuffer available, wasm may use threads (${m.hardwareConcurrency} logical cores)`
          : 'no: wasm runs on 1 thread (serve the page with COOP/COEP headers for threads)',
      );
      setState('idle', clean ? `${clean.width}×${clean.height} image loaded` : 'ready');
      break;
    }
    case 'status':
      status.textContent = m.text;
      break;
    case 'noisy':
      draw(before, m.image);
      break;
    case 'progress':
      progress.value = m.fraction;
      status.textContent = `tile ${m.index + 1}/${m.total}`;
      status.dataset.tiles = String(m.index + 1);
      status.dataset.total = String(m.total);
      break;
    case 'done':
      cancelAnimationFrame(heartbeat);
      progress.value = 1;
      draw(after, m.image);
      result('r-backend', m.backend);
      result('r-psnr-noisy', m.psnrNoisy, `${m.psnrNoisy.toFixed(2)} dB`);
      result(
        'r-psnr-restored',
        m.psnrRestored,
        `${m.psnrRestored.toFixed(2)} dB (${m.psnrRestored >= m.psnrNoisy ? '+' : ''}${(m.psnrRestored - m.psnrNoisy).toFixed(2)})`,
      );
      result('r-tiles', m.tiles);
      wasmResult(m.wasm);
      result('r-t-backend', m.timings.backendMs, fmtMs(m.timings.backendMs));
      result('r-t-model', m.timings.modelMs, fmtMs(m.timings.modelMs));
      result('r-t-restore', m.timings.restoreMs, fmtMs(m.timings.restoreMs));
      result('r-frames', frames, `${frames} frames in ${fmtMs(m.timings.totalMs)}`);
      setState('done', `done on ${m.backend}${m.wasm ? ` (${m.wasm.build}, ${threadsText(m.wasm.threads)})` : ''} in ${fmtMs(m.timings.totalMs)}`);
      break;
    case 'cancelled':
      cancelAnimationFrame(heartbeat);
      progress.value = 0;
      setState('cancelled', 'cancelled');
      break;
    case 'error':
      cancelAnimationFrame(heartbeat);
      setState('error', m.message);
      break;
  }
}

const threadsText = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
function wasmResult(w: WasmInfo | null) {
  const el = $('r-wasm');
  if (!w) {
    for (const k of ['value', 'build', 'threads', 'requested']) delete el.dataset[k];
    el.textContent = '– (not a wasm run)';
    return;
  }
  el.dataset.build = w.build;
  el.dataset.threads = String(w.threads);
  el.dataset.requested = String(w.requested);
  el.dataset.value = `${w.build}/${w.threads}`;
  el.textContent = `${w.build} build, ${threadsText(w.threads)} (asked: ${w.requested})`;
}

/** A new worker for the chosen wasm thread count (the old one, its wasm module and its pthreads, end). */
function startWorker() {
  worker?.terminate();
  status.dataset.worker = 'starting';
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = onMessage;
  worker.onerror = (e) => setState('error', `worker: ${e.message}`);
  const threads = threadsSel.value;
  send({ type: 'hello', wasmThreads: threads === 'auto' ? 'auto' : Number(threads) });
}

runBtn.onclick = () => {
  if (!clean) return;
  frames = 0;
  heartbeat = requestAnimationFrame(beat);
  progress.value = 0;
  delete status.dataset.tiles;
  delete status.dataset.total;
  setState('running', 'starting…');
  // A copy of the pixels goes to the worker (transferred, not cloned twice).
  const image = { ...clean, data: clean.data.slice() };
  send(
    {
      type: 'run',
      base: new URL('.', document.baseURI).href,
      image,
      model: modelSel.value as ModelChoice,
      backend: backendSel.value as Backend,
      sigma: Number($<HTMLInputElement>('sigma').value),
      seed: Number($<HTMLInputElement>('seed').value),
      tileSize: Number($<HTMLInputElement>('tile').value),
    },
    [image.data.buffer],
  );
};
cancelBtn.onclick = () => {
  status.textContent = 'cancelling…';
  send({ type: 'cancel' });
};
slider.oninput = () => {
  beforeClip.style.width = `${slider.value}%`;
};
modelSel.onchange = updateNote;
threadsSel.onchange = () => {
  setState('idle', 'starting a worker…');
  startWorker();
};
sampleSel.onchange = () => loadImage(sampleSel.value);
fileInput.onchange = () => {
  const f = fileInput.files?.[0];
  if (f) loadImage(f);
};

setState('idle', 'loading…');
startWorker();
void loadImage(sampleSel.value);
