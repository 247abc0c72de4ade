import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NatsWireParser, type WireEvents } from '../../src/transport/nats-wire-parser.js';
import { Rng } from '../../src/util/rng.js';

type Event = [string, ...unknown[]];

/** A parser whose events are recorded (payloads copied, since they are borrowed). */
function recorder(arenaBytes: number): { parser: NatsWireParser; events: Event[] } {
  const events: Event[] = [];
  const handler: WireEvents = {
    msg: (sid, subject, reply, data, status) => events.push(['msg', sid, subject, reply, Array.from(data.subarray(0, 8)), data.length, sum(data), status]),
    info: (info) => events.push(['info', info]),
    ping: () => events.push(['ping']),
    pong: () => events.push(['pong']),
    err: (message) => events.push(['err', message]),
  };
  return { parser: new NatsWireParser(handler, arenaBytes), events };
}

function sum(data: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s = (s + (data[i] as number) * (i + 1)) % 1_000_003;
  return s;
}

/** A server stream with every kind of line, payloads from empty to several times a quarter arena. */
function serverStream(rng: Rng): { bytes: Buffer; expected: Event[] } {
  const parts: Buffer[] = [];
  const expected: Event[] = [];
  const info = { server_id: 'S1', max_payload: 1048576, headers: true, connect_urls: ['127.0.0.1:4223'] };
  parts.push(Buffer.from(`INFO ${JSON.stringify(info)}\r\n`));
  expected.push(['info', info]);
  for (let i = 0; i < 60; i++) {
    const kind = rng.int(6);
    if (kind === 0) {
      parts.push(Buffer.from('PING\r\n'));
      expected.push(['ping']);
    } else if (kind === 1) {
      parts.push(Buffer.from('PONG\r\n+OK\r\n'));
      expected.push(['pong']);
    } else if (kind === 2) {
      const hdr = Buffer.from('NATS/1.0 503\r\n\r\n');
      parts.push(Buffer.from(`HMSG _INBOX.x.${i} 7 ${hdr.length} ${hdr.length}\r\n`), hdr, Buffer.from('\r\n'));
      expected.push(['msg', 7, `_INBOX.x.${i}`, undefined, [], 0, 0, 503]);
    } else {
      const size = [0, 1, 5000, 70_000, 300_000][rng.int(5)] as number;
      const payload = Buffer.alloc(size);
      for (let j = 0; j < size; j++) payload[j] = (j * 7 + i) & 255;
      const reply = kind === 3 ? `r.${i}` : undefined;
      const withHeaders = kind === 4;
      if (withHeaders) {
        const hdr = Buffer.from('NATS/1.0\r\nK: v\r\n\r\n');
        parts.push(Buffer.from(`HMSG s.${i} ${i} ${hdr.length} ${hdr.length + size}\r\n`), hdr, payload, Buffer.from('\r\n'));
      } else {
        parts.push(Buffer.from(`MSG s.${i} ${i}${reply ? ` ${reply}` : ''} ${size}\r\n`), payload, Buffer.from('\r\n'));
      }
      expected.push(['msg', i, `s.${i}`, reply, Array.from(payload.subarray(0, 8)), size, sum(payload), undefined]);
    }
  }
  parts.push(Buffer.from("-ERR 'Stale Connection'\r\n"));
  expected.push(['err', 'Stale Connection']);
  return { bytes: Buffer.concat(parts), expected };
}

describe('NATS wire parser', () => {
  for (const mode of ['reads into the arena', 'copied chunks (TLS)'] as const) {
    it(`parses every server line split at random points (${mode})`, () => {
      const rng = new Rng(`wire-${mode}`);
      const { bytes, expected } = serverStream(rng);
      const { parser, events } = recorder(256 * 1024);
      let offset = 0;
      while (offset < bytes.length) {
        if (mode === 'copied chunks (TLS)') {
          const n = Math.min(bytes.length - offset, 1 + rng.int(90_000));
          parser.feed(bytes.subarray(offset, offset + n));
          offset += n;
        } else {
          const target = parser.nextReadBuffer();
          const n = Math.min(target.length, bytes.length - offset, 1 + rng.int(90_000));
          bytes.copy(target, 0, offset, offset + n);
          parser.wrote(n);
          offset += n;
        }
      }
      assert.deepEqual(events, expected);
    });
  }

  it('rejects a malformed line', () => {
    const { parser } = recorder(0);
    assert.throws(() => parser.feed(Buffer.from('MSG a\r\n')), /malformed line/);
    const other = recorder(0);
    assert.throws(() => other.parser.feed(Buffer.from('HELLO\r\n')), /unknown line/);
  });
});
