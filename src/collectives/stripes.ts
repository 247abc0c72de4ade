/**
 * @module collectives/stripes
 * The connections one rank's collectives travel on. With `connections: 0` that is the transport
 * it was given (the worker's control connection, nats.js). With `connections: K ≥ 1` the rank
 * opens K data connections of its own (`Transport.openDataConnections`; on NATS the
 * `NatsWireTransport`, whose receive path lends messages without copying), so bulk data never
 * queues behind the worker's heartbeats, and K > 1 stripes a rank over several sockets — over
 * several servers of a cluster, since stripe i of rank r starts at server (r + i) mod servers.
 *
 * Frame seq s goes out on stripe s mod K (a retransmission of it too: the frame pool relies on
 * one connection per frame, see `frame-pool.ts`). A rank subscribes to its chunk subjects on
 * every stripe in a queue group of its own, so the server hands each frame to exactly one of
 * its connections (and, in a cluster, prefers one on the server the frame arrived at). Control
 * messages (credit, retransmit requests, aborts) use stripe 0.
 */
import type { BorrowedSubscription, Transport, TransportMessage } from '../transport/transport.js';

export class Stripes {
  private readonly subs: BorrowedSubscription[] = [];

  private constructor(
    readonly connections: readonly Transport[],
    private readonly owned: boolean,
    private readonly queueGroup: string,
  ) {}

  /** `count` own data connections of `transport` (0: `transport` itself, not closed by `close()`). */
  static async open(transport: Transport, count: number, options: { name: string; rank: number }): Promise<Stripes> {
    const group = `r${options.rank}`;
    if (count <= 0) return new Stripes([transport], false, group);
    return new Stripes(await transport.openDataConnections(count, { name: options.name, spread: options.rank }), true, group);
  }

  get count(): number {
    return this.connections.length;
  }

  /** The smallest max_payload of the connections (every frame must fit each of them). */
  get maxPayload(): number {
    return Math.min(...this.connections.map((t) => t.maxPayload));
  }

  /** The connection frame `seq` of a stream travels on. */
  forSeq(seq: number): Transport {
    return this.connections[seq % this.connections.length] as Transport;
  }

  get control(): Transport {
    return this.connections[0] as Transport;
  }

  /** Chunk subjects: on every stripe, one delivery per rank (queue group when striped). */
  listenChunks(subject: string, handle: (message: TransportMessage) => void): void {
    const options = this.connections.length > 1 ? { queue: this.queueGroup } : {};
    for (const t of this.connections) this.subs.push(t.subscribeBorrowed(subject, handle, options));
  }

  listenControl(subject: string, handle: (message: TransportMessage) => void): void {
    this.subs.push(this.control.subscribeBorrowed(subject, handle));
  }

  async flush(): Promise<void> {
    await Promise.all(this.connections.map((t) => t.flush()));
  }

  /** Unsubscribes; closes the connections this rank opened. */
  async close(): Promise<void> {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    if (this.owned) await Promise.all(this.connections.map((t) => t.close()));
  }
}
