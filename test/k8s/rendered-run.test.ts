/**
 * The cpu-small overlay, run on this machine: the rendered 3-server NATS cluster (config and
 * container of every member), the synth init container, the coordinator and 2 workers, each started with exactly its
 * rendered command line and environment (see local-pods.ts for what "locally" changes), with
 * Secret values a user would put in place of the placeholders. The job must run to its last
 * step with both workers and publish its final checkpoint; the control server must answer
 * with the token from the Secret and refuse without it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stepName } from '../../src/checkpoint/store.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { entrypoint, parseDockerfile } from './dockerfile.js';
import { startLocalPod, type LocalPod, type RunSpec } from './local-pods.js';
import { container, find, podTemplate, renderOverlay, type K8sObject } from './render.js';
import { controlUrl } from '../helpers/control-url.js';
import { NatsTransport } from '../../src/transport/nats-transport.js';
import { createServer } from 'node:net';

const SECRETS = { INSTRUCTUE_TOKEN: 'rendered-run-token', INSTRUCTUE_NATS_USER: 'instructue', INSTRUCTUE_NATS_PASS: 'rendered-run-pass' };

/** Waits for `pod` to exit; fails with its log tail if it does not within `ms` or exits non-zero. */
async function exitsCleanly(pod: LocalPod, ms: number): Promise<void> {
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
  const code = await Promise.race([pod.exited, timer]);
  const tail = () => readFileSync(pod.log, 'utf8').split('\n').slice(-15).join('\n');
  if (code === 'timeout') assert.fail(`${pod.name} still running after ${ms} ms:\n${tail()}`);
  assert.equal(code, 0, `${pod.name} exited with ${code}:\n${tail()}`);
}

/** Polls until `read()` returns a value. */
async function waitFor<T>(what: string, read: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


/** `count` distinct free loopback ports (probed). */
async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

describe('k8s/overlays/cpu-small run locally', () => {
  let root: string;
  const pods: LocalPod[] = [];
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'instructue-k8s-run-'));
  });
  after(async () => {
    for (const pod of pods) if (pod.child.exitCode === null && pod.child.signalCode === null) pod.child.kill('SIGKILL');
    await Promise.all(pods.map((p) => p.exited.catch(() => null)));
    rmSync(root, { recursive: true, force: true });
  });

  it('the rendered nats, synth, coordinator and 2 worker commands train to a finished run', async () => {
    const objects = renderOverlay('cpu-small');
    const workdir = parseDockerfile('docker/Dockerfile.cpu').stages.at(-1)!.body.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
    const dir = (name: string) => {
      const path = join(root, name);
      mkdirSync(path, { recursive: true });
      return path;
    };
    /** A ConfigMap volume (in folder `as`): its keys as files, with `rewrite` applied to each (paths inside a config file). */
    const configMapVolume = (name: string, rewrite: (text: string) => string = (t) => t, as = `configmap-${name}`) => {
      const cm = find(objects, 'ConfigMap', name) as K8sObject & { data: Record<string, string> };
      const path = dir(as);
      for (const [file, text] of Object.entries(cm.data)) writeFileSync(join(path, file), rewrite(text));
      return path;
    };
    const base = { objects, image: { dir: workdir, local: process.cwd() }, secrets: SECRETS, logDir: dir('logs') };
    const run = (spec: Omit<RunSpec, 'objects' | 'image' | 'secrets' | 'logDir'>) => {
      const pod = startLocalPod({ ...base, ...spec });
      pods.push(pod);
      return pod;
    };

    // NATS: every member of the rendered StatefulSet with the rendered config and container; only
    // listen addresses, ports (routes on free loopback ports) and store paths are local.
    const nats = find(objects, 'StatefulSet', 'nats');
    const { replicas: members, serviceName } = nats.spec as { replicas: number; serviceName: string };
    assert.equal(members, 3);
    const routePorts = await freeLoopbackPorts(members);
    const host = (i: number) => `nats-${i}.${serviceName}`;
    const natsPods = Array.from({ length: members }, (_, i) => {
      const jetstream = dir(`nats-${i}-jetstream`);
      const localRoutes = (text: string) => routePorts.reduce((t, port, j) => t.split(`${host(j)}:6222`).join(`127.0.0.1:${port}`), text);
      const config = configMapVolume('nats-config', (t) => localRoutes(t.replace('store_dir: /data/', `store_dir: ${jetstream}/`)), `configmap-nats-config-${i}`);
      const portsDir = dir(`nats-${i}-ports`);
      const pod = run({
        pod: podTemplate(nats), container: container(nats, 'nats'), podName: `nats-${i}`, entrypoint: ['nats-server'], volumes: { config, jetstream },
        network: {}, extraArgs: ['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--ports_file_dir', portsDir, '--cluster', `nats://127.0.0.1:${routePorts[i]}`],
      });
      return { pod, portsDir };
    });
    const natsPorts = await Promise.all(natsPods.map(({ portsDir }) => waitFor('nats-server ports file', () => {
      const file = readdirSync(portsDir)[0];
      return file ? (JSON.parse(readFileSync(join(portsDir, file), 'utf8')) as { nats: string[]; monitoring: string[] }) : undefined;
    })));
    // Each member turns ready once routed into the cluster with a JetStream meta leader (its startup probe).
    for (const ports of natsPorts) {
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        const path = (container(nats, 'nats') as unknown as Record<string, { httpGet: { path: string } }>)[probe]!.httpGet.path;
        const deadline = Date.now() + 30_000;
        let status = 0;
        while (Date.now() < deadline && (status = (await fetch(ports.monitoring[0] + path)).status) !== 200) await new Promise((r) => setTimeout(r, 100));
        assert.equal(status, 200, `${probe} ${path}`);
      }
    }
    const network: Record<string, string> = { '0.0.0.0': '127.0.0.1' };
    natsPorts.forEach((ports, i) => (network[`nats://${host(i)}:4222`] = ports.nats[0]!));

    // The coordinator pod: init container first, then the coordinator.
    const coordinator = find(objects, 'Deployment', 'instructue-coordinator');
    const volumes = { run: dir('run-volume'), configs: configMapVolume('instructue-configs'), tmp: dir('coordinator-tmp') };
    const entry = entrypoint('docker/Dockerfile.cpu');
    const coordinatorPod = { pod: podTemplate(coordinator), podName: 'instructue-coordinator-0', entrypoint: entry, volumes };
    // The control port 8080 may be taken on a shared machine: any free port (the URL is logged).
    const controlNetwork = { ...network, '8080': '0' };
    await exitsCleanly(run({ ...coordinatorPod, container: container(coordinator, 'synth-data', true), network }), 30_000);
    assert.ok(existsSync(join(volumes.run, 'dataset', 'synth.json')), 'the init container made the data set on the run volume');
    const coord = run({ ...coordinatorPod, container: container(coordinator, 'coordinator'), network: controlNetwork });

    const workers = find(objects, 'StatefulSet', 'instructue-worker');
    const replicas = (workers.spec as { replicas: number }).replicas;
    assert.equal(replicas, 2);
    const workerPods = Array.from({ length: replicas }, (_, i) => run({
      pod: podTemplate(workers), container: container(workers, 'worker'), podName: `instructue-worker-${i}`, entrypoint: entry,
      volumes: { run: volumes.run, tmp: dir(`worker-${i}-tmp`) }, network,
    }));

    const url = await waitFor('the control server address in the coordinator log', () => controlUrl(coord.log));
    assert.equal((await fetch(`${url}/api/status`)).status, 401);
    const status = await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${SECRETS.INSTRUCTUE_TOKEN}` } });
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { job: string }).job, 'instructue');

    await exitsCleanly(coord, 90_000);
    for (const w of workerPods) await exitsCleanly(w, 15_000);
    // The job's bucket was replicated on all three members.
    const inspector = await NatsTransport.connect(natsPorts.map((p) => p.nats[0]!), { name: 'inspector', user: SECRETS.INSTRUCTUE_NATS_USER, pass: SECRETS.INSTRUCTUE_NATS_PASS });
    const bucket = await (await inspector.connection.jetstreamManager()).streams.info('KV_instructue-instructue');
    assert.equal(bucket.config.num_replicas, 3);
    await inspector.close();
    for (const { pod } of natsPods) pod.child.kill('SIGTERM');
    await Promise.all(natsPods.map(({ pod }) => pod.exited));

    const runDir = join(volumes.run, 'run');
    const steps = readJsonLines<{ step: number; loss: number }>(join(runDir, 'metrics.jsonl'));
    const configFile = (find(objects, 'ConfigMap', 'instructue-job') as K8sObject & { data: Record<string, string> }).data.INSTRUCTUE_CONFIG!;
    const total = (JSON.parse(readFileSync(configFile.replace('/etc/instructue', volumes.configs), 'utf8')) as { train: { steps: number } }).train.steps;
    assert.deepEqual(steps.map((l) => l.step), Array.from({ length: total }, (_, i) => i + 1));
    assert.ok(steps.every((l) => Number.isFinite(l.loss)));
    assert.ok(existsSync(join(runDir, 'checkpoints', stepName(total))), 'final checkpoint published');
    const ranks = new Set(readJsonLines<{ rank: number }>(join(runDir, 'consumed.jsonl')).map((l) => l.rank));
    assert.deepEqual([...ranks].sort(), [0, 1], 'both workers trained');
  });
});
