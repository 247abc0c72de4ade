/**
 * Every k8s/ overlay renders with the real `kubectl kustomize`, every rendered object validates
 * offline against the Kubernetes OpenAPI schema (and has no unknown fields), and the manifests
 * keep the promises docs/kubernetes.md makes: non-root and read-only containers, pinned
 * images, NATS auth from the Secret and reachable only by the job's pods, JetStream on a
 * volume, workers named by the downward API with a long grace period, one coordinator with
 * Prometheus annotations, a ReadWriteMany run volume, and the ConfigMap built from configs/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { container, find, OVERLAYS, podTemplate, renderOverlay, type K8sObject, type PodTemplate } from './render.js';
import { schemaErrors, unknownFieldErrors } from './schema.js';

const WORKLOADS = ['Deployment', 'StatefulSet'];
/** Every member of the NATS cluster, as the job's processes are given them. */
const NATS_URLS = 'nats://nats-0.nats-headless:4222,nats://nats-1.nats-headless:4222,nats://nats-2.nats-headless:4222';

for (const overlay of OVERLAYS) {
  describe(`k8s/overlays/${overlay}`, () => {
    let objects: K8sObject[];
    before(() => {
      objects = renderOverlay(overlay);
    });
    const pods = () => objects.filter((o) => WORKLOADS.includes(o.kind)).map((o) => ({ name: o.metadata.name, pod: podTemplate(o) }));

    it('renders the expected objects, all in the instructue namespace', () => {
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
      assert.deepEqual(kinds, [
        'ConfigMap/instructue-configs', 'ConfigMap/instructue-job', 'ConfigMap/nats-config', 'Deployment/instructue-coordinator', 'Namespace/instructue',
        'NetworkPolicy/instructue-worker-no-ingress', 'NetworkPolicy/nats-job-pods-only', 'PersistentVolumeClaim/instructue-run', 'PodDisruptionBudget/nats', 'Secret/instructue-secrets',
        'Service/instructue-coordinator', 'Service/instructue-worker', 'Service/nats', 'Service/nats-headless', 'StatefulSet/instructue-worker', 'StatefulSet/nats',
      ]);
      for (const o of objects.filter((x) => x.kind !== 'Namespace')) assert.equal(o.metadata.namespace, 'instructue', o.metadata.name);
    });

    it('validates against the Kubernetes OpenAPI schema, offline, with no unknown fields', async () => {
      for (const o of objects) assert.deepEqual(await schemaErrors(o), [], `${o.kind}/${o.metadata.name}`);
      assert.deepEqual(unknownFieldErrors(objects), []);
    });

    it('runs every container non-root, read-only, without privileges, from a pinned image', () => {
      for (const { name, pod } of pods()) {
        assert.equal(pod.spec.securityContext?.runAsNonRoot, true, name);
        assert.ok((pod.spec.securityContext?.runAsUser ?? 0) > 0, `${name}: numeric non-root uid`);
        for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
          assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, `${name}/${c.name}`);
          assert.match(c.image, /^[^:]+:(?!latest$)[\w.-]+$/, `${name}/${c.name}: explicit, non-latest tag`);
          assert.ok(c.resources?.requests && c.resources.limits?.memory, `${name}/${c.name}: requests and a memory limit`);
        }
      }
      const images = new Set(pods().flatMap(({ pod }) => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.image)));
      assert.deepEqual([...images].sort(), ['nats:2.10.22-alpine', `instructue:0.1.0-${overlay === 'gpu' ? 'gpu' : 'cpu'}`].sort());
    });

    it('keeps NATS behind auth from the Secret, JetStream on a volume, and reachable by job pods only', () => {
      const conf = find(objects, 'ConfigMap', 'nats-config') as K8sObject & { data: Record<string, string> };
      assert.match(conf.data['nats.conf']!, /authorization \{\n {2}user: \$INSTRUCTUE_NATS_USER\n {2}password: \$INSTRUCTUE_NATS_PASS\n\}/);
      assert.match(conf.data['nats.conf']!, /jetstream \{\n {2}store_dir: \/data\/jetstream/);
      const nats = find(objects, 'StatefulSet', 'nats');
      const natsEnv = container(nats, 'nats').env!.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom!.secretKeyRef!.key]);
      assert.deepEqual(natsEnv, [['INSTRUCTUE_NATS_USER', 'INSTRUCTUE_NATS_USER'], ['INSTRUCTUE_NATS_PASS', 'INSTRUCTUE_NATS_PASS']]);
      assert.deepEqual(container(nats, 'nats').volumeMounts!.find((m) => m.name === 'jetstream'), { name: 'jetstream', mountPath: '/data' });
      assert.equal((nats.spec as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates[0]!.metadata.name, 'jetstream');

      const secret = find(objects, 'Secret', 'instructue-secrets') as K8sObject & { data: Record<string, string> };
      assert.deepEqual(Object.keys(secret.data).sort(), ['INSTRUCTUE_NATS_PASS', 'INSTRUCTUE_NATS_USER', 'INSTRUCTUE_TOKEN']);
      for (const name of ['instructue-coordinator', 'instructue-worker']) {
        const workload = objects.find((o) => WORKLOADS.includes(o.kind) && o.metadata.name === name)!;
        const main = podTemplate(workload).spec.containers[0]!;
        assert.deepEqual(main.env!.filter((e) => e.name.startsWith('INSTRUCTUE_NATS_')).map((e) => e.valueFrom?.secretKeyRef?.name), [secret.metadata.name, secret.metadata.name], name);
      }

      const policy = find(objects, 'NetworkPolicy', 'nats-job-pods-only').spec as { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[] };
      assert.deepEqual(policy.podSelector.matchLabels, { 'app.kubernetes.io/name': 'nats' });
      assert.deepEqual(policy.policyTypes, ['Ingress']);
      assert.deepEqual(policy.ingress, [
        { from: [{ podSelector: { matchLabels: { 'instructue.dev/nats-client': 'true' } } }], ports: [{ port: 4222, protocol: 'TCP' }] },
        // Routes: only the NATS members reach each other's cluster port.
        { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } }], ports: [{ port: 6222, protocol: 'TCP' }] },
      ]);
      const clients = pods().filter(({ pod }) => pod.metadata.labels['instructue.dev/nats-client'] === 'true').map((p) => p.name).sort();
      assert.deepEqual(clients, ['instructue-coordinator', 'instructue-worker']);
    });

    it('runs NATS as a 3-server cluster: routes over stable names, JetStream everywhere, members spread and disrupted one at a time', () => {
      const nats = find(objects, 'StatefulSet', 'nats');
      const spec = nats.spec as { replicas: number; serviceName: string; podManagementPolicy: string; template: PodTemplate & { spec: { topologySpreadConstraints?: Array<{ topologyKey: string; maxSkew: number }> } } };
      assert.equal(spec.replicas, 3);
      assert.equal(spec.podManagementPolicy, 'Parallel', 'members only turn ready together: OrderedReady would wait forever');
      assert.equal(spec.serviceName, 'nats-headless');
      const headless = find(objects, 'Service', 'nats-headless').spec as { clusterIP: string; publishNotReadyAddresses: boolean; selector: Record<string, string>; ports: Array<{ name: string; port: number }> };
      assert.equal(headless.clusterIP, 'None');
      assert.equal(headless.publishNotReadyAddresses, true);
      assert.deepEqual(headless.selector, { 'app.kubernetes.io/name': 'nats' });
      assert.deepEqual(headless.ports.map((p) => [p.name, p.port]), [['client', 4222], ['cluster', 6222]]);
      const c = container(nats, 'nats');
      assert.deepEqual(c.ports!.map((p) => [p.name, p.containerPort]), [['client', 4222], ['cluster', 6222], ['monitor', 8222]]);
      assert.equal(c.env!.find((e) => e.name === 'GOGC')?.value, '400', 'the GC setting the benchmark measured');
      assert.deepEqual(spec.template.spec.topologySpreadConstraints!.map((t) => [t.topologyKey, t.maxSkew]), [['kubernetes.io/hostname', 1]]);
      const conf = (find(objects, 'ConfigMap', 'nats-config') as K8sObject & { data: Record<string, string> }).data['nats.conf']!;
      const members = Array.from({ length: spec.replicas }, (_, i) => `nats-${i}.${spec.serviceName}`);
      const routes = /cluster \{[^}]*routes: \[([^\]]*)\]/.exec(conf)?.[1]?.trim().split(/\s+/);
      assert.deepEqual(routes, members.map((m) => `nats-route://${m}:6222`));
      assert.match(conf, /cluster \{\n {2}name: instructue\n {2}port: 6222\n/);
      assert.match(conf, /server_name: \$POD_NAME/);
      // The job's processes are given every member (and so spread over them and fail over).
      assert.equal(NATS_URLS, members.map((m) => `nats://${m}:4222`).join(','));
      const pdb = find(objects, 'PodDisruptionBudget', 'nats').spec as { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
      assert.deepEqual(pdb, { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } });
    });

    it('names workers by the downward API, gives them a long grace period, and sizes GPUs per the overlay', () => {
      const workers = find(objects, 'StatefulSet', 'instructue-worker');
      const spec = workers.spec as { replicas: number; podManagementPolicy: string; template: PodTemplate };
      const worker = container(workers, 'worker');
      const gpuArgs = overlay === 'gpu' ? ['--backend', 'cuda'] : [];
      assert.deepEqual(worker.args, ['worker', '--nats', NATS_URLS, '--job', '$(INSTRUCTUE_JOB)', '--id', '$(POD_NAME)', ...gpuArgs]);
      assert.deepEqual(worker.env!.find((e) => e.name === 'POD_NAME'), { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
      assert.equal(spec.podManagementPolicy, 'Parallel');
      assert.ok(spec.template.spec.terminationGracePeriodSeconds! >= 300);
      const job = find(objects, 'ConfigMap', 'instructue-job') as K8sObject & { data: Record<string, string> };
      assert.equal(Number(job.data.INSTRUCTUE_WORKERS), spec.replicas, 'the coordinator waits for as many workers as the StatefulSet starts');
      if (overlay === 'gpu') {
        assert.equal(worker.resources!.limits!['nvidia.com/gpu'], 1);
        assert.equal(worker.resources!.requests!['nvidia.com/gpu'], undefined, 'GPUs go in limits only');
        assert.ok(spec.template.spec.terminationGracePeriodSeconds! >= 600);
        assert.deepEqual(worker.env!.find((e) => e.name === 'XDG_CACHE_HOME'), { name: 'XDG_CACHE_HOME', value: '/data/cache' }, 'compiled kernels are cached on the shared run volume');
      } else {
        assert.ok(pods().every(({ pod }) => pod.spec.containers.every((c) => !JSON.stringify(c.resources).includes('nvidia'))));
      }
    });

    it('runs one coordinator with its control port, probes and Prometheus annotations', () => {
      const deployment = find(objects, 'Deployment', 'instructue-coordinator');
      const spec = deployment.spec as { replicas: number; strategy: { type: string } };
      assert.equal(spec.replicas, 1);
      assert.equal(spec.strategy.type, 'Recreate');
      const c = container(deployment, 'coordinator');
      assert.deepEqual(c.args, ['coordinator', '--config', '$(INSTRUCTUE_CONFIG)', '--out', '/data/run', '--nats', NATS_URLS, '--workers', '$(INSTRUCTUE_WORKERS)', '--resume']);
      assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080 }]);
      const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef?.key]));
      assert.equal(env.INSTRUCTUE_CONTROL_HOST, '0.0.0.0');
      assert.equal(env.INSTRUCTUE_CONTROL_PORT, '8080');
      assert.equal(env.INSTRUCTUE_TOKEN, 'INSTRUCTUE_TOKEN');
      const scrape = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' };
      assert.deepEqual(podTemplate(deployment).metadata.annotations, scrape);
      const service = find(objects, 'Service', 'instructue-coordinator');
      assert.deepEqual(service.metadata.annotations, scrape);
      assert.deepEqual((service.spec as { ports: unknown[] }).ports, [{ name: 'http', port: 8080, targetPort: 'http' }]);
    });

    it('shares one ReadWriteMany run volume and mounts the configs/ ConfigMap', () => {
      const pvc = find(objects, 'PersistentVolumeClaim', 'instructue-run').spec as { accessModes: string[] };
      assert.deepEqual(pvc.accessModes, ['ReadWriteMany']);
      for (const name of ['instructue-coordinator', 'instructue-worker']) {
        const pod = pods().find((p) => p.name === name)!.pod;
        const run = pod.spec.volumes!.find((v) => v.persistentVolumeClaim)!;
        assert.equal(run.persistentVolumeClaim!.claimName, 'instructue-run');
        assert.deepEqual(pod.spec.containers[0]!.volumeMounts!.find((m) => m.name === run.name)?.mountPath, '/data');
      }
      const configs = find(objects, 'ConfigMap', 'instructue-configs') as K8sObject & { data: Record<string, string> };
      const files = readdirSync('configs').filter((f) => f.endsWith('.json')).sort();
      assert.deepEqual(Object.keys(configs.data).sort(), files, 'configs/kustomization.yaml lists every configs/*.json');
      for (const f of files) assert.equal(configs.data[f], readFileSync(`configs/${f}`, 'utf8'));
      const mounted = pods().find((p) => p.name === 'instructue-coordinator')!.pod.spec.volumes!.find((v) => v.configMap?.name === configs.metadata.name);
      assert.ok(mounted, 'the coordinator mounts the generated ConfigMap (hash-suffixed name)');
      const job = find(objects, 'ConfigMap', 'instructue-job') as K8sObject & { data: Record<string, string> };
      assert.ok(files.includes(job.data.INSTRUCTUE_CONFIG!.replace('/etc/instructue/', '')), 'INSTRUCTUE_CONFIG names a file of the ConfigMap');
    });
  });
}

describe('k8s/base/secrets.env', () => {
  it('holds only placeholders, which the coordinator refuses', () => {
    const entries = readFileSync('k8s/base/secrets.env', 'utf8').trim().split('\n').map((l) => l.split('='));
    for (const [key, value] of entries) assert.ok(key === 'INSTRUCTUE_NATS_USER' || value!.startsWith('CHANGE_ME'), `${key} must be a CHANGE_ME placeholder`);
    const kustomization = parse(readFileSync('k8s/base/kustomization.yaml', 'utf8')) as { secretGenerator: { name: string; envs: string[] }[] };
    assert.deepEqual(kustomization.secretGenerator, [{ name: 'instructue-secrets', envs: ['secrets.env'] }]);
  });
});
