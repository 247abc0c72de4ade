/**
 * @module protocol/channel
 * Typed control messages over a Transport: msgpack through the one codec, with decode errors
 * (e.g. another protocol version) logged and dropped instead of crashing a subscriber loop.
 */
import { decodeMessage, encodeMessage } from './codec.js';
import type { ControlMessage } from './messages.js';
import type { Transport, TransportMessage } from '../transport/transport.js';
import type { Logger } from '../log.js';

export function send(transport: Transport, subject: string, message: ControlMessage): void {
  transport.publish(subject, encodeMessage(message));
}

export async function ask<R extends ControlMessage>(transport: Transport, subject: string, message: ControlMessage, timeoutMs: number): Promise<R> {
  return decodeMessage<R>(await transport.request(subject, encodeMessage(message), timeoutMs));
}

export function answer(transport: Transport, request: TransportMessage, message: ControlMessage): void {
  transport.respond(request, encodeMessage(message));
}

/** Runs `handle` for every decodable message on `subject` until the subscription ends; returns the stop function. */
export function listen<T extends ControlMessage>(transport: Transport, subject: string, log: Logger, handle: (message: T, raw: TransportMessage) => void | Promise<void>): () => void {
  const sub = transport.subscribe(subject);
  void (async () => {
    for await (const raw of sub) {
      let message: T;
      try {
        message = decodeMessage<T>(raw.data);
      } catch (err) {
        log.warn('dropped an undecodable control message', { subject, error: (err as Error).message });
        continue;
      }
      try {
        await handle(message, raw);
      } catch (err) {
        log.error('control message handler failed', { subject, type: message.type, error: (err as Error).message });
      }
    }
  })();
  return () => sub.unsubscribe();
}
