/**
 * @module protocol/codec
 * The wire format of control messages, and the only importer of msgpackr: msgpack of
 * `[PROTOCOL_VERSION, message]`, plain maps (no msgpackr records, so any msgpack reader can
 * decode them), typed arrays preserved. (Collective data chunks are binary frames:
 * `src/collectives/chunk-frame.ts`.)
 */
import { Packr } from 'msgpackr';
import { InstructueError } from '../errors.js';
import { PROTOCOL_VERSION } from './messages.js';

const packr = new Packr({ useRecords: false, moreTypes: true });

/** Encodes a control message (see `messages.ts`) with the protocol version. */
export function encodeMessage<T>(message: T): Uint8Array {
  return packr.pack([PROTOCOL_VERSION, message]);
}

/** Decodes a control message; throws `PROTOCOL_MISMATCH` for garbage or another protocol version. */
export function decodeMessage<T>(bytes: Uint8Array): T {
  let decoded: unknown;
  try {
    decoded = packr.unpack(bytes);
  } catch (err) {
    throw new InstructueError('PROTOCOL_MISMATCH', `undecodable message (${(err as Error).message}): is something else publishing on instructue subjects?`, { cause: err });
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== 'number') {
    throw new InstructueError('PROTOCOL_MISMATCH', 'not an instructue message: is something else publishing on instructue subjects?');
  }
  checkVersion(decoded[0]);
  return decoded[1] as T;
}

/** Throws `PROTOCOL_MISMATCH` unless `version` is this process's protocol version. */
export function checkVersion(version: number): void {
  if (version !== PROTOCOL_VERSION) {
    throw new InstructueError(
      'PROTOCOL_MISMATCH',
      `peer speaks instructue protocol v${version}, this process v${PROTOCOL_VERSION}: run the same instructue version on the coordinator and every worker`,
    );
  }
}
