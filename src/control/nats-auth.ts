/**
 * @module control/nats-auth
 * Turns the `control.nats_*` config keys into the credentials and TLS files a process passes
 * when it connects to NATS, checking them first so that a half-set pair fails at start-up with
 * the key to fix instead of as an opaque refusal from the server.
 */
import { accessSync, constants } from 'node:fs';
import type { NatsTransportOptions } from '../dist/nats-transport.js';
import { ConfigError } from '../errors.js';
import { PLACEHOLDER_PREFIX } from './auth.js';
import type { ControlConfig } from '../config/sections/control.js';

/** The credential fields of `NatsTransport.connect`'s options. */
export type NatsCredentials = Pick<NatsTransportOptions, 'user' | 'pass' | 'token'>;

/** PEM files for a TLS connection (the `tls` option of the nats client's `connect`). */
export interface NatsTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

type NatsKeys = Pick<ControlConfig, 'nats_user' | 'nats_pass' | 'nats_token' | 'nats_tls_ca' | 'nats_tls_cert' | 'nats_tls_key'>;

/** `{user, pass}`, `{token}` or `{}`; throws ConfigError for contradictory, half-set or placeholder values. */
export function natsCredentials(c: NatsKeys): NatsCredentials {
  if (c.nats_user && c.nats_token) throw new ConfigError('control.nats_user and control.nats_token are both set: use one way to log in to NATS (unset INSTRUCTUE_NATS_USER or INSTRUCTUE_NATS_TOKEN)');
  if (c.nats_pass.startsWith(PLACEHOLDER_PREFIX) || c.nats_token.startsWith(PLACEHOLDER_PREFIX)) {
    throw new ConfigError('the NATS password/token is still the placeholder from k8s/base/secrets.env: replace the instructue-secrets Secret (docs/kubernetes.md, "Credentials")');
  }
  if (c.nats_pass && !c.nats_user) throw new ConfigError('control.nats_pass is set without control.nats_user: set INSTRUCTUE_NATS_USER too');
  if (c.nats_user) return { user: c.nats_user, pass: c.nats_pass };
  if (c.nats_token) return { token: c.nats_token };
  return {};
}

/** The TLS files to use, or null for a plain connection; each named file must be readable. */
export function natsTlsFiles(c: NatsKeys): NatsTlsFiles | null {
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
      throw new ConfigError(`control.${key} names ${path}, which cannot be read: mount the file (k8s: the nats-tls Secret) or fix the path`);
    }
    files[field] = path;
  };
  add('nats_tls_ca', 'caFile');
  add('nats_tls_cert', 'certFile');
  add('nats_tls_key', 'keyFile');
  return Object.keys(files).length ? files : null;
}
