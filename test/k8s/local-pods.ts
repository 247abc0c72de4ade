/**
 * Runs a rendered pod's container on this machine, as the kubelet would run it in the image:
 * the image's ENTRYPOINT plus the container's args (or its command), the environment resolved
 * from the rendered ConfigMaps, Secrets and downward API, and each volume mount replaced by a
 * local folder. The image's own files (/app) are this repo's built tree. Only what cannot be
 * the same on one shared machine is changed, through `network`: service addresses and ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { expand, resolveEnv, type Container, type K8sObject, type PodTemplate } from './render.js';

export interface LocalPod {
  name: string;
  child: ChildProcess;
  /** File with the container's stdout and stderr. */
  log: string;
  /** Resolves to the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export interface RunSpec {
  objects: K8sObject[];
  pod: PodTemplate;
  container: Container;
  podName: string;
  /** The image's ENTRYPOINT (used when the container has no `command`). */
  entrypoint: string[];
  /** Where the image keeps its files (its WORKDIR) and the local folder that stands for it. */
  image: { dir: string; local: string };
  /** Local folder per volume name. */
  volumes: Record<string, string>;
  secrets: Record<string, string>;
  /** Replacements for addresses and ports that cannot be the same here (e.g. nats://nats:4222 → the local server). */
  network: Record<string, string>;
  logDir: string;
  /** Extra argv appended (local-only overrides such as a free port). */
  extraArgs?: string[];
}

/** The argv and environment the container would get, with paths and addresses made local. */
export function localCommand(spec: RunSpec): { argv: string[]; env: Record<string, string> } {
  const mounts: [string, string][] = (spec.container.volumeMounts ?? []).map((m): [string, string] => {
    const local = spec.volumes[m.name];
    if (!local) throw new Error(`${spec.container.name}: no local folder for volume ${m.name}`);
    return [m.mountPath, local];
  });
  mounts.push([spec.image.dir, spec.image.local]);
  // One pass over all mount paths (longest first), so that a replaced path is never replaced again.
  const byPath = new Map(mounts);
  const escape = (p: string) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const pattern = new RegExp(`(${[...byPath.keys()].sort((a, b) => b.length - a.length).map(escape).join('|')})(?=/|$|\\s|")`, 'g');
  const localize = (text: string) => {
    let out = text;
    for (const [from, to] of Object.entries(spec.network)) out = out.split(from).join(to);
    return out.replace(pattern, (m) => byPath.get(m)!);
  };
  const rawEnv = resolveEnv(spec.objects, spec.container, spec.podName, spec.secrets);
  const env = Object.fromEntries(Object.entries(rawEnv).map(([k, v]) => [k, localize(v)]));
  const raw = spec.container.command ? [...spec.container.command, ...(spec.container.args ?? [])] : [...spec.entrypoint, ...(spec.container.args ?? [])];
  const argv = raw.map((a) => localize(expand(a, rawEnv)));
  return { argv: [...argv, ...(spec.extraArgs ?? [])], env };
}

/** Starts the container's process; its environment is the resolved one plus PATH and HOME. */
export function startLocalPod(spec: RunSpec): LocalPod {
  const { argv, env } = localCommand(spec);
  const name = `${spec.podName}-${spec.container.name}`;
  const log = join(spec.logDir, `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', fd, fd] });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  return { name, child, log, exited };
}
