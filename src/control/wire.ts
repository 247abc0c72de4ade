/**
 * @module control/wire
 * What travels on the control server's ws socket besides StatusEvents (the answer to a
 * ControlRequest sent over the socket), and the one parser of ControlRequests from untrusted
 * JSON, shared by `POST /api/control` and the socket.
 */
import type { ControlReply, ControlRequest, StatusEvent } from './status.js';

/** Server → client on `/ws`: status events, and `reply` for each ControlRequest the client sent. */
export type SocketMessage = StatusEvent | { type: 'reply'; reply: ControlReply };

/** Largest request body or socket message accepted (a ControlRequest is a few dozen bytes). */
export const MAX_REQUEST_BYTES = 16 * 1024;

/** Parses a ControlRequest; returns an error message naming the accepted shapes instead of throwing. */
export function parseControlRequest(text: string): ControlRequest | { error: string } {
  const accepted = 'expected {"type":"stop"} or {"type":"scale","workers":N} with N a positive integer';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: `request is not JSON: ${accepted}` };
  }
  if (!value || typeof value !== 'object') return { error: accepted };
  const v = value as Record<string, unknown>;
  if (v.type === 'stop' && Object.keys(v).length === 1) return { type: 'stop' };
  if (v.type === 'scale' && Object.keys(v).length === 2 && Number.isInteger(v.workers) && (v.workers as number) >= 1) {
    return { type: 'scale', workers: v.workers as number };
  }
  return { error: `${accepted}; got ${JSON.stringify(value).slice(0, 200)}` };
}
