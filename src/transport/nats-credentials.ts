/**
 * @module transport/nats-credentials
 * The NATS credentials (`dist.nats_*`) and TLS files (`control.nats_tls_*`) a process presents:
 * start-up checks, so that a half-set pair, a placeholder left from k8s/ or an unreadable
 * certificate fails at once with the key to fix instead of as an opaque refusal from the server
 * later, and their mapping onto the options of `NatsTransport.connect` and of the launcher's
 * own nats-server.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type { ControlConfig } from '../config/sections/control.js';
import type { DistConfig } from '../config/sections/distributed.js';
import { envNameOf } from '../config/schema-leaves.js';
import { PLACEHOLDER_PREFIX } from '../config/secrets.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { NatsAuth } from './nats-server.js';
import type { NatsTransportOptions } from './nats-transport.js';

/** What a process presents to NATS: credentials and TLS files (a config holds them; so does `natsClientSettingsFromEnv`). */
export interface NatsClientSettings {
  dist: Pick<DistConfig, 'nats_user' | 'nats_pass' | 'nats_token'>;
  control: Pick<ControlConfig, 'nats_tls_ca' | 'nats_tls_cert' | 'nats_tls_key'>;
}

/**
 * The NATS settings of a process with no config file (a worker): the environment variables the
 * schema declares for those keys (INSTRUCTUE_NATS_USER, …; on Kubernetes from a Secret). Each
 * credential may instead name a file that holds it (`INSTRUCTUE_NATS_PASS_FILE`, …: a mounted
 * Secret, one file per pod; docs/kubernetes.md, "Per-worker NATS identities").
 */
export function natsClientSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): NatsClientSettings {
  const read = (key: string) => env[envNameOf(key)] ?? '';
  const secret = (key: string) => {
    const name = envNameOf(key);
    const file = env[`${name}_FILE`];
    if (!file) return env[name] ?? '';
    if (env[name]) throw new ConfigError(`${name} and ${name}_FILE are both set: give ${key} one way (unset one of them)`);
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new ConfigError(`${name}_FILE names ${file}, which cannot be read: mount the Secret that holds ${key} there (docs/kubernetes.md, "Per-worker NATS identities") or fix the path`);
    }
  };
  return {
    dist: { nats_user: secret('dist.nats_user'), nats_pass: secret('dist.nats_pass'), nats_token: secret('dist.nats_token') },
    control: { nats_tls_ca: read('control.nats_tls_ca'), nats_tls_cert: read('control.nats_tls_cert'), nats_tls_key: read('control.nats_tls_key') },
  };
}

/** PEM files for a TLS connection (the `tls` option of the nats client's `connect`). */
export interface NatsTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Throws ConfigError for contradictory, half-set or placeholder NATS credentials. */
export function checkNatsCredentials(c: Pick<DistConfig, 'nats_user' | 'nats_pass' | 'nats_token'>): void {
  if (c.nats_user && c.nats_token) throw new ConfigError('dist.nats_user and dist.nats_token are both set: use one way to log in to NATS (unset INSTRUCTUE_NATS_USER or INSTRUCTUE_NATS_TOKEN)');
  if (c.nats_pass && !c.nats_user) throw new ConfigError('dist.nats_pass is set without dist.nats_user: set INSTRUCTUE_NATS_USER too');
  if (c.nats_pass.startsWith(PLACEHOLDER_PREFIX) || c.nats_token.startsWith(PLACEHOLDER_PREFIX)) {
    throw new ConfigError('the NATS password/token is still the placeholder from k8s/base/secrets.env: replace the instructue-secrets Secret (docs/kubernetes.md, "Credentials")');
  }
}

/** The TLS files to use, or null for a plain connection; each named file must be readable. */
export function natsTlsFiles(c: Pick<ControlConfig, 'nats_tls_ca' | 'nats_tls_cert' | 'nats_tls_key'>): NatsTlsFiles | null {
  if (Boolean(c.nats_tls_cert) !== Boolean(c.nats_tls_key)) {
    throw new ConfigError('control.nats_tls_cert and control.nats_tls_key go together (client certificate and its key): set both or neither');
  }
  const files: NatsTlsFiles = {};
  const add = (key: 'nats_tls_ca' | 'nats_tls_cert' | 'nats_tls_key', field: keyof NatsTlsFiles) => {
    const path = c[key];
    if (!path) return;
    try {
      accessSync(path, constants.R_OK);
    } catch {
      throw new ConfigError(`control.${key} names ${path}, which cannot be read: mount the file (k8s: a Secret volume) or fix the path`);
    }
    files[field] = path;
  };
  add('nats_tls_ca', 'caFile');
  add('nats_tls_cert', 'certFile');
  add('nats_tls_key', 'keyFile');
  return Object.keys(files).length ? files : null;
}

/** Connection options (credentials included) for `NatsTransport.connect`. */
export function natsTransportOptions(dist: NatsClientSettings['dist'], name: string, log?: Logger): NatsTransportOptions {
  const auth = natsAuth(dist);
  return {
    name,
    ...(auth && 'token' in auth ? { token: auth.token } : {}),
    ...(auth && 'user' in auth ? { user: auth.user, pass: auth.pass } : {}),
    ...(log ? { log } : {}),
  };
}

/** The authorization the local launcher gives its nats-server (and clients present), if any. */
export function natsAuth(dist: NatsClientSettings['dist']): NatsAuth | undefined {
  if (dist.nats_token) return { token: dist.nats_token };
  if (dist.nats_user) return { user: dist.nats_user, pass: dist.nats_pass };
  return undefined;
}
