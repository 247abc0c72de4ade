/**
 * @module collectives/flow-control
 * Credit-based flow control for one collective call. NATS cuts off a subscriber whose pending
 * bytes at the server pass `max_pending` (64 MiB) as a "slow consumer", so a sender may have at
 * most `windowBytes` unacknowledged bytes in flight towards each peer; receivers return credit
 * (`FlowCredit`, or the `receivedBytes` of a retransmit request) as they take data in. With
 * window = budget / (worldSize − 1), what the server holds for any one receiver stays under the
 * budget however far it falls behind.
 */
import type { Logger } from '../log.js';

export class FlowWindow {
  private readonly sent = new Map<number, number>();
  private readonly acked = new Map<number, number>();
  private waiter: { peers: readonly number[]; bytes: number; resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    readonly windowBytes: number,
    private readonly log?: Logger,
  ) {}

  /** True if `bytes` more may go to every one of `peers` now (a lone frame larger than the window always may). */
  canSend(peers: readonly number[], bytes: number): boolean {
    return peers.every((peer) => {
      const inFlight = (this.sent.get(peer) ?? 0) - (this.acked.get(peer) ?? 0);
      return inFlight === 0 || inFlight + bytes <= this.windowBytes;
    });
  }

  /** Resolves once `canSend(peers, bytes)`; rejects if `cancel` is called first. One waiter at a time. */
  wait(peers: readonly number[], bytes: number): Promise<void> {
    if (this.canSend(peers, bytes)) return Promise.resolve();
    this.log?.debug('flow window full', { peers, bytes });
    return new Promise((resolve, reject) => (this.waiter = { peers, bytes, resolve, reject }));
  }

  /** Records a first-time send of `bytes` to each of `peers` (retransmits do not count). */
  recordSent(peers: readonly number[], bytes: number): void {
    for (const peer of peers) this.sent.set(peer, (this.sent.get(peer) ?? 0) + bytes);
  }

  /** `peer` has received `receivedBytes` distinct bytes in total (cumulative; stale credit is ignored). */
  credit(peer: number, receivedBytes: number): void {
    if (receivedBytes <= (this.acked.get(peer) ?? 0)) return;
    this.acked.set(peer, receivedBytes);
    if (this.waiter && this.canSend(this.waiter.peers, this.waiter.bytes)) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }

  cancel(err: Error): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(err);
  }
}
