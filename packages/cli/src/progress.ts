/**
 * Messages and progress bars on stderr. Bars (cli-progress) show only when stderr is a terminal (or `--progress`
 * forces them), never with `--json` or `--no-progress`, and only for work that has already taken longer than a
 * second: quick commands print no bar at all. Messages written while bars are up go above them.
 */
import cliProgress from 'cli-progress';

export interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Bars appear once the work has run this long (ms). */
export const PROGRESS_DELAY_MS = 1000;

export interface UiOptions {
  /** true: always (even when stderr is not a terminal); false: never; undefined: when stderr is a terminal. */
  progress?: boolean;
  delayMs?: number;
}

type Bar = { bar: cliProgress.SingleBar | null; total: number; value: number; label: string };

export class Ui {
  readonly barsEnabled: boolean;
  private readonly delayMs: number;
  private multi: cliProgress.MultiBar | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly bars: Bar[] = [];

  constructor(
    readonly stderr: Writable,
    options: UiOptions = {},
  ) {
    this.barsEnabled = options.progress ?? Boolean(stderr.isTTY);
    this.delayMs = options.delayMs ?? PROGRESS_DELAY_MS;
  }

  /** A line on stderr (above the bars when they are up). */
  log(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else this.stderr.write(`${line}\n`);
  }

  /**
   * A progress bar of `total` steps labelled `label`, shown once the work has taken `delayMs` (if bars are enabled).
   * `update(value)` moves it; `done()` removes it.
   */
  bar(label: string, total: number): { update(value: number, label?: string): void; done(): void } {
    const b: Bar = { bar: null, total, value: 0, label };
    if (!this.barsEnabled) return { update: () => {}, done: () => {} };
    this.bars.push(b);
    if (this.multi) this.show(b);
    else this.timer ??= setTimeout(() => this.start(), this.delayMs);
    return {
      update: (value, newLabel) => {
        b.value = value;
        if (newLabel !== undefined) b.label = newLabel;
        if (b.bar) {
          b.bar.update(value, { label: b.label });
          this.multi?.update();
        }
      },
      done: () => {
        const i = this.bars.indexOf(b);
        if (i >= 0) this.bars.splice(i, 1);
        if (b.bar && this.multi) this.multi.remove(b.bar);
        if (!this.bars.length) this.stop();
      },
    };
  }

  private start(): void {
    this.timer = null;
    if (!this.bars.length) return;
    this.multi = new cliProgress.MultiBar(
      {
        stream: this.stderr as unknown as NodeJS.WritableStream,
        format: '{label} [{bar}] {value}/{total} | {percentage}% | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        noTTYOutput: !this.stderr.isTTY,
        barsize: 30,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
    for (const b of this.bars) this.show(b);
  }

  private show(b: Bar): void {
    b.bar = this.multi!.create(b.total, b.value, { label: b.label });
  }

  /** Removes every bar (the end of a command, or before an error). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.bars.length = 0;
    if (this.multi) {
      this.multi.stop();
      this.multi = null;
    }
  }
}
