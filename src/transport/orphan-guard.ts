/**
 * @module transport/orphan-guard
 * A child that must not outlive this process: the command line that makes Linux send it a
 * signal when its parent dies. nats-server is a Go binary that cannot watch a pipe to its
 * parent as our workers do (src/worker/parent-watch.ts), so a launcher killed with SIGKILL
 * would leave it running, holding its ports and the job's store. util-linux's `setpriv
 * --pdeathsig` sets PR_SET_PDEATHSIG and then execs the program, so the child keeps its own PID
 * (signals by PID and the server's `nats-server_<pid>.ports` file still name the server itself).
 * Where setpriv is missing (not Linux, a stripped image) the child is spawned as it is.
 */
import { whichOnPath } from './path-lookup.js';

let setpriv: string | null | undefined;

/** `setpriv` on PATH, or null (looked up once). */
function findSetpriv(): string | null {
  if (setpriv === undefined) setpriv = process.platform === 'linux' ? whichOnPath('setpriv') : null;
  return setpriv;
}

/**
 * The command and arguments that run `binary args` with `signal` sent to it when this process
 * dies (SIGTERM by default: nats-server then shuts down cleanly, flushing its store).
 */
export function dyingWithParent(binary: string, args: string[], signal: NodeJS.Signals = 'SIGTERM'): { command: string; args: string[]; guarded: boolean } {
  const guard = findSetpriv();
  if (!guard) return { command: binary, args, guarded: false };
  return { command: guard, args: ['--pdeathsig', signal, binary, ...args], guarded: true };
}
