/**
 * Prints configs/README.md from the convict schema (every key: doc, default, env var, flag),
 * so the knobs' documentation cannot drift from the code: test/config/configs.test.ts checks
 * that the committed file equals this output.
 *
 *   node dist/scripts/config-docs.js > configs/README.md
 */
import { schema } from '../src/config/schema.js';

interface Leaf { doc?: string; default: unknown; env?: string; arg?: string; sensitive?: boolean }

function isLeaf(node: unknown): node is Leaf {
  return typeof node === 'object' && node !== null && 'default' in node;
}

function rows(node: Record<string, unknown>, prefix: string): string[] {
  return Object.entries(node).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (!isLeaf(child)) return rows(child as Record<string, unknown>, path);
    const def = child.sensitive ? '(secret)' : JSON.stringify(child.default);
    const from = [child.env ? `\`${child.env}\`` : '', child.arg ? `\`--${child.arg}\`` : ''].filter(Boolean).join(' ');
    return [`| \`${path}\` | ${(child.doc ?? '').replace(/\|/g, '\\|')} | \`${def}\` | ${from} |`];
  });
}

export function configDocs(): string {
  return [
    '# Configuration',
    '',
    'Runs are JSON files in this folder, validated strictly against one schema (`src/config/schema.ts`):',
    'an unknown key or a bad value stops the program with every problem listed. Precedence: defaults,',
    'then the file, then environment variables, then command-line flags, then `--set KEY=VALUE`.',
    '',
    '- `tiny.json`: random-init model small enough to train on 2 CPU cores (the demo, tests and benchmarks).',
    '- `small.json`: the tiny dims with the from-scratch recipe that learns (full fine-tuning, trainable encoder, depth-scaled',
    '  init, instruction-grouped batches, centred contrastive scores; docs/quality.md): the preset of `instructue report`.',
    '- `paper-qwen2.5-0.5b.json`: the paper\'s setting (appendix A): Qwen2.5-0.5B-Instruct + gte-base read from local',
    '  Hugging Face folders (`models/…`), LoRA, global batch 1024, lr 2e-4 cosine, 150k steps, 128 workers.',
    '- `import/`: example rules for `instructue import` (not run configs).',
    '',
    'This file is generated: `npm run build && node dist/scripts/config-docs.js > configs/README.md`.',
    '',
    '| key | meaning | default | env / flag |',
    '|---|---|---|---|',
    ...rows(schema as unknown as Record<string, unknown>, ''),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(configDocs());
