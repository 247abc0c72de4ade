/**
 * Renders a k8s/ overlay with the real `kubectl kustomize` and gives typed access to the
 * objects: find by kind and name (generated names carry a hash suffix), the pod template of a
 * workload, and one container's command line and environment resolved the way the kubelet
 * resolves them (ConfigMap/Secret refs, the downward API, `$(VAR)` in args).
 */
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

export const OVERLAYS = ['cpu-small', 'gpu'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** A rendered Kubernetes object (plain JSON from the YAML). */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown };

export interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }
export interface Container {
  name: string; image: string; command?: string[]; args?: string[]; env?: EnvVar[]; envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface PodSpec {
  containers: Container[]; initContainers?: Container[]; terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; configMap?: { name: string }; emptyDir?: object }[];
}
export interface PodTemplate { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec }

/** `kubectl kustomize k8s/overlays/<name>` parsed into objects; throws with kubectl's stderr. */
export function renderOverlay(name: string): K8sObject[] {
  const run = spawnSync('kubectl', ['kustomize', `k8s/overlays/${name}`], { encoding: 'utf8' });
  if (run.error) throw new Error(`kubectl is needed to render k8s/ (kubectl 1.32, or apt-get install kubernetes-client): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`kubectl kustomize k8s/overlays/${name} failed:\n${run.stderr}`);
  return parseAllDocuments(run.stdout).map((doc) => {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    return doc.toJSON() as K8sObject;
  });
}

/** The object of `kind` whose name is `name` or `name-<kustomize hash>`. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}

export function podTemplate(workload: K8sObject): PodTemplate {
  return (workload.spec as { template: PodTemplate }).template;
}

export function container(workload: K8sObject, name: string, init = false): Container {
  const spec = podTemplate(workload).spec;
  const c = (init ? spec.initContainers ?? [] : spec.containers).find((x) => x.name === name);
  if (!c) throw new Error(`${workload.metadata.name} has no ${init ? 'init ' : ''}container ${name}`);
  return c;
}

/** What the kubelet would put in the container's environment, given the pod name and the Secret values. */
export function resolveEnv(objects: K8sObject[], c: Container, podName: string, secrets: Record<string, string>): Record<string, string> {
  const configMap = (name: string) => (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as { data?: Record<string, string> } | undefined)?.data;
  const secretObject = (name: string) => objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const data = from.configMapRef ? configMap(from.configMapRef.name) : undefined;
    if (!data) throw new Error(`${c.name}: envFrom names a missing ConfigMap ${JSON.stringify(from)}`);
    Object.assign(env, data);
  }
  for (const v of c.env ?? []) {
    const ref = v.valueFrom;
    if (v.value !== undefined) env[v.name] = expand(v.value, env);
    else if (ref?.fieldRef?.fieldPath === 'metadata.name') env[v.name] = podName;
    else if (ref?.secretKeyRef) {
      if (!secretObject(ref.secretKeyRef.name)) throw new Error(`${c.name}: ${v.name} names a missing Secret ${ref.secretKeyRef.name}`);
      const value = secrets[ref.secretKeyRef.key];
      if (value === undefined) throw new Error(`${c.name}: no test value for secret key ${ref.secretKeyRef.key}`);
      env[v.name] = value;
    } else if (ref?.configMapKeyRef) {
      const value = configMap(ref.configMapKeyRef.name)?.[ref.configMapKeyRef.key];
      if (value === undefined) throw new Error(`${c.name}: ${v.name} names a missing ConfigMap key`);
      env[v.name] = value;
    } else throw new Error(`${c.name}: env ${v.name} has a source this helper does not know`);
  }
  return env;
}

/** Kubernetes' `$(VAR)` expansion (unknown names stay as written, `$$` escapes). */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : env[name!] ?? m));
}
