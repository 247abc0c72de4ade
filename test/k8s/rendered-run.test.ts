/**
 * The cpu-small overlay, run on this machine: the rendered nats-server config and container,
 * the synth init container, the coordinator and 2 workers, each started with exactly its
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
    /** A ConfigMap volume: its keys as files, with `rewrite` applied to each (paths inside a config file). */
    const configMapVolume = (name: string, rewrite: (text: string) => string = (t) => t) => {
      const cm = find(objects, 'ConfigMap', name) as K8sObject & { data: Record<string, string> };
      const path = dir(`configmap-${name}`);
      for (const [file, text] of Object.entries(cm.data)) writeFileSync(join(path, file), rewrite(text));
      return path;
    };
    const base = { objects, image: { dir: workdir, local: process.cwd() }, secrets: SECRETS, logDir: dir('logs') };
    const run = (spec: Omit<RunSpec, 'objects' | 'image' | 'secrets' | 'logDir'>) => {
      const pod = startLocalPod({ ...base, ...spec });
      pods.push(pod);
      return pod;
    };

    // NATS: the rendered config and container; only the listen address and ports are local.
    const nats = find(objects, 'StatefulSet', 'nats');
    const jetstream = dir('nats-jetstream');
    const portsDir = dir('nats-ports');
    const natsPod = run({
      pod: podTemplate(nats), container: container(nats, 'nats'), podName: 'nats-0', entrypoint: ['nats-server'],
      volumes: { config: configMapVolume('nats-config', (t) => t.replace('store_dir: /data/', `store_dir: ${jetstream}/`)), jetstream },
      network: {}, extraArgs: ['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--ports_file_dir', portsDir],
    });
    const ports = await waitFor('nats-server ports file', () => {
      const file = readdirSync(portsDir)[0];
      return file ? (JSON.parse(readFileSync(join(portsDir, file), 'utf8')) as { nats: string[]; monitoring: string[] }) : undefined;
    });
    for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
      const path = (container(nats, 'nats') as unknown as Record<string, { httpGet: { path: string } }>)[probe]!.httpGet.path;
      assert.equal((await fetch(ports.monitoring[0] + path)).status, 200, `${probe} ${path}`);
    }
    const network = { 'nats://nats:4222': ports.nats[0]!, '0.0.0.0': '127.0.0.1' };

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
    natsPod.child.kill('SIGTERM');
    await natsPod.exited;

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
