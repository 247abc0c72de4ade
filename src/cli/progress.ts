/**
 * @module cli/progress
 * A progress line for long work on stderr: redrawn in place on a terminal, printed at most
 * every few seconds otherwise (logs stay readable in CI and kubectl logs). Shows position,
 * rate and ETA plus caller-supplied fields (losses, tokens/s).
 */
import type { LocalTrainOptions } from '../train/local-trainer.js';

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Minimum seconds between lines when not on a terminal. */
  plainEverySeconds?: number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

export class Progress {
  private readonly started = Date.now();
  private lastPlain = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  /** `startAt`: position when work (re)starts, e.g. the step a resumed run continues from. */
  constructor(private readonly opts: ProgressOptions, private readonly startAt = 0) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Sets the position and redraws; `fields` are shown as `key value`. */
  update(done: number, fields: Record<string, string | number | null> = {}): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = (done - this.startAt) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.opts.total - done) / rate : NaN;
    const width = 24;
    const filled = Math.round((width * done) / Math.max(this.opts.total, 1));
    const bar = `[${'='.repeat(filled)}${' '.repeat(width - filled)}]`;
    const extra = Object.entries(fields)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
      .join('  ');
    const line = `${this.opts.label} ${done}/${this.opts.total} ${bar} ${extra}  ETA ${clock(eta)}`;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}`);
      if (done >= this.opts.total) this.stream.write('\n');
    } else if (done >= this.opts.total || Date.now() - this.lastPlain >= (this.opts.plainEverySeconds ?? 5) * 1000) {
      this.lastPlain = Date.now();
      this.stream.write(line + '\n');
    }
  }
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

/** The `onStart`/`onStep` hooks of a trainer that draw a training progress line (losses, tokens/s). */
export function trainProgressHooks(): Pick<LocalTrainOptions, 'onStart' | 'onStep'> {
  let progress: Progress | null = null;
  return {
    onStart: (step, total) => {
      progress = new Progress({ label: 'train', total }, step);
    },
    onStep: ({ result: r, metrics }) => progress?.update(r.step, { loss_lm: r.lossLm, loss_cl: r.lossCl, 'tok/s': Math.round(metrics.tokens_per_s!) }),
  };
}
