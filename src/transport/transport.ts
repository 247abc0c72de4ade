/**
 * @module transport/transport
 * The `Transport` role: a subject-based message bus (NATS semantics) that the collectives, the
 * coordinator and the workers talk through. Two implementations honour one contract
 * (`test/transport/transport.contract.ts`): `NatsTransport` (a real nats-server) and `MemoryTransport`
 * (one process, for unit tests). Delivery is at-most-once, like core NATS: a message published
 * before a peer subscribed, or while either side is disconnected, is lost; callers that need
 * more (the collectives) tag their messages and retransmit.
 */

/** One delivered message. `data` may sit at any byte offset of a larger buffer (copy before viewing it as floats). */
export interface TransportMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Where to send an answer (set by `request`). */
  readonly reply?: string;
}

/**
 * A live subscription: iterate it with `for await`. Iteration ends after `unsubscribe()` or when
 * the transport closes; messages still queued at that moment are dropped (NATS does the same).
 */
export interface Subscription extends AsyncIterable<TransportMessage> {
  readonly subject: string;
  unsubscribe(): void;
}

/** Connection events: `disconnect` → (`reconnecting`)* → `reconnect`; `error` for async server errors. */
export interface TransportStatus {
  type: 'disconnect' | 'reconnecting' | 'reconnect' | 'error';
  /** Server address or error text, when known. */
  detail?: string;
}

export interface PublishOptions {
  /** Reply subject for the receiver (what `request` sets). */
  reply?: string;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group (work queues, not collectives). */
  queue?: string;
}

/** A `subscribeBorrowed` registration. */
export interface BorrowedSubscription {
  readonly subject: string;
  unsubscribe(): void;
}

export interface DataConnectionOptions {
  /** Client name prefix: connection i is `${name}-d${i}`. */
  name: string;
  /**
   * Spreads connections over a cluster: connection i starts its server list at server
   * (spread + i) mod servers, so ranks and their stripes land on different servers.
   */
  spread: number;
}

export interface Transport {
  /** Client name (shown in server monitoring). */
  readonly name: string;
  /** Largest payload the server accepts, in bytes (the server's `max_payload`). */
  readonly maxPayload: number;
  /**
   * Sends `data` to every subscriber of `subject` (no wildcards). Returns once the message is
   * queued; it is not delivered yet. Throws `TransportError` `MAX_PAYLOAD` / `BAD_SUBJECT` /
   * `CLOSED` synchronously. The caller must not modify `data` until the transport is done with
   * it, which every implementation guarantees by the time a message it published *later* on this
   * connection has been delivered: one connection's publishes stay in order and nothing keeps a
   * reference past that point (the collectives reuse frame memory on this basis).
   */
  publish(subject: string, data: Uint8Array, options?: PublishOptions): void;
  /** Subscribes to `subject`, which may contain `*` (one token) and a final `>` (one or more tokens). */
  subscribe(subject: string, options?: SubscribeOptions): Subscription;
  /**
   * Like `subscribe`, but `handler` runs synchronously for each message, and `message.data` is
   * **borrowed**: valid only until `handler` returns (the transport may reuse that memory for the
   * next read). This is the receive path without a copy; copy whatever must outlive the call.
   * Ends with `unsubscribe()` or `close()`. An exception thrown by `handler` is logged, not raised.
   */
  subscribeBorrowed(subject: string, handler: (message: TransportMessage) => void, options?: SubscribeOptions): BorrowedSubscription;
  /**
   * Opens `count` more connections to the same server(s) with the same credentials, each its own
   * `Transport`, for bulk data (the collectives' stripes). The caller closes them.
   */
  openDataConnections(count: number, options: DataConnectionOptions): Promise<Transport[]>;
  /**
   * Publishes `data` with a private reply subject and resolves with the first answer's bytes.
   * Rejects with `TransportError` `NO_RESPONDERS` (nobody subscribed), `TIMEOUT` or `CLOSED`.
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Answers a message received from `request`; throws `BAD_SUBJECT` if it carries no reply subject. */
  respond(message: TransportMessage, data: Uint8Array): void;
  /** Resolves when the server has processed everything published so far; rejects `DISCONNECTED` if the connection drops first. */
  flush(): Promise<void>;
  /** Flushes what it can and closes; idempotent. Subscriptions end, pending requests reject with `CLOSED`. */
  close(): Promise<void>;
  /** Resolves when the transport is closed: `undefined` after `close()`, the `Error` if it closed on a failure. */
  closed(): Promise<void | Error>;
  /** Registers a listener for connection events; returns a function that removes it. */
  onStatus(listener: (status: TransportStatus) => void): () => void;
}

import { TransportError } from '../errors.js';

export { TransportError, type TransportErrorCode } from '../errors.js';

/** nats-server's default max_payload (1 MiB). */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** The error every implementation throws for a payload above `maxPayload`. */
export function maxPayloadError(subject: string, bytes: number, maxPayload: number): TransportError {
  return new TransportError(
    'MAX_PAYLOAD',
    `message of ${bytes} bytes on "${subject}" exceeds the server max_payload of ${maxPayload} bytes: ` +
      'send it in smaller chunks or raise max_payload in the nats-server config',
  );
}

/** The error every implementation throws when used after `close()`. */
export function closedError(name: string): TransportError {
  return new TransportError('CLOSED', `transport "${name}" is closed`);
}
