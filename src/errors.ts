/**
 * @module errors
 * The few typed errors of instructue. User and config problems are one of these, with a stable
 * `code` and a message that says what to do; `assert` is kept for our own invariants. Errors
 * cross the wire as `{name, code, message}` (see `toWire` / `fromWire`).
 */

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'DATA_INVALID'
  | 'WEIGHTS_INVALID'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_MISMATCH'
  | 'BACKEND_UNAVAILABLE'
  | 'PROTOCOL_MISMATCH'
  | 'COLLECTIVE_ABORTED'
  | 'COLLECTIVE_TIMEOUT'
  | 'MEMBERSHIP_CHANGED'
  | 'AUTH_REFUSED'
  | 'WORKER_FAILED'
  | 'USAGE'
  | TransportErrorCode
  | KeyValueErrorCode;

/** Message-bus failures (src/transport). */
export type TransportErrorCode = 'MAX_PAYLOAD' | 'BAD_SUBJECT' | 'NO_RESPONDERS' | 'TIMEOUT' | 'CLOSED' | 'DISCONNECTED' | 'CONNECT_FAILED';

/** Key-value store failures (src/transport: JetStream KV and its in-memory stand-in). */
export type KeyValueErrorCode = 'EXISTS' | 'REVISION_MISMATCH' | 'INVALID_KEY' | 'UNAVAILABLE';

/** Base class: every instructue error has a stable machine-readable `code`. */
export class InstructueError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A config key is missing, malformed or inconsistent; the message names the key and the fix. */
export class ConfigError extends InstructueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A data record is malformed; the message reads `file:line field: reason`. */
export class DataError extends InstructueError {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  constructor(file: string, line: number, field: string, reason: string) {
    super('DATA_INVALID', `${file}:${line} ${field}: ${reason}`);
    this.file = file;
    this.line = line;
    this.field = field;
  }
}

/** A weights file (safetensors, HF folder) is unreadable or inconsistent; names file and tensor. */
export class WeightsError extends InstructueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WEIGHTS_INVALID', message, options);
  }
}

/** A checkpoint failed verification or does not fit the current run. */
export class CheckpointError extends InstructueError {
  constructor(code: 'CHECKPOINT_INVALID' | 'CHECKPOINT_MISMATCH', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A requested tfjs backend cannot be loaded. */
export class BackendError extends InstructueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}

/** A collective could not complete: a peer was lost, a deadline passed, or the epoch changed. */
export class CollectiveError extends InstructueError {
  constructor(code: 'COLLECTIVE_ABORTED' | 'COLLECTIVE_TIMEOUT' | 'MEMBERSHIP_CHANGED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A transport operation failed (NATS or the in-memory bus); the message says what to do. */
export class TransportError extends InstructueError {
  declare readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A key-value operation failed (a compare-and-set lost, a bad key, no JetStream). */
export class KeyValueError extends InstructueError {
  declare readonly code: KeyValueErrorCode;
  constructor(code: KeyValueErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A worker of the local launcher failed in a way a restart cannot fix (it exited with a usage, config or data error). */
export class WorkerFailedError extends InstructueError {
  constructor(message: string) {
    super('WORKER_FAILED', message);
  }
}

/** Wrong command-line usage; the message shows the right form. */
export class UsageError extends InstructueError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** The shape in which an error crosses the wire. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

export function toWire(err: unknown): WireError {
  if (err instanceof InstructueError) return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, code: 'INTERNAL', message: err.message };
  return { name: 'Error', code: 'INTERNAL', message: String(err) };
}

/**
 * The exit code of a command that failed with `err`: 2 for problems the user fixes (usage,
 * config, data, weights, checkpoints), 1 for failures of the environment (NATS, a peer) and
 * for bugs.
 */
export function exitCodeOf(err: unknown): 1 | 2 {
  return err instanceof InstructueError && !(err instanceof TransportError) && !(err instanceof KeyValueError) && !(err instanceof CollectiveError) ? 2 : 1;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
