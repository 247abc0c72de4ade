/**
 * @module launcher/nats-identities
 * Who logs in to the local launcher's NATS, and as what (docs/security.md):
 *
 * - Its own nats-server(s) (no --nats): every worker id the pool can hand out (w0 … w{V−1},
 *   V = data.virtual_shards, the most workers a job can have) gets a user of its own with a
 *   random password and subject permissions that let it publish only as itself
 *   (`workerPermissions`); the coordinator gets a user with full rights — the configured
 *   `dist.nats_user`/`nats_pass` when set (so the operator's tools can log in), else a random
 *   one. A configured `dist.nats_token` cannot be mixed with users in nats-server: then the
 *   server takes that token and every worker gets it (one shared identity, with a warning).
 * - Existing servers (--nats): the configured credentials, shared by coordinator and workers.
 *
 * Credentials reach the workers in their environment only (never argv, never a file in the run
 * folder); the launcher's own secrets (the control token, the coordinator's NATS login) are
 * removed from every worker's environment.
 */
import { randomBytes } from 'node:crypto';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import { envNameOf } from '../config/schema-leaves.js';
import type { Logger } from '../log.js';
import { workerPermissions } from '../protocol/job-subjects.js';
import type { NatsAuth, NatsUserSpec } from '../transport/nats-server.js';
import { natsAuth, type NatsClientSettings } from '../transport/nats-credentials.js';

/** Environment variables that hold secrets of the launcher; no worker inherits them. */
export const LAUNCHER_SECRET_ENV = ['control.token', 'dist.nats_user', 'dist.nats_pass', 'dist.nats_token'].map(envNameOf);

export interface LauncherIdentities {
  /** The authorization of the launcher's own nats-server(s); undefined for existing servers without credentials. */
  serverAuth: NatsAuth | undefined;
  /** The credentials the coordinator (this process) presents. */
  coordinator: NatsClientSettings['dist'];
  /** Whether each worker has its own NATS user (per-worker subject permissions). */
  perWorker: boolean;
  /** The environment that logs worker `id` in (credentials and TLS files). */
  workerEnv(id: string): NodeJS.ProcessEnv;
}

/** The ids the local pool hands out: w0 … w{count−1} (a replacement reuses its predecessor's). */
export function poolWorkerIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `w${i}`);
}

/** A random password (24 bytes, base64url: no characters that need quoting anywhere). */
export function randomSecret(): string {
  return randomBytes(24).toString('base64url');
}

export function launcherIdentities(config: Frozen<InstructueConfig>, ownServer: boolean, log: Logger): LauncherIdentities {
  const { dist, control } = config;
  const tlsEnv: NodeJS.ProcessEnv = {};
  for (const key of ['nats_tls_ca', 'nats_tls_cert', 'nats_tls_key'] as const) if (control[key]) tlsEnv[envNameOf(`control.${key}`)] = control[key];
  const env = (creds: { user?: string; pass?: string; token?: string }): NodeJS.ProcessEnv => ({
    ...tlsEnv,
    ...(creds.user ? { [envNameOf('dist.nats_user')]: creds.user, [envNameOf('dist.nats_pass')]: creds.pass ?? '' } : {}),
    ...(creds.token ? { [envNameOf('dist.nats_token')]: creds.token } : {}),
  });
  const configured = { nats_user: dist.nats_user, nats_pass: dist.nats_pass, nats_token: dist.nats_token };
  if (!ownServer || dist.nats_token) {
    if (ownServer) log.warn('dist.nats_token is set: every worker logs in with that one token, so a worker can speak as any other; set dist.nats_user/nats_pass instead for per-worker identities (docs/security.md)');
    const shared = env({ user: dist.nats_user, pass: dist.nats_pass, token: dist.nats_token });
    return { serverAuth: natsAuth(configured), coordinator: configured, perWorker: false, workerEnv: () => ({ ...shared }) };
  }
  const coordinator = dist.nats_user ? configured : { nats_user: 'coordinator', nats_pass: randomSecret(), nats_token: '' };
  const workers = new Map<string, NatsUserSpec>();
  for (const id of poolWorkerIds(config.data.virtual_shards)) {
    workers.set(id, { user: `worker-${id}`, pass: randomSecret(), permissions: workerPermissions(dist.job, id) });
  }
  const users: NatsUserSpec[] = [{ user: coordinator.nats_user, pass: coordinator.nats_pass }, ...workers.values()];
  return {
    serverAuth: { users },
    coordinator,
    perWorker: true,
    workerEnv(id) {
      const user = workers.get(id);
      if (!user) throw new RangeError(`worker id ${id} has no NATS user (the pool hands out w0 … w${workers.size - 1})`);
      return env(user);
    },
  };
}
