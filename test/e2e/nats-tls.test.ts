/**
 * NATS over TLS, end to end: the test makes a CA and a server certificate with Debian's
 * `openssl`, starts a nats-server that requires TLS (and a login), and runs a real tiny training
 * job on it — the coordinator in this process and two worker processes, which get the CA file
 * and the login through their environment (control.nats_tls_ca, dist.nats_*). While it runs,
 * the server's /connz shows every client connection on TLS; a plaintext client is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readJsonLines } from '../../src/train/run-dir.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { assertExactlyOnce, atStep, clusterConfig, runCluster } from '../helpers/cluster.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { rawNats } from '../helpers/raw-nats.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

interface TestPki {
  ca: string;
  cert: string;
  key: string;
}

/** A throw-away CA and a certificate for 127.0.0.1 it signed (EC P-256, valid one day). */
function makePki(dir: string): TestPki {
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '1', '-subj', '/CN=instructue test CA');
  openssl('req', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('server.pem'), '-days', '1', '-extfile', at('san.ext'));
  return { ca: at('ca.pem'), cert: at('server.pem'), key: at('server.key') };
}

describe('NATS over TLS (certificates made with openssl)', () => {
  const login = { user: 'trainer', pass: 'tls-test-pass-5d2f' };
  let root: string;
  let pki: TestPki;
  let data: SynthData;
  let server: TestNats;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'instructue-tls-'));
    pki = makePki(root);
    data = synthData(15, 47, 5);
    server = await startTestNats({ jetstream: true, tls: { certFile: pki.cert, keyFile: pki.key }, auth: login });
  });
  after(async () => {
    await server?.stop();
    data?.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('a training job (coordinator + 2 worker processes) completes over TLS; every connection is TLS', async () => {
    const steps = 6;
    const config = clusterConfig(data.train, { 'train.steps': steps, 'control.nats_tls_ca': pki.ca, 'dist.nats_user': login.user, 'dist.nats_pass': login.pass });
    const out = join(root, 'run');
    let connections: Array<{ name?: string; tls_version?: string }> = [];
    const outcome = await runCluster(config, out, 2, {
      natsUrl: server.url,
      during: async ({ coordinator }) => {
        await atStep(coordinator, 2);
        connections = ((await (await fetch(`${server.monitorUrl}/connz`)).json()) as { connections: typeof connections }).connections;
      },
    });
    assert.deepEqual(outcome, { state: 'done', step: steps, reason: null });
    assertExactlyOnce(out, 15);
    assert.equal(readJsonLines(join(out, 'metrics.jsonl')).length, steps);
    const names = connections.map((c) => c.name ?? '');
    assert.ok(names.some((n) => n.startsWith('coordinator')), `connections: ${names.join(', ')}`);
    assert.ok(names.filter((n) => n.startsWith('worker-')).length >= 2, `connections: ${names.join(', ')}`);
    assert.deepEqual(connections.filter((c) => !c.tls_version).map((c) => c.name), [], 'every client connection uses TLS');
  });

  it('a plaintext client is refused', async () => {
    // The server announces TLS and drops a client that speaks the protocol in the clear.
    await assert.rejects(rawNats(server.url, login), /connection closed|no PONG/);
    // The library client without the CA: it cannot verify the server and does not fall back to plaintext.
    await assert.rejects(NatsTransport.connect(server.url, { name: 'no-ca', user: login.user, pass: login.pass }));
  });
});
