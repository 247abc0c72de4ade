/**
 * @module train/run-dir
 * The layout of a run folder and its append-only logs:
 *   RUN/config.json        the effective config of the run, secrets redacted (mode 0600)
 *   RUN/metrics.jsonl      one line per logged step (rank 0)
 *   RUN/consumed.jsonl     one line per committed step and rank: {"epoch","step","rank","ids"}
 *   RUN/checkpoints/       step-NNNNNNNN/ folders and the `latest` pointer
 * On resume, lines of steps after the restored checkpoint are dropped (those steps will be
 * recomputed), so the logs only ever show committed steps.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactConfig } from '../config/redact.js';

export interface RunPaths {
  root: string;
  config: string;
  metrics: string;
  consumed: string;
  checkpoints: string;
}

export function runPaths(root: string): RunPaths {
  return {
    root,
    config: join(root, 'config.json'),
    metrics: join(root, 'metrics.jsonl'),
    consumed: join(root, 'consumed.jsonl'),
    checkpoints: join(root, 'checkpoints'),
  };
}

export function ensureRunDir(paths: RunPaths): void {
  mkdirSync(paths.checkpoints, { recursive: true });
}

/** Writes RUN/config.json: the effective config with sensitive values redacted, readable by the owner only. */
export function writeRunConfig(paths: RunPaths, config: object): void {
  const tmp = `${paths.config}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(redactConfig(config), null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, paths.config);
}

export function appendJsonLine(file: string, value: unknown): void {
  appendFileSync(file, JSON.stringify(value) + '\n');
}

/** Rewrites a JSONL log keeping only lines whose `step` is ≤ `step` (atomic replace). */
export function truncateAfterStep(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        return (JSON.parse(line) as { step?: number }).step! <= step;
      } catch {
        return false; // a torn last line from a killed process
      }
    });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, kept.map((l) => l + '\n').join(''));
  renameSync(tmp, file);
}

/** Cuts both logs back to `step`: the steps after it will be recomputed (resume, rollback). */
export function rewindRunLogs(paths: RunPaths, step: number): void {
  truncateAfterStep(paths.consumed, step);
  truncateAfterStep(paths.metrics, step);
}

/** All JSON lines of a log (skipping a torn last line). */
export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return [];
      }
    });
}
