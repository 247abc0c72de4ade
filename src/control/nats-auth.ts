/**
 * @module control/nats-auth
 * Start-up checks of the NATS credentials (`dist.nats_*`) and TLS files (`control.nats_tls_*`)
 * a process will present, so that a half-set pair, a placeholder left from k8s/ or an
 * unreadable certificate fails at once with the key to fix, instead of as an opaque refusal
 * from the server later.
 */
import { accessSync, constants } from 'node:fs';
import type { ControlConfig } from '../config/sections/control.js';
import type { DistConfig } from '../config/sections/dist.js';
import { ConfigError } from '../errors.js';
import { PLACEHOLDER_PREFIX } from './auth.js';

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
