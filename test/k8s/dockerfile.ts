/**
 * A small Dockerfile reader for the tests (Docker itself cannot run here): instructions grouped
 * by stage, comments dropped, `\` continuations joined, `${ARG}` in FROM resolved from the
 * defaults of ARGs declared before the first FROM.
 */
import { readFileSync } from 'node:fs';

export interface Instruction { op: string; args: string }
export interface Stage { from: string; name: string | null; body: Instruction[] }

/** Parses `path`. */
export function parseDockerfile(path: string): { args: Record<string, string>; stages: Stage[] } {
  const text = readFileSync(path, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    const ins = { op: op.toUpperCase(), args: rest! };
    if (ins.op === 'FROM') {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args) ?? [];
      stages.push({ from: image!.replace(/\$\{(\w+)\}/g, (_, a: string) => args[a] ?? ''), name: name ?? null, body: [] });
    } else if (stages.length === 0 && ins.op === 'ARG') {
      const [k, v] = ins.args.split('=');
      args[k!] = v ?? '';
    } else stages.at(-1)?.body.push(ins);
  }
  return { args, stages };
}


/** The final stage's ENTRYPOINT as an argv (exec form). */
export function entrypoint(path: string): string[] {
  const value = parseDockerfile(path).stages.at(-1)!.body.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args;
  if (!value) throw new Error(`${path} has no ENTRYPOINT`);
  return JSON.parse(value) as string[];
}
