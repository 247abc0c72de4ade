/**
 * @module worker/pause-signals
 * The control values every rank sends along with each step's gradients (src/train/step.ts sums
 * them with the gradient, in the same all-reduce). Because every rank receives the same sums at
 * the same step, a stop, resize or leave asked of any one rank makes all of them pause together
 * at that step boundary — no extra round trip, no rank a step ahead.
 */

/** What this rank has been asked (coordinator messages, SIGTERM). */
export interface PauseFlags {
  /** A checkpointed stop of the whole job. */
  stop: boolean;
  /** The membership is about to change (a newcomer, a scale request). */
  resize: boolean;
  /** This worker leaves (SIGTERM). */
  leave: boolean;
}

const SLOTS = ['stop', 'resize', 'leave'] as const;

/** This rank's flags as the values to sum (1 = asked). */
export function encodeSignals(flags: PauseFlags): Float32Array {
  return Float32Array.from(SLOTS, (slot) => (flags[slot] ? 1 : 0));
}

/** Which flags any rank raised, from the summed values. */
export function decodeSignals(sums: Float32Array): PauseFlags {
  const raised = (i: number) => (sums[i] ?? 0) > 0;
  return { stop: raised(0), resize: raised(1), leave: raised(2) };
}
