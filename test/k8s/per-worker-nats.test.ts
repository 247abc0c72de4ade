/**
 * Per-worker NATS identities on Kubernetes (k8s/components/per-worker-nats, scripts/nats-users.ts,
 * docs/kubernetes.md): the generator writes 0600 files; an overlay that uses the component renders
 * with the real `kubectl kustomize` into worker pods that log in as their pod name with a password
 * file from a mounted Secret, and NATS pods that include the users file; and the rendered worker's
 * environment (resolved as the kubelet would, the Secret mount replaced by the generated folder)
 * logs in to a real nats-server running the generated users file, which lets the worker publish
 * its own reports and refuses it another worker's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { writeNatsUsers, type NatsUsersFiles } from '../../scripts/nats-users.js';
import { silentLogger } from '../../src/log.js';
import { connectNats } from '../../src/transport/connect.js';
import { natsClientSettingsFromEnv } from '../../src/transport/nats-credentials.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { rawNats } from '../helpers/raw-nats.js';
import { container, find, podTemplate, resolveEnv, type K8sObject } from './render.js';
import { schemaErrors, unknownFieldErrors } from './schema.js';

const LOGIN_MOUNT = '/etc/instructue/nats-login';

describe('per-worker NATS identities on Kubernetes', () => {
  let root: string;
  let overlay: string;
  let files: NatsUsersFiles;
  let objects: K8sObject[];
  let nats: ChildProcess | undefined;
  let natsUrl = '';
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'instructue-k8s-ids-'));
    overlay = join(root, 'overlay');
    mkdirSync(overlay);
    files = writeNatsUsers({ job: 'instructue', workers: 2, podPrefix: 'instructue-worker', coordinatorUser: 'coordinator', out: join(overlay, 'nats-identities') });
    // The operator's overlay (kustomize takes only relative paths to the repo's folders).
    const repo = (p: string) => relative(overlay, join(process.cwd(), p));
    writeFileSync(join(overlay, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'namespace: instructue',
      `resources: [${repo('k8s/overlays/cpu-small')}]`, `components: [${repo('k8s/components/per-worker-nats')}]`,
      'secretGenerator:',
      '  - name: instructue-nats-users', '    files: [nats-identities/users.conf]',
      '  - name: instructue-worker-logins', `    files: [${files.pods.map((p) => `nats-identities/worker-logins/${p}`).join(', ')}]`,
      '  - name: instructue-secrets', '    behavior: merge', '    envs: [nats-identities/coordinator.env]', '',
    ].join('\n'));
    const render = spawnSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
    if (render.status !== 0) throw new Error(`kubectl kustomize failed: ${render.stderr}`);
    objects = parseAllDocuments(render.stdout).map((d) => d.toJSON() as K8sObject);

    // A real nats-server running the generated users file, included as the NATS pods include it.
    mkdirSync(join(root, 'nats'));
    mkdirSync(join(root, 'nats-auth'));
    copyFileSync(files.usersConf, join(root, 'nats-auth', 'users.conf'));
    writeFileSync(join(root, 'nats', 'nats.conf'), `listen: "127.0.0.1:-1"\nports_file_dir: ${JSON.stringify(root)}\ninclude ../nats-auth/users.conf\n`, { mode: 0o600 });
    nats = spawn('nats-server', ['-c', join(root, 'nats', 'nats.conf')], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!natsUrl) {
      const ports = readdirSync(root).find((f) => f.endsWith('.ports'));
      if (ports) natsUrl = (JSON.parse(readFileSync(join(root, ports), 'utf8')) as { nats: string[] }).nats[0]!;
      else if (Date.now() > deadline || nats.exitCode !== null) throw new Error('nats-server with the generated users file did not start');
      else await new Promise((r) => setTimeout(r, 20));
    }
  });
  after(async () => {
    if (nats && nats.exitCode === null) {
      const exited = new Promise((r) => nats!.once('exit', r));
      nats.kill('SIGTERM');
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the users file, the coordinator login and one password per worker pod, all 0600', () => {
    for (const f of [files.usersConf, files.coordinatorEnv, ...files.pods.map((p) => join(files.workerLogins, p))]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.equal(statSync(files.workerLogins).mode & 0o777, 0o700);
    const conf = readFileSync(files.usersConf, 'utf8');
    assert.match(conf, /user: "coordinator"/);
    assert.match(conf, /user: "instructue-worker-1", password: "[A-Za-z0-9_-]{32}", permissions: \{ publish: \{ allow: \["instructue\.coord\.join\.instructue-worker-1", "instructue\.coord\.events\.instructue-worker-1", "instructue\.p\.instructue-worker-1\.>"\] \}/);
  });

  it('renders worker pods that log in as their pod name from a mounted password file, and NATS pods that include the users file', async () => {
    // kustomize wraps long Secret values at 70 columns; the API server's base64 decoder skips
    // newlines, the schema's "byte" format does not: compare the unwrapped value.
    const unwrapped = (o: K8sObject) => (o.kind === 'Secret' ? { ...o, data: Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\n/g, '')])) } : o);
    for (const o of objects) assert.deepEqual(await schemaErrors(unwrapped(o)), [], `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(unknownFieldErrors(objects), []);
    const worker = find(objects, 'StatefulSet', 'instructue-worker');
    const c = container(worker, 'worker');
    const env = resolveEnv(objects, c, 'instructue-worker-1', {});
    assert.equal(env.INSTRUCTUE_NATS_USER, 'instructue-worker-1');
    assert.equal(env.INSTRUCTUE_NATS_PASS, undefined, 'no shared password');
    assert.equal(env.INSTRUCTUE_NATS_PASS_FILE, `${LOGIN_MOUNT}/instructue-worker-1`);
    const volumes = podTemplate(worker).spec.volumes as Array<{ name: string; secret?: { secretName: string } }>;
    const loginVolume = volumes.find((v) => v.secret?.secretName.startsWith('instructue-worker-logins-'));
    assert.ok(loginVolume && c.volumeMounts?.some((m) => m.name === loginVolume.name && m.mountPath === LOGIN_MOUNT && m.readOnly));
    const logins = find(objects, 'Secret', 'instructue-worker-logins') as K8sObject & { data: Record<string, string> };
    assert.deepEqual(Object.keys(logins.data).sort(), files.pods);

    const natsSet = find(objects, 'StatefulSet', 'nats');
    const natsVolumes = podTemplate(natsSet).spec.volumes as Array<{ name: string; secret?: { secretName: string } }>;
    const users = natsVolumes.find((v) => v.secret?.secretName.startsWith('instructue-nats-users-'));
    assert.ok(users && container(natsSet, 'nats').volumeMounts?.some((m) => m.name === users.name && m.mountPath === '/etc/nats-auth'));
    const conf = (find(objects, 'ConfigMap', 'nats-config') as K8sObject & { data: Record<string, string> }).data['nats.conf']!;
    assert.match(conf, /^include \.\.\/nats-auth\/users\.conf$/m);
    assert.doesNotMatch(conf, /INSTRUCTUE_NATS_PASS/);
    const secrets = find(objects, 'Secret', 'instructue-secrets') as K8sObject & { data: Record<string, string> };
    assert.equal(Buffer.from(secrets.data.INSTRUCTUE_NATS_USER!, 'base64').toString(), 'coordinator');
  });

  it('the rendered worker logs in to a server running the generated users file and may report only as itself', async () => {
    const env = resolveEnv(objects, container(find(objects, 'StatefulSet', 'instructue-worker'), 'worker'), 'instructue-worker-1', {});
    // The Secret mount, as the kubelet would provide it: the generated folder.
    const podEnv = { ...env, INSTRUCTUE_NATS_PASS_FILE: env.INSTRUCTUE_NATS_PASS_FILE!.replace(LOGIN_MOUNT, files.workerLogins) };
    const coordinatorEnv = Object.fromEntries(readFileSync(files.coordinatorEnv, 'utf8').trim().split('\n').map((l) => l.split('=') as [string, string]));
    const coordinator = await connectNats(natsUrl, 'coordinator', natsClientSettingsFromEnv(coordinatorEnv), silentLogger);
    const worker = await connectNats(natsUrl, 'worker-instructue-worker-1', natsClientSettingsFromEnv(podEnv), silentLogger);
    try {
      const events = coordinator.subscribe('instructue.coord.events.*');
      await coordinator.flush();
      worker.publish('instructue.coord.events.instructue-worker-1', new TextEncoder().encode('own report'));
      for await (const m of events) {
        assert.deepEqual([m.subject, new TextDecoder().decode(m.data)], ['instructue.coord.events.instructue-worker-1', 'own report']);
        break;
      }
      const raw = await rawNats(natsUrl, { user: 'instructue-worker-1', pass: readFileSync(podEnv.INSTRUCTUE_NATS_PASS_FILE, 'utf8') });
      try {
        raw.pub('instructue.coord.events.instructue-worker-0', new TextEncoder().encode('forged'));
        raw.sub('>', 1);
        await raw.ping();
        assert.ok(raw.errors.some((e) => /Permissions Violation for Publish to "instructue\.coord\.events\.instructue-worker-0"/.test(e)), raw.errors.join(' | '));
        assert.ok(raw.errors.some((e) => /Permissions Violation for Subscription to ">"/.test(e)));
      } finally {
        raw.close();
      }
      await assert.rejects(NatsTransport.connect(natsUrl, { name: 'stranger' }), /refused|Authorization/i);
    } finally {
      await worker.close();
      await coordinator.close();
    }
  });
});
