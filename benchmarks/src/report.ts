/**
 * The reports, from the result files only: results/models.md, results/runtime.md, the SVG charts in results/charts/
 * and the summary block of benchmarks/README.md. Every bench file calls `writeReports()` after each entry;
 * `BENCH_MODELS=none BENCH_RUNTIME_SIZES=none` (or `pnpm --filter @restorekit/benchmarks report`) regenerates them alone.
 */
import { readText, writeText } from './results-io.js';
import { BACKENDS, TFJS_NODE_ABSENT, benchOptions } from './options.js';
import { chart, fmtNumber, type BarGroup, type LinePanel, type Series } from './svg.js';
import type { Peaks } from './measure.js';

export interface ModelEntry {
  /** Matrix row: the family ('restormer'), 'family:preset' for another preset, 'anyir-fft' (earlier: 'anyir-identity'). */
  row: string;
  model: string;
  preset: string;
  variant?: string;
  size: number;
  date?: string;
  device?: string;
  software?: boolean;
  remark?: string;
  skipped?: string;
  error?: string;
  params?: number;
  /** Convolutions + matrix products (2 FLOP per multiply-add), counted from the kernels of the warm-up forward. */
  gflop?: number;
  /** Matrix products of @restorekit/fft (the DFT as a product), not in gflop. */
  fftGflop?: number;
  kernels?: number;
  warmupMs?: number;
  ms?: number;
  minMs?: number;
  maxMs?: number;
  spread?: number;
  runs?: number;
  times?: number[];
  mps?: number;
  gflops?: number;
  /** gflops ÷ this run's 3×3-conv peak. */
  fractionOfPeak?: number;
  peakConvGflops?: number;
  peakMatmulGflops?: number;
  /** tf.profile peakBytes of the warm-up forward (tensors tfjs sees, weights included), MiB. */
  peakMiB?: number;
  /** Process RSS: highest seen at a kernel call of the warm-up forward, and before it (Node only), MiB. */
  rssPeakMiB?: number;
  rssBeforeMiB?: number;
  /** Measured before this suite (the 0.1 models.bench: spec FLOPs, no peaks, no spread). */
  legacy?: boolean;
}
export interface ModelResults {
  format?: number;
  backend: string;
  date: string;
  env: Record<string, unknown> | string;
  peaks?: Peaks;
  entries: ModelEntry[];
}

export interface TilingEntry {
  imageSide: number;
  tileSize: number;
  overlap: number;
  tiles: number;
  ms?: number;
  mps?: number;
  /** One forward of one tile (runtime's `warmup`, second run), ms; × tiles = the tiles' compute alone. */
  tileMs?: number;
  /** ms ÷ (tiles × tileMs): what cutting, blending and the overlap cost on top of the tiles' forwards. */
  overheadRatio?: number;
  rssPeakMiB?: number;
  rssBeforeMiB?: number;
  skipped?: string;
  error?: string;
  date?: string;
}
export interface WorkersEntry {
  /** The model (runtime.bench's smallest: compact, else a conv-only net). */
  model?: string;
  imageSide: number;
  tileSize: number;
  workers: number;
  ms?: number;
  /** Every timed restore, ms. */
  times?: number[];
  startMs?: number;
  mps?: number;
  error?: string;
  date?: string;
}
export interface RuntimeResults {
  format: number;
  backend: string;
  date: string;
  env: Record<string, unknown>;
  model: { name: string; preset?: string; description: string; gflopPerMegapixel?: number };
  tiling: TilingEntry[];
  workers: WorkersEntry[];
  speedup?: number;
  /** Speed-up of 2 workers over 1 per model of the workers part. */
  speedups?: Record<string, number>;
  /** Two independent processes running tile forwards vs one alone: what the machine allows two worker threads. */
  ceiling?: { tileSide?: number; aloneMs?: number; pairMs?: number[]; speedup?: number; error?: string };
}

export interface ReferenceEngine {
  label: string;
  threads?: number;
  version?: string;
  source: number;
  peaks?: { matmulGflops?: number; convGflops?: number };
}
export interface ReferenceEntry {
  row: string;
  model: string;
  preset: string;
  variant?: string;
  size: number;
  gflop?: number;
  seconds: Record<string, number>;
  notes?: Record<string, string>;
}
export interface Reference {
  format: string;
  title: string;
  date: string;
  machine: string;
  sources: { file: string; from: string; date: string; sha256?: string }[];
  engines: Record<string, ReferenceEngine>;
  entries: ReferenceEntry[];
  /** Worker threads: speed-up of 2 workers over 1 per model, measured with the reference (idle machine). */
  workers?: { source: number; what: string; speedup: Record<string, number> };
}

export const DEFAULT_REFERENCE = 'reference/anchors-2026-12-01c.json';
const COLORS: Record<string, string> = {
  cpu: '#8c564b',
  wasm: '#1f77b4',
  tensorflow: '#d62728',
  webgl: '#2ca02c',
  webgpu: '#9467bd',
  pytorch: '#7f7f7f',
  'pytorch-openblas': '#ff7f0e',
  ort: '#17becf',
};
const ROW_ORDER = ['restormer', 'anyir', 'anyir-fft', 'drcnet', 'lcdnet', 'fsdrnet', 'compact'];
const rowRank = (r: string) => (ROW_ORDER.indexOf(r) + 100) % 100;

export function backendLabel(b: string, r?: ModelResults | null): string {
  const env = r && typeof r.env === 'object' ? r.env : null;
  if (b === 'cpu') return 'cpu (pure JS)';
  if (b === 'wasm') return 'wasm (1 thread, SIMD)';
  if (b === 'tensorflow') return String(env?.tfjsNode ?? '').includes('-gpu') ? 'tensorflow (tfjs-node-gpu, CUDA)' : 'tensorflow (tfjs-node, CPU)';
  if (env && env.software === false && typeof env.device === 'string') return `${b} (${env.device})`;
  return `${b} (software: SwiftShader)`;
}

export function rowLabel(e: { row: string; model: string; preset: string; variant?: string }): string {
  return `${e.model} (${e.preset}${e.variant ? `, ${e.variant}` : ''})`;
}

const s = (ms?: number) =>
  ms === undefined ? '–' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
const pct = (f?: number) => (f === undefined ? '–' : `${(100 * f).toFixed(f < 0.1 ? 1 : 0)} %`);
const num = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
const sig = (v?: number) => (v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toPrecision(3));
const ratio = (a?: number, b?: number) => (a === undefined || b === undefined ? '–' : `${(a / b).toFixed(2)}×`);

export async function readModelResults(backend: string): Promise<ModelResults | null> {
  const txt = await readText(`results/models-${backend}.json`);
  if (!txt) return null;
  const r = JSON.parse(txt) as ModelResults & { entries: (ModelEntry & { peakMB?: number })[] };
  for (const e of r.entries) {
    if (!e.row) {
      // the 0.1 format: no row, peak memory as peakMB, spec FLOPs
      e.row = e.model;
      e.legacy = true;
      if (e.peakMB !== undefined) e.peakMiB = e.peakMB;
      delete e.peakMB;
    }
  }
  return r;
}

export async function readReference(): Promise<{ file: string; ref: Reference } | null> {
  const file = benchOptions().reference ?? DEFAULT_REFERENCE;
  const txt = await readText(file);
  return txt ? { file, ref: alignAnyIR(JSON.parse(txt) as Reference) } : null;
}

/**
 * The anchors kit has two AnyIR rows: 'anyir' (PyTorch runs the official code, with its FFT round trip; no ONNX export:
 * rfft2) and 'anyir-identity' (the fusion as the sum it equals, which ORT can run). Since restorekit's default fusion is
 * that sum, the matrix's 'anyir' row is measured against the official PyTorch times and the identity graph's ORT
 * time, with restorekit's own times of that day from the identity row (the default's configuration in every kit run);
 * its 'anyir-fft' row (the round trip written out) against the official PyTorch times only.
 */
export function alignAnyIR(ref: Reference): Reference {
  const out: ReferenceEntry[] = [];
  for (const e of ref.entries) {
    if (e.row === 'anyir-identity') continue;
    if (e.row !== 'anyir') {
      out.push(e);
      continue;
    }
    const id = ref.entries.find((x) => x.row === 'anyir-identity' && x.size === e.size);
    const torch = Object.fromEntries(Object.entries(e.seconds).filter(([k]) => k.startsWith('pytorch')));
    const mine = Object.fromEntries(Object.entries(id?.seconds ?? {}).filter(([k]) => k.startsWith('restorekit')));
    out.push({
      ...e,
      seconds: { ...torch, ...mine, ...(id?.seconds.ort !== undefined ? { ort: id.seconds.ort } : {}) },
      notes: id?.seconds.ort !== undefined ? { ort: 'ORT ran the identity-fusion export' } : e.notes,
    });
    out.push({ ...e, row: 'anyir-fft', variant: 'FFT fusion written out', seconds: torch, notes: e.notes });
  }
  return { ...ref, entries: out };
}

async function readRuntime(backend: string): Promise<RuntimeResults | null> {
  const txt = await readText(`results/runtime-${backend}.json`);
  return txt ? (JSON.parse(txt) as RuntimeResults) : null;
}

function envLine(b: string, r: ModelResults): string {
  const env = typeof r.env === 'object' ? r.env : { env: r.env };
  const parts = [
    String(env.device ?? env.env ?? ''),
    env.node ? `Node ${env.node}` : '',
    env.tfjsNode ? String(env.tfjsNode) : '',
    typeof env.oneDNN === 'boolean' ? `oneDNN ${env.oneDNN ? 'on' : 'off'} (${String(env.oneDNNWhy)})` : '',
    env.tfjs ? `tfjs ${env.tfjs}` : '',
    env.commit ? `commit ${env.commit}` : '',
    Array.isArray(env.loadavg) ? `load average at start ${(env.loadavg as number[]).join(' / ')}` : '',
  ].filter(Boolean);
  return `${backendLabel(b, r)}: ${parts.join(', ')}; latest run ${r.date.slice(0, 16).replace('T', ' ')} UTC`;
}

/** The latest measured entry of a row at a side, if any. */
const cell = (r: ModelResults | null, row: string, size: number) => r?.entries.find((e) => e.row === row && e.size === size && e.ms !== undefined && !e.legacy);

export async function writeReports(): Promise<void> {
  const results: Record<string, ModelResults> = {};
  for (const b of BACKENDS) {
    const r = await readModelResults(b);
    if (r) results[b] = r;
  }
  const reference = await readReference();
  const runtime: Record<string, RuntimeResults> = {};
  for (const b of ['wasm', 'tensorflow', 'cpu']) {
    const r = await readRuntime(b);
    if (r) runtime[b] = r;
  }
  const backends = Object.keys(results);
  const rows = [...new Set(Object.values(results).flatMap((r) => r.entries.filter((e) => !e.legacy).map((e) => e.row)))].sort(
    (a, b) => rowRank(a) - rowRank(b) || a.localeCompare(b),
  );
  const rowInfo = new Map<string, ModelEntry>();
  for (const r of Object.values(results))
    for (const e of r.entries)
      if (!rowInfo.has(e.row) || (!e.legacy && rowInfo.get(e.row)!.gflop === undefined && e.gflop !== undefined)) rowInfo.set(e.row, e);
  // The model's GFLOP at a side: the smallest kernel count over the backends (the wasm forms of some ops, e.g. Restormer's
  // attention as one masked 2-D product over every head, run a few % more multiply-adds than the model needs).
  const canon = new Map<string, number>();
  for (const r of Object.values(results))
    for (const e of r.entries) if (!e.legacy && e.gflop) canon.set(`${e.row}@${e.size}`, Math.min(canon.get(`${e.row}@${e.size}`) ?? Infinity, e.gflop));
  for (const r of Object.values(results))
    for (const e of r.entries) {
      const g = canon.get(`${e.row}@${e.size}`);
      if (e.legacy || !g || e.ms === undefined) continue;
      if (e.gflop && e.gflop > g * 1.005)
        e.remark = [`kernels ran ${e.gflop.toFixed(1)} GFLOP (+${(100 * (e.gflop / g - 1)).toFixed(1)} %)`, e.remark].filter(Boolean).join('; ');
      e.gflop = g;
      e.gflops = g / (e.ms / 1000);
      if (e.peakConvGflops) e.fractionOfPeak = e.gflops / e.peakConvGflops;
    }
  const ref = reference?.ref;

  // ---- models.md
  const md: string[] = [
    '# Model matrix: forward pass across backends (batch 1)',
    '',
    'Generated from `results/models-<backend>.json` by benchmarks/src/report.ts (`pnpm --filter @restorekit/benchmarks bench`, see',
    '[../README.md](../README.md)). Each cell: one warm-up forward (under tf.profile and the kernel counter), then the **median** of',
    'timed forwards (`apply` + `await data()` of the last output) and their **spread** = (max − min) / median. **GFLOP** = 2 × the',
    "multiply-adds of the convolutions and matrix products of the model (counted from the kernels' shapes; the smallest count over",
    "the backends, where one backend's forms run more, the note says so; FFTs, norms and elementwise ops not counted — the anchors'",
    "definition). **% of peak** = achieved GFLOP/s ÷ the same backend's 3×3-conv throughput",
    "measured at the start of the same run (conv2d [1,128,128,64]→64). **tf MiB**: tf.profile's peakBytes (tensors tfjs sees,",
    "weights included; on tensorflow it misses libtensorflow's scratch memory). **RSS MiB**: the process's resident memory, the",
    'highest value seen at any kernel call of the warm-up forward (Node only; the wasm heap never shrinks, so it includes earlier',
    'cells of the same run). Random weights.',
    '',
    "**Noise.** The development machine has 2 cores and, during these runs, also ran a training job (nice 19) and other engineers'",
    'tests: latencies are noisy (see the spread column and the load average below), and fractions of peak compare a model with a',
    'peak measured minutes earlier under possibly different load. webgl/webgpu rows come from **SwiftShader, a software GPU**: they',
    'say nothing about real GPUs and stop at 128².',
    '',
    '## Machines and peaks (latest run per backend)',
    '',
    '| backend | environment | matMul 1024² GFLOP/s | conv 3×3 GFLOP/s |',
    '|---|---|---|---|',
    ...backends.map((b) => `| ${b} | ${envLine(b, results[b]!)} | ${num(results[b]!.peaks?.matmul.gflops)} | ${num(results[b]!.peaks?.conv3x3.gflops)} |`),
    '',
    ...(results.tensorflow ? [] : [TFJS_NODE_ABSENT, '']),
  ];
  for (const b of backends) {
    const es = results[b]!.entries.filter((e) => !e.legacy).sort((x, y) => rowRank(x.row) - rowRank(y.row) || x.size - y.size);
    if (!es.length) continue;
    md.push(
      `## ${backendLabel(b, results[b])}`,
      '',
      '| model (preset) | input | GFLOP | latency (median) | spread | runs | MP/s | GFLOP/s | % of conv peak (GFLOP/s) | tf MiB | RSS MiB | note |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const e of es) {
      const note = [
        e.skipped,
        e.error && `error: ${e.error}`,
        e.fftGflop ? `+${e.fftGflop.toFixed(1)} GFLOP of DFT matMuls (not counted)` : '',
        e.remark,
        e.date?.slice(0, 10),
      ]
        .filter(Boolean)
        .join('; ');
      md.push(
        `| ${rowLabel(e)} | ${e.size}² | ${num(e.gflop)} | ${s(e.ms)} | ${e.spread === undefined ? '–' : `${(100 * e.spread).toFixed(0)} %`} | ${e.runs ?? '–'} | ${sig(e.mps)} | ${num(e.gflops)} | ${e.fractionOfPeak === undefined ? '–' : `${pct(e.fractionOfPeak)} of ${num(e.peakConvGflops)}`} | ${num(e.peakMiB, 0)} | ${num(e.rssPeakMiB, 0)} | ${note} |`,
      );
    }
    md.push('');
  }
  if (ref) {
    md.push(
      `## Next to PyTorch and ONNX Runtime (${reference!.file})`,
      '',
      `${ref.title}. ${ref.machine}. Reference times: ${Object.entries(ref.engines)
        .map(([k, v]) => `**${k}** = ${v.label}`)
        .join('; ')}.`,
      "Ratios are restorekit's latest time here ÷ the reference time (lower is better for restorekit; 1.00× = as fast). The reference",
      'ran on the same machine type with the machine otherwise idle; the restorekit times above did not (2–5× slower than the same',
      'code measured idle), so their ratios are pessimistic: the last columns give the ratios of the idle reference run itself.',
      '',
      '| model (preset) | input | backend | restorekit | ÷ PyTorch | ÷ PyTorch+OpenBLAS | ÷ ORT | restorekit that day (anchors, idle) | that day ÷ PyTorch+OpenBLAS | that day ÷ ORT |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const re of [...ref.entries].sort((x, y) => rowRank(x.row) - rowRank(y.row) || x.size - y.size))
      for (const b of ['wasm', 'tensorflow', 'cpu']) {
        const c = cell(results[b] ?? null, re.row, re.size);
        if (!c) continue;
        const day = re.seconds[`restorekit-${b}`];
        md.push(
          `| ${rowLabel(re)} | ${re.size}² | ${b} | ${s(c.ms)} | ${ratio(c.ms! / 1000, re.seconds.pytorch)} | ${ratio(c.ms! / 1000, re.seconds['pytorch-openblas'])} | ${re.seconds.ort !== undefined ? ratio(c.ms! / 1000, re.seconds.ort) : `– (${re.notes?.ort ?? 'no ORT time'})`} | ${day !== undefined ? `${day.toFixed(2)} s` : '–'} | ${day !== undefined ? ratio(day, re.seconds['pytorch-openblas']) : '–'} | ${day !== undefined && re.seconds.ort !== undefined ? ratio(day, re.seconds.ort) : '–'} |`,
        );
      }
    md.push('');
  }
  const legacy = Object.entries(results).flatMap(([b, r]) => r.entries.filter((e) => e.legacy).map((e) => ({ b, e })));
  if (legacy.length) {
    md.push(
      '## Earlier measurements (0.1 code, before this suite)',
      '',
      'Kept until the matrix re-measures them: spec FLOP counts, no peak, no spread. The SwiftShader entries at 256² and 512² (hours',
      'each, meaningless for real GPUs) were deleted.',
      '',
      '| backend | model (preset) | input | GFLOP | latency | GFLOP/s | tf MiB | note |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const { b, e } of legacy)
      md.push(
        `| ${b} | ${rowLabel(e)} | ${e.size}² | ${num(e.gflop, 0)} | ${s(e.ms)} | ${num(e.gflops, 2)} | ${num(e.peakMiB, 0)} | ${[e.skipped, e.error, e.runs === 0 ? '1 run (the profiled one)' : e.runs ? `median of ${e.runs}` : '', e.remark, e.date?.slice(0, 10)].filter(Boolean).join('; ')} |`,
      );
    md.push('');
  }
  await writeText('results/models.md', md.join('\n'));

  // ---- charts: latency vs size, fraction of peak (backends with measurements of this suite only)
  const charted = backends.filter((b) => results[b]!.entries.some((e) => !e.legacy && e.ms !== undefined));
  const sideTicks = [64, 128, 256, 512, 1024];
  const panels: LinePanel[] = rows.map((row) => {
    const series: Series[] = charted.map((b) => ({
      name: b,
      color: COLORS[b] ?? '#000',
      points: results[b]!.entries.filter((e) => e.row === row && e.ms !== undefined && !e.legacy).map((e) => ({
        x: e.size,
        y: e.ms! / 1000,
        label: `${e.size}²: ${s(e.ms)}`,
      })),
    }));
    if (ref)
      for (const eng of ['pytorch-openblas', 'ort'])
        series.push({
          name: eng,
          color: COLORS[eng]!,
          dashed: true,
          points: ref.entries
            .filter((e) => e.row === row && e.seconds[eng] !== undefined)
            .map((e) => ({ x: e.size, y: e.seconds[eng]!, label: `${e.size}²: ${e.seconds[eng]!.toFixed(2)} s` })),
        });
    return {
      kind: 'line',
      title: rowLabel(rowInfo.get(row)!),
      x: { label: 'input side (pixels, log)', log: true, ticks: sideTicks, format: (v) => `${v}²` },
      y: { label: 'latency, s (log)', log: true },
      series,
    };
  });
  const legend = [
    ...charted.map((b) => ({ name: backendLabel(b, results[b]), color: COLORS[b] ?? '#000' })),
    ...(ref
      ? [
          { name: 'PyTorch+OpenBLAS (reference)', color: COLORS['pytorch-openblas']!, dashed: true },
          { name: 'ONNX Runtime (reference)', color: COLORS.ort!, dashed: true },
        ]
      : []),
  ];
  const dates = charted.map((b) => results[b]!.date.slice(0, 10));
  await writeText(
    'results/charts/latency-vs-size.svg',
    chart({
      title: 'Forward latency vs input size, per backend (log–log, batch 1)',
      subtitle: [
        `median after warm-up; ${[...new Set(dates)].join(', ')}; 2-core development machine under load (noisy); webgl/webgpu = SwiftShader (software)`,
        ref ? `dashed: ${ref.title} (${ref.date}, same machine type, idle)` : 'no reference',
      ],
      panels,
      columns: 3,
      panelWidth: 340,
      panelHeight: 250,
      legend,
    }),
  );
  const groups: BarGroup[] = rows.map((row) => ({
    label: `${rowInfo.get(row)!.model} (${rowInfo.get(row)!.preset})${row === 'anyir-fft' ? ' FFT' : ''}`,
    bars: charted.map((b) => {
      const es = results[b]!.entries.filter((e) => e.row === row && e.fractionOfPeak !== undefined && !e.legacy).sort((x, y) => y.size - x.size);
      const e = es[0];
      return {
        name: b,
        color: COLORS[b] ?? '#000',
        value: e ? 100 * e.fractionOfPeak! : null,
        text: e ? `${(100 * e.fractionOfPeak!).toFixed(0)} % (${e.size}², ${e.gflops!.toFixed(1)} GFLOP/s)` : 'not measured',
      };
    }),
  }));
  await writeText(
    'results/charts/fraction-of-peak.svg',
    chart({
      title: "Achieved GFLOP/s as a fraction of the backend's own 3×3-conv peak",
      subtitle: ['largest measured input per backend; peak measured in the same run (conv2d [1,128,128,64]→64); GFLOP = convolutions + matrix products'],
      panels: [{ kind: 'bar', title: '', axis: { label: "% of the backend's conv peak", min: 0 }, groups }],
      columns: 1,
      panelWidth: 760,
      panelHeight: 60 + groups.length * (charted.length * 14 + 8),
      legend: charted.map((b) => ({ name: backendLabel(b, results[b]), color: COLORS[b] ?? '#000' })),
    }),
  );

  // ---- runtime.md and its chart
  const rt = Object.values(runtime);
  if (rt.length) {
    const r: string[] = [
      '# Runtime: tiled restore of large images, and worker threads',
      '',
      'Generated from `results/runtime-<backend>.json` (benchmarks/src/runtime.bench.test.ts). `restore(model, image, { tileSize, overlap })`',
      'of @restorekit/runtime on a random 8-bit RGB image, one call per cell (the model warmed up first). **tile forward** = the',
      'median forward of one tile (`warmup`, 3 runs after the first); **overhead** = restore time ÷ (tiles × tile forward): what the overlap, cutting, blending',
      "and read-backs cost on top of the tiles' forwards. **RSS** = the process's resident memory, highest value sampled after",
      'every tile (`onProgress`) and at the end; **before** = at the start of the call. Each section gives the load average at',
      'the start of its run: under load an overhead below 1× only means the tile forward was timed under a heavier load than the',
      'restore, and a second worker thread has no core of its own.',
      '',
    ];
    for (const x of rt) {
      r.push(
        `## ${x.backend}: ${x.model.description}`,
        '',
        `${envLine(x.backend, { ...x, entries: [] } as ModelResults)}.`,
        '',
        '| image | tile | overlap | tiles | time | MP/s | tile forward | overhead | RSS peak MiB | RSS before MiB | note |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
      );
      for (const e of [...x.tiling].sort((a, b) => a.tileSize - b.tileSize || a.imageSide - b.imageSide))
        r.push(
          `| ${e.imageSide}² | ${e.tileSize} | ${e.overlap} | ${e.tiles} | ${s(e.ms)} | ${sig(e.mps)} | ${s(e.tileMs)} | ${e.overheadRatio ? `${e.overheadRatio.toFixed(2)}×` : '–'} | ${num(e.rssPeakMiB, 0)} | ${num(e.rssBeforeMiB, 0)} | ${[e.skipped, e.error, e.date?.slice(0, 10)].filter(Boolean).join('; ')} |`,
        );
      r.push('');
      if (x.workers.length) {
        const refW = ref?.workers;
        if (refW)
          r.push(
            `The reference run (${reference!.file}, idle machine), ${refW.what}: ${Object.entries(refW.speedup)
              .map(([k, v]) => `${k} ${v.toFixed(2)}×`)
              .join(', ')}.`,
            '',
          );
        r.push(
          `Worker threads (\`createWorkerPool(model, { workers })\` of \`@restorekit/runtime/node\`, each worker its own ${x.backend} backend and model; the median of the timed restores, which alternate between the two pools; pool start-up and a warm-up restore excluded):`,
          '',
          '| model | image | tile | workers | time (median) | runs (ms) | MP/s | pool start-up | speed-up |',
          '|---|---|---|---|---|---|---|---|---|',
        );
        const one = x.workers.find((w) => w.workers === 1)?.ms;
        for (const w of x.workers)
          r.push(
            `| ${w.model ?? x.model.name} | ${w.imageSide}² | ${w.tileSize} | ${w.workers} | ${s(w.ms)} | ${w.times?.map((t) => t.toFixed(0)).join(', ') ?? '–'} | ${sig(w.mps)} | ${s(w.startMs)} | ${w.ms && one ? `${(one / w.ms).toFixed(2)}×` : (w.error ?? '–')} |`,
          );
        r.push('');
        const c = x.ceiling;
        if (c?.speedup && c.aloneMs && c.pairMs)
          r.push(
            `The machine's ceiling, measured right after (scripts/forward-loop.mjs: the same model's forward on a ${c.tileSide}² tile, 12 times, in one process alone and then in two processes at once — no pool, no messages, no blending): ${s(c.aloneMs)} per forward alone, ${c.pairMs.map((v) => s(v)).join(' and ')} with two at once, so two independent processes reach **${c.speedup.toFixed(2)}×** one process. The gap from that ceiling to 2× is the two cores contending for shared caches and memory bandwidth, which no scheduling removes. The pool's speed-up is ${x.speedup ? `${((100 * x.speedup) / c.speedup).toFixed(0)} % of the ceiling` : '–'}: the rest is work that one worker leaves to the idle second core and two workers must share with it — this thread cutting and blending tiles, and V8's concurrent garbage collection (with \`node --single-threaded-gc\` one worker used 1.08 cores instead of 1.18, measured 2026-11-30).`,
            '',
          );
        else if (c?.error) r.push(`The ceiling measurement failed: ${c.error}`, '');
      }
    }
    await writeText('results/runtime.md', r.join('\n'));
    const tileColors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
    const tSeries: Series[] = [];
    const mSeries: Series[] = [];
    const rtLegend: { name: string; color: string; dashed?: boolean }[] = [];
    let ci = 0;
    for (const x of rt)
      for (const tile of [...new Set(x.tiling.map((e) => e.tileSize))].sort((a, b) => a - b)) {
        const es = x.tiling.filter((e) => e.tileSize === tile && e.ms !== undefined);
        const color = tileColors[ci++ % tileColors.length]!;
        const name = `${x.backend}, tile ${tile}`;
        rtLegend.push({ name, color });
        tSeries.push({ name, color, points: es.map((e) => ({ x: (e.imageSide * e.imageSide) / 1e6, y: e.ms! / 1000, label: `${e.imageSide}²: ${s(e.ms)}` })) });
        mSeries.push({
          name,
          color,
          points: es
            .filter((e) => e.rssPeakMiB !== undefined && e.rssBeforeMiB !== undefined)
            .map((e) => ({
              x: (e.imageSide * e.imageSide) / 1e6,
              y: Math.max(1, e.rssPeakMiB! - e.rssBeforeMiB!),
              label: `${e.imageSide}²: +${(e.rssPeakMiB! - e.rssBeforeMiB!).toFixed(0)} MiB (peak ${e.rssPeakMiB!.toFixed(0)} MiB)`,
            })),
        });
      }
    const mpTicks = [1, 4, 16, 64].map((v) => v * 1.048576);
    const mpFmt = (v: number) => `${Math.round(Math.sqrt(v * 1e6))}²`;
    await writeText(
      'results/charts/runtime-tiling.svg',
      chart({
        title: 'Tiled restore: time and peak memory vs image size',
        subtitle: [
          `${[...new Set(rt.map((x) => `${x.model.name}${x.model.preset ? ` (${x.model.preset})` : ''}${x.model.gflopPerMegapixel ? `, ${x.model.gflopPerMegapixel.toFixed(1)} GFLOP per megapixel` : ''}`))].join('; ')}; random 8-bit RGB image, overlap 32`,
          'RSS growth = highest RSS sampled after any tile − RSS at the start of the call (the input image was already allocated); 2-core machine under load (noisy)',
        ],
        panels: [
          {
            kind: 'line',
            title: 'restore time',
            x: { label: 'image (log of pixel count)', log: true, ticks: mpTicks, format: mpFmt },
            y: { label: 'seconds (log)', log: true },
            series: tSeries,
          },
          {
            kind: 'line',
            title: 'process RSS growth during the restore',
            x: { label: 'image (log of pixel count)', log: true, ticks: mpTicks, format: mpFmt },
            y: { label: 'MiB (log)', log: true },
            series: mSeries,
          },
        ],
        columns: 2,
        panelWidth: 420,
        panelHeight: 300,
        legend: rtLegend,
      }),
    );
  }

  await updateReadme(results, ref ?? null, reference?.file ?? null, runtime);
}

/** Rewrites the block between the summary markers of benchmarks/README.md. */
async function updateReadme(
  results: Record<string, ModelResults>,
  ref: Reference | null,
  refFile: string | null,
  runtime: Record<string, RuntimeResults>,
): Promise<void> {
  const readme = await readText('README.md');
  const start = '<!-- summary:start (generated by src/report.ts) -->';
  const end = '<!-- summary:end -->';
  if (!readme || !readme.includes(start) || !readme.includes(end)) return;
  const size = 256;
  const lines: string[] = [];
  lines.push(
    `Latest figures at ${size}² (batch 1; full tables: [results/models.md](results/models.md)). Every column says what it is measured against: ` +
      "**% of peak** against that backend's own 3×3-conv throughput (conv2d [1,128,128,64]→64) measured at the start of the same run, given in each cell (GFLOP/s; it moves with the machine's load); " +
      (ref
        ? `**÷ PyTorch / ÷ ORT** against ${ref.title} (${refFile}, ${ref.date}: ${ref.engines['pytorch-openblas']?.label ?? 'PyTorch'}; ${ref.engines.ort?.label ?? 'ORT'}), `
        : '') +
      'restorekit time ÷ reference time (lower is better); in parentheses the same ratio from the reference run itself (restorekit ' +
      "measured by the anchors kit minutes after PyTorch and ORT on the idle machine: the fair comparison when this suite's own run was loaded). " +
      'Noisy 2-core machine: see the spread and load average in models.md.',
    '',
  );
  lines.push(
    '| model (preset) | GFLOP | wasm latency | wasm % of peak | tensorflow latency | tensorflow % of peak | wasm ÷ PyTorch+OpenBLAS | tensorflow ÷ PyTorch+OpenBLAS | wasm ÷ ORT | tensorflow ÷ ORT | measured against |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  const ofPeak = (e?: ModelEntry) => (e?.fractionOfPeak === undefined ? '–' : `${pct(e.fractionOfPeak)} of ${num(e.peakConvGflops)}`);
  const rows = [...new Set(Object.values(results).flatMap((r) => r.entries.filter((e) => !e.legacy && e.size === size).map((e) => e.row)))].sort(
    (a, b) => rowRank(a) - rowRank(b),
  );
  for (const row of rows) {
    const w = cell(results.wasm ?? null, row, size);
    const t = cell(results.tensorflow ?? null, row, size);
    const any =
      w ??
      t ??
      Object.values(results)
        .flatMap((r) => r.entries)
        .find((e) => e.row === row)!;
    const re = ref?.entries.find((e) => e.row === row && e.size === size);
    const po = re?.seconds['pytorch-openblas'];
    const ort = re?.seconds.ort;
    const against = re
      ? `own conv peak; anchors ${ref!.date} ${size}²${ort === undefined ? ` (ORT: ${re.notes?.ort ?? 'none'})` : re.notes?.ort ? ` (${re.notes.ort})` : ''}`
      : 'own conv peak (no PyTorch/ORT reference for this model)';
    const rw = re?.seconds['restorekit-wasm'];
    const rt = re?.seconds['restorekit-tensorflow'];
    const both = (c: ModelEntry | undefined, day: number | undefined, other: number | undefined) =>
      c && other ? `${ratio(c.ms! / 1000, other)}${day ? ` (${ratio(day, other)})` : ''}` : '–';
    lines.push(
      `| ${rowLabel(any)} | ${num(any.gflop)} | ${s(w?.ms)} | ${ofPeak(w)} | ${s(t?.ms)} | ${ofPeak(t)} | ${both(w, rw, po)} | ${both(t, rt, po)} | ${both(w, rw, ort)} | ${both(t, rt, ort)} | ${against} |`,
    );
  }
  const rtw = runtime.wasm ?? runtime.tensorflow;
  if (rtw?.speedup)
    lines.push(
      '',
      `Worker threads: \`workers: 2\` ran ${rtw.speedup.toFixed(2)}× as fast as \`workers: 1\` here (${rtw.backend}, ${rtw.workers[0]?.model ?? rtw.model.name}, ${rtw.workers[0]?.imageSide}² in tiles of ${rtw.workers[0]?.tileSize}; [results/runtime.md](results/runtime.md))${
        rtw.ceiling?.speedup ? `, against a ceiling of ${rtw.ceiling.speedup.toFixed(2)}× for two independent processes on this machine's two cores` : ''
      }${
        Object.entries(rtw.speedups ?? {}).filter(([k]) => k !== (rtw.workers[0]?.model ?? rtw.model.name)).length
          ? `; with longer tiles (the pool's per-tile cost weighs less): ${Object.entries(rtw.speedups ?? {})
              .filter(([k]) => k !== (rtw.workers[0]?.model ?? rtw.model.name))
              .map(([k, v]) => `${k} ${v.toFixed(2)}×`)
              .join(', ')}`
          : ''
      }${
        ref?.workers
          ? `; the reference run on the idle machine: ${Object.entries(ref.workers.speedup)
              .map(([k, v]) => `${k} ${v.toFixed(2)}×`)
              .join(', ')} (${ref.workers.what})`
          : ''
      }.`,
    );
  const current = Object.entries(results).filter(([, r]) => r.entries.some((e) => !e.legacy && e.ms !== undefined));
  lines.push(
    '',
    `Runs: ${current
      .map(([b, r]) => {
        const env = typeof r.env === 'object' ? r.env : {};
        return `${b} ${r.date.slice(0, 16).replace('T', ' ')} UTC on ${env.device ?? '?'}${env.commit ? ` (commit ${env.commit})` : ''}${Array.isArray(env.loadavg) ? `, load average ${(env.loadavg as number[])[0]}` : ''}`;
      })
      .join('; ')}.${(() => {
      const missing = BACKENDS.filter((b) => !current.some(([c]) => c === b));
      return missing.length ? ` No measurement of this suite yet: ${missing.join(', ')} (earlier rows, if any, in models.md).` : '';
    })()}`,
  );
  const i = readme.indexOf(start) + start.length;
  const j = readme.indexOf(end);
  await writeText('README.md', `${readme.slice(0, i)}\n${lines.join('\n')}\n${readme.slice(j)}`);
}

export { fmtNumber };
