/**
 * @module collectives/stripes
 * The connections one rank's collectives travel on. With `connections: 0` that is the transport
 * it was given (the worker's control connection, nats.js). With `connections: K ≥ 1` the rank
 * opens K data connections of its own (`Transport.openDataConnections`; on NATS the
 * `NatsWireTransport`, whose receive path lends messages without copying), so bulk data never
 * queues behind the worker's heartbeats; K > 1 stripes a rank over several sockets and servers.
 *
 * With K > 1 every chunk subject carries a stripe token `s{τ}`, τ = frame seq mod K. Connection
 * i of rank r carries token (r + i) mod K — it publishes the frames of that token and subscribes
 * to that token of the rank's chunk subjects — and starts its server list at member
 * (r + i) mod M of the cluster. With K = M servers, token τ therefore travels on the connections
 * of every rank to server τ: a frame is forwarded by the one server it arrived at, never across a
 * route (NATS queue groups would not do this: nats-server 2.9 spreads a queue group's messages
 * over the whole cluster). A retransmission goes out on the original's token too (the frame
 * pool relies on one connection per frame, see `frame-pool.ts`). Control messages use
 * connection 0, without a token.
 */
import type { BorrowedSubscription, Transport, TransportMessage } from '../transport/transport.js';

/** A chunk subject for a stripe token (undefined: unstriped, no token). */
export type StripedSubject = (token: number | undefined) => string;

export class Stripes {
  private readonly subs: BorrowedSubscription[] = [];

  private constructor(
    readonly connections: readonly Transport[],
    private readonly owned: boolean,
    private readonly rank: number,
  ) {}

  /** `count` own data connections of `transport` (0: `transport` itself, not closed by `close()`). */
  static async open(transport: Transport, count: number, options: { name: string; rank: number }): Promise<Stripes> {
    if (count <= 0) return new Stripes([transport], false, options.rank);
    return new Stripes(await transport.openDataConnections(count, { name: options.name, spread: options.rank }), true, options.rank);
  }

  get count(): number {
    return this.connections.length;
  }

  /** The smallest max_payload of the connections (every frame must fit each of them). */
  get maxPayload(): number {
    return Math.min(...this.connections.map((t) => t.maxPayload));
  }

  get control(): Transport {
    return this.connections[0] as Transport;
  }

  /** Publishes frame `seq` of a stream on its stripe. */
  publish(seq: number, subject: StripedSubject, frame: Uint8Array): void {
    const k = this.connections.length;
    if (k === 1) return this.control.publish(subject(undefined), frame);
    const token = seq % k;
    (this.connections[(token - (this.rank % k) + k) % k] as Transport).publish(subject(token), frame);
  }

  /** Subscribes each connection to its token of a chunk subject (borrowed frames). */
  listenChunks(subject: StripedSubject, handle: (message: TransportMessage) => void): void {
    const k = this.connections.length;
    this.connections.forEach((t, i) => this.subs.push(t.subscribeBorrowed(subject(k === 1 ? undefined : (this.rank + i) % k), handle)));
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
