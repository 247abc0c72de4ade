/**
 * @module worker/mailbox
 * What a worker does next, as the coordinator's messages arrive: at most one pending epoch
 * assignment (a newer one replaces one not started yet) and a shutdown, which wins over any
 * assignment. The worker's main loop awaits `next()`.
 */
import type { AssignMessage } from '../protocol/messages.js';

export type Next = { kind: 'assign'; message: AssignMessage } | { kind: 'shutdown'; reason: string };

export class Mailbox {
  private assignment: AssignMessage | null = null;
  private shutdownReason: string | null = null;
  private wake: (() => void) | null = null;

  assign(message: AssignMessage): void {
    this.assignment = message;
    this.notify();
  }

  shutdown(reason: string): void {
    this.shutdownReason ??= reason;
    this.notify();
  }

  /** The next thing to do; waits until there is one. */
  async next(): Promise<Next> {
    for (;;) {
      if (this.shutdownReason !== null) return { kind: 'shutdown', reason: this.shutdownReason };
      if (this.assignment) {
        const message = this.assignment;
        this.assignment = null;
        return { kind: 'assign', message };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
