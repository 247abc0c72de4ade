/**
 * @module log
 * Structured logs: one JSON object per line on stderr (stdout stays free for command output
 * and `--json`). Context fields (`job`, `rank`, `epoch`, `step`) are bound once with `child`.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
}

export function createLogger(context: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? envLevel()];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...context, ...fields }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...context, ...fields }, options),
  };
}

function envLevel(): LogLevel {
  const level = process.env.INSTRUCTUE_LOG_LEVEL;
  return level === 'debug' || level === 'info' || level === 'warn' || level === 'error' ? level : 'info';
}

/** A logger that drops everything (for library calls in tests that assert on other output). */
export const silentLogger: Logger = createLogger({}, { write: () => {} });
