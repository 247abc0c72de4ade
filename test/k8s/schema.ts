/**
 * Offline validation of rendered objects against the Kubernetes OpenAPI schema, in two passes:
 * - `kubernetes-models` (validators generated from the upstream OpenAPI spec, run with ajv):
 *   types, formats, required fields, enums;
 * - TypeScript's excess-property check against the same package's generated interfaces,
 *   which catches what the OpenAPI schema lets through (it allows unknown fields, as the API
 *   server does in non-strict mode): a misspelt or misplaced key fails here.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './render.js';

/** `kubernetes-models/<group>/<version>/<Kind>`; the core group has no group segment. */
function modelModule(o: K8sObject): string {
  return `kubernetes-models/${o.apiVersion}/${o.kind}`;
}

/** Validation errors of one object (empty when valid); an unknown kind is an error too. */
export async function schemaErrors(o: K8sObject): Promise<string[]> {
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = (await import(modelModule(o)))[o.kind];
  } catch {
    return [`no schema for ${o.apiVersion} ${o.kind} (${modelModule(o)})`];
  }
  try {
    new Model(o).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * Type-checks every object as a literal of its generated interface; returns the compiler's
 * messages (empty when every key exists where it was written). The file is written under
 * dist/ so that `kubernetes-models` resolves from the repo's node_modules.
 */
export function unknownFieldErrors(objects: K8sObject[]): string[] {
  const dir = mkdtempSync(join(process.cwd(), 'dist', '.k8s-typecheck-'));
  try {
    const lines = objects.map((o, i) => `import type { I${o.kind} as T${i} } from '${modelModule(o)}';`);
    objects.forEach((o, i) => lines.push(`export const o${i}: T${i} = ${JSON.stringify(o)};`));
    const file = join(dir, 'objects.ts');
    writeFileSync(file, lines.join('\n'));
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es2022.d.ts'],
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? objects[d.file.getLineAndCharacterOfPosition(d.start).line - objects.length] : undefined;
      const what = where ? `${where.kind}/${where.metadata.name}: ` : '';
      return what + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
