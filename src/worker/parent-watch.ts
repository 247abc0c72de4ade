/**
 * @module worker/parent-watch
 * A worker started by the local launcher exits when the launcher dies: the launcher holds the
 * write end of the worker's stdin, and the kernel closes it when the launcher exits for any
 * reason, SIGKILL included. Without this, orphaned workers went on training into the run folder
 * (and pruning its checkpoints) while a `--resume` raced them.
 */
import type { Logger } from '../log.js';

/** Exits this process (code 1) when stdin closes; the returned function stops watching (before a normal exit). */
export function exitWithParent(log: Logger): () => void {
  const gone = () => {
    log.warn('the launcher that started this worker is gone; exiting');
    process.exit(1);
  };
  const events = ['end', 'close', 'error'] as const;
  for (const e of events) process.stdin.on(e, gone);
  process.stdin.resume();
  return () => {
    for (const e of events) process.stdin.off(e, gone);
    process.stdin.destroy();
  };
}
