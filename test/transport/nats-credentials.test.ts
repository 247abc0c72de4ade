/**
 * NATS credentials from the config (as the pods get them: environment variables from a
 * Secret, read into `dist.nats_*` and mapped by transport/nats-credentials) against a real nats-server
 * with auth enabled: without them the server refuses the connection, with them messages flow.
 * Plus the start-up checks on half-set or placeholder credentials and on TLS files.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { checkNatsCredentials, natsAuth, natsClientSettingsFromEnv, natsTlsFiles, natsTransportOptions } from '../../src/transport/nats-credentials.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { TransportError } from '../../src/transport/transport.js';
import { ConfigError } from '../../src/errors.js';
import { startTestNats } from '../helpers/nats.js';

const fromEnv = (env: Record<string, string>) => loadConfig({ file: 'configs/tiny.json', env });
const controlFromEnv = (env: Record<string, string>) => fromEnv(env).control;
const distFromEnv = (env: Record<string, string>) => fromEnv(env).dist;

/** Connects with the config's credentials and proves a message goes through. */
async function roundTrip(url: string, env: Record<string, string>): Promise<string> {
  const dist = distFromEnv(env);
  checkNatsCredentials(dist);
  const nc = await NatsTransport.connect(url, natsTransportOptions(dist, 'auth-test'));
  try {
    const sub = nc.subscribe('auth.test');
    nc.publish('auth.test', new TextEncoder().encode('hello'));
    for await (const m of sub) return new TextDecoder().decode(m.data);
    return '';
  } finally {
    await nc.close();
  }
}

describe('NATS credentials from the control config', () => {
  it('user/password: refused without them or with a wrong password, accepted with them', async () => {
    const server = await startTestNats({ auth: { user: 'instructue', pass: 'p4ss-from-secret' } });
    try {
      const refused = (e: unknown) => e instanceof TransportError && e.code === 'CONNECT_FAILED' && /refused the credentials/.test(e.message);
      await assert.rejects(roundTrip(server.url, {}), refused);
      await assert.rejects(roundTrip(server.url, { INSTRUCTUE_NATS_USER: 'instructue', INSTRUCTUE_NATS_PASS: 'guess' }), refused);
      assert.equal(await roundTrip(server.url, { INSTRUCTUE_NATS_USER: 'instructue', INSTRUCTUE_NATS_PASS: 'p4ss-from-secret' }), 'hello');
    } finally {
      await server.stop();
    }
  });

  it('token: refused without it, accepted with it', async () => {
    const server = await startTestNats({ auth: { token: 'nats-token-3e1' } });
    try {
      await assert.rejects(roundTrip(server.url, {}), (e: unknown) => e instanceof TransportError && /refused the credentials/.test(e.message));
      assert.equal(await roundTrip(server.url, { INSTRUCTUE_NATS_TOKEN: 'nats-token-3e1' }), 'hello');
    } finally {
      await server.stop();
    }
  });

  it('refuses contradictory, half-set or placeholder values, naming them', () => {
    checkNatsCredentials(distFromEnv({}));
    checkNatsCredentials(distFromEnv({ INSTRUCTUE_NATS_TOKEN: 't' }));
    assert.throws(() => checkNatsCredentials(distFromEnv({ INSTRUCTUE_NATS_USER: 'u', INSTRUCTUE_NATS_TOKEN: 't' })), (e: unknown) => e instanceof ConfigError && /dist\.nats_user and dist\.nats_token are both set/.test(e.message));
    assert.throws(() => checkNatsCredentials(distFromEnv({ INSTRUCTUE_NATS_PASS: 'p' })), (e: unknown) => e instanceof ConfigError && /INSTRUCTUE_NATS_USER/.test(e.message));
    assert.throws(() => checkNatsCredentials(distFromEnv({ INSTRUCTUE_NATS_USER: 'u', INSTRUCTUE_NATS_PASS: 'CHANGE_ME-nats-password' })), /still the placeholder/);
  });

  it('a worker reads a credential from the file *_FILE names (a mounted Secret), never both ways', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'instructue-login-'));
    const server = await startTestNats({ auth: { user: 'instructue-worker-0', pass: 'from-a-mounted-file' } });
    try {
      writeFileSync(join(dir, 'instructue-worker-0'), 'from-a-mounted-file\n', { mode: 0o600 });
      const settings = natsClientSettingsFromEnv({ INSTRUCTUE_NATS_USER: 'instructue-worker-0', INSTRUCTUE_NATS_PASS_FILE: join(dir, 'instructue-worker-0') });
      assert.deepEqual(settings.dist, { nats_user: 'instructue-worker-0', nats_pass: 'from-a-mounted-file', nats_token: '' });
      const nc = await NatsTransport.connect(server.url, natsTransportOptions(settings.dist, 'file-login'));
      await nc.close();
      assert.throws(() => natsClientSettingsFromEnv({ INSTRUCTUE_NATS_PASS: 'x', INSTRUCTUE_NATS_PASS_FILE: join(dir, 'instructue-worker-0') }), (e: unknown) => e instanceof ConfigError && /INSTRUCTUE_NATS_PASS and INSTRUCTUE_NATS_PASS_FILE are both set/.test(e.message));
      assert.throws(() => natsClientSettingsFromEnv({ INSTRUCTUE_NATS_TOKEN_FILE: join(dir, 'missing') }), (e: unknown) => e instanceof ConfigError && /INSTRUCTUE_NATS_TOKEN_FILE names .*missing, which cannot be read/.test(e.message));
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps TLS files, requiring cert and key together and each file readable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'instructue-tls-'));
    try {
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), '-----BEGIN TEST-----\n');
      const files = { INSTRUCTUE_NATS_TLS_CA: join(dir, 'ca.pem'), INSTRUCTUE_NATS_TLS_CERT: join(dir, 'cert.pem'), INSTRUCTUE_NATS_TLS_KEY: join(dir, 'key.pem') };
      assert.equal(natsTlsFiles(controlFromEnv({})), null);
      assert.deepEqual(natsTlsFiles(controlFromEnv(files)), { caFile: files.INSTRUCTUE_NATS_TLS_CA, certFile: files.INSTRUCTUE_NATS_TLS_CERT, keyFile: files.INSTRUCTUE_NATS_TLS_KEY });
      assert.deepEqual(natsTlsFiles(controlFromEnv({ INSTRUCTUE_NATS_TLS_CA: files.INSTRUCTUE_NATS_TLS_CA })), { caFile: files.INSTRUCTUE_NATS_TLS_CA });
      assert.throws(() => natsTlsFiles(controlFromEnv({ INSTRUCTUE_NATS_TLS_CERT: files.INSTRUCTUE_NATS_TLS_CERT })), /go together/);
      assert.throws(() => natsTlsFiles(controlFromEnv({ INSTRUCTUE_NATS_TLS_CA: join(dir, 'missing.pem') })), (e: unknown) => e instanceof ConfigError && /control\.nats_tls_ca names .*missing\.pem, which cannot be read/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('NATS connect options from the config', () => {
  it('takes NATS credentials from the environment: a token wins over user/password', () => {
    const none = loadConfig({ env: {} }).dist;
    assert.equal(natsAuth(none), undefined);
    assert.deepEqual(natsTransportOptions(none, 'w0'), { name: 'w0' });
    const userPass = loadConfig({ env: { INSTRUCTUE_NATS_USER: 'worker', INSTRUCTUE_NATS_PASS: 'pw' } }).dist;
    assert.deepEqual(natsTransportOptions(userPass, 'w1'), { name: 'w1', user: 'worker', pass: 'pw' });
    const token = loadConfig({ env: { INSTRUCTUE_NATS_USER: 'worker', INSTRUCTUE_NATS_TOKEN: 't0k' } }).dist;
    assert.deepEqual(natsAuth(token), { token: 't0k' });
  });
});
