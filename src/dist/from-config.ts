/**
 * @module dist/from-config
 * The one place where the `dist` config section becomes options of the dist classes, so that
 * programs never read config keys deep inside the transport or the collectives.
 */
import type { DistConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { CollectivesOptions } from './collectives.js';
import type { NatsAuth } from './nats-server.js';
import type { NatsTransportOptions } from './nats-transport.js';

/** Collectives options for one rank of one membership epoch. */
export function collectivesOptions(dist: DistConfig, member: { epoch: number; rank: number; worldSize: number }, log?: Logger): CollectivesOptions {
  return {
    job: dist.job,
    ...member,
    chunkBytes: dist.chunk_bytes,
    wireDtype: dist.wire_dtype,
    timeoutMs: dist.collective_timeout_ms,
    retransmitMs: dist.retransmit_ms,
    ...(dist.flow_window_bytes > 0 ? { windowBytes: dist.flow_window_bytes } : {}),
    ...(log ? { log } : {}),
  };
}

/** Connection options (credentials included) for `NatsTransport.connect`. */
export function natsTransportOptions(dist: DistConfig, name: string, log?: Logger): NatsTransportOptions {
  const auth = natsAuth(dist);
  return {
    name,
    ...(auth && 'token' in auth ? { token: auth.token } : {}),
    ...(auth && 'user' in auth ? { user: auth.user, pass: auth.pass } : {}),
    ...(log ? { log } : {}),
  };
}

/** The authorization the local launcher gives its nats-server (and clients present), if any. */
export function natsAuth(dist: DistConfig): NatsAuth | undefined {
  if (dist.nats_token) return { token: dist.nats_token };
  if (dist.nats_user) return { user: dist.nats_user, pass: dist.nats_pass };
  return undefined;
}
