/**
 * Benchmark: the data layer's throughput and memory.
 *
 *   node dist/bench/data.js [--users 5000] [--batch 64] [--collate-limit N] [--gzip] [--json]
 *
 * 1. synth: `writeSynth` of --users training users (4 records each) plus 10% evaluation users,
 *    single-threaded → users/s and MB written.
 * 2. stream: `readSamples` over the training shards (parse + validate) → records/s, peak RSS.
 * 3. index: `Dataset.open` with a cold cache (one validating pass that writes the index) → s.
 * 4. collate: batches of --batch from `VirtualShards` (W = 1), `Dataset.get` + `encodeSample`
 *    with the tiny preset's tokenizers, over --collate-limit records (default: all) → records/s,
 *    peak RSS.
 * Phases 2–4 run in separate child processes so each peak RSS is that phase's own. Use
 * --users 250000 for a 1M-record set (memory should stay flat as the set grows).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeSample, type EncodeContext } from '../src/data/collate.js';
import { Dataset } from '../src/data/dataset.js';
import { readSamples } from '../src/data/reader.js';
import { VirtualShards } from '../src/data/shards.js';
import { SYNTH_LEXICON } from '../src/data/synth/lexicon.js';
import { writeSynth } from '../src/data/synth/write.js';
import { readTabularSchema } from '../src/data/tabular-file.js';
import { tinyEncoderTokenizer, tinyTextTokenizer } from '../src/tokenizers/wordpiece-vocab.js';

interface PhaseResult {
  phase: string;
  seconds: number;
  records: number;
  perSecond: number;
  peakRssMiB: number;
}

const peakRssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function streamPhase(dir: string): Promise<PhaseResult> {
  const t0 = performance.now();
  let records = 0;
  for await (const _ of readSamples(join(dir, 'train'), { onInvalid: 'fail' })) records++;
  const seconds = (performance.now() - t0) / 1000;
  return { phase: 'stream', seconds, records, perSecond: records / seconds, peakRssMiB: peakRssMiB() };
}

async function indexPhase(dir: string): Promise<PhaseResult> {
  rmSync(join(dir, 'train', '.instructue-cache'), { recursive: true, force: true });
  const t0 = performance.now();
  const ds = await Dataset.open(join(dir, 'train'), { onInvalid: 'fail' });
  const seconds = (performance.now() - t0) / 1000;
  await ds.close();
  return { phase: 'index (cold)', seconds, records: ds.size, perSecond: ds.size / seconds, peakRssMiB: peakRssMiB() };
}

async function collatePhase(dir: string, batch: number, limit: number): Promise<PhaseResult> {
  const ds = await Dataset.open(join(dir, 'train'), { onInvalid: 'fail' });
  const ctx: EncodeContext = {
    decoderTokenizer: tinyTextTokenizer(SYNTH_LEXICON),
    encoderTokenizer: tinyEncoderTokenizer(SYNTH_LEXICON),
    tabularSchema: readTabularSchema(join(dir, 'tabular-schema.json')),
    tabularDim: 16, maxRecordsPerSource: 6, encoderMaxLen: 24, maxInstructionTokens: 32, maxAnswerTokens: 32, textOnly: false, maxTextTokens: 384,
  };
  const shards = new VirtualShards({ numSamples: ds.size, virtualShards: 16, seed: 1 });
  const total = Math.min(limit, ds.size);
  const t0 = performance.now();
  let records = 0;
  while (records < total) {
    const { perRank } = shards.next(Math.min(batch, total - records), 1);
    for (const sample of await ds.get(perRank[0])) encodeSample(sample, ctx);
    records += perRank[0].length;
  }
  const seconds = (performance.now() - t0) / 1000;
  await ds.close();
  return { phase: 'read + collate', seconds, records, perSecond: records / seconds, peakRssMiB: peakRssMiB() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '5000' },
      batch: { type: 'string', default: '64' },
      'collate-limit': { type: 'string' },
      gzip: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      phase: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const batch = Number(values.batch);
  const limit = values['collate-limit'] ? Number(values['collate-limit']) : Number.MAX_SAFE_INTEGER;
  if (values.phase) {
    const dir = values.dir!;
    const result = values.phase === 'stream' ? await streamPhase(dir) : values.phase === 'index' ? await indexPhase(dir) : await collatePhase(dir, batch, limit);
    process.stdout.write(JSON.stringify(result));
    return;
  }
  const users = Number(values.users);
  const dir = mkdtempSync(join(tmpdir(), 'instructue-bench-data-'));
  try {
    const evalUsers = Math.floor(users / 10);
    const t0 = performance.now();
    const summary = writeSynth({ out: dir, users, evalUsers, shards: 8, gzip: values.gzip, seed: 1, difficulty: 0.5, pairsPerUser: 3, maxEvents: 10 });
    const seconds = (performance.now() - t0) / 1000;
    const bytes = readdirSync(join(dir, 'train')).reduce((a, f) => a + statSync(join(dir, 'train', f)).size, 0);
    const results: PhaseResult[] = [{ phase: 'synth', seconds, records: users + evalUsers, perSecond: (users + evalUsers) / seconds, peakRssMiB: peakRssMiB() }];
    const self = fileURLToPath(import.meta.url);
    for (const phase of ['stream', 'index', 'collate']) {
      const args = [self, '--phase', phase, '--dir', dir, '--batch', String(batch), ...(values['collate-limit'] ? ['--collate-limit', values['collate-limit']] : [])];
      results.push(JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 })) as PhaseResult);
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ users, trainRecords: summary.train_records, trainMiB: bytes / 2 ** 20, gzip: values.gzip, results }, null, 2)}\n`);
      return;
    }
    console.log(`data bench: ${users} training users → ${summary.train_records} records, ${(bytes / 2 ** 20).toFixed(1)} MiB in 8 ${values.gzip ? '.jsonl.gz' : '.jsonl'} shards; node ${process.version}\n`);
    console.log('| phase | records | seconds | per second | peak RSS (MiB) |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of results) {
      const unit = r.phase === 'synth' ? 'users' : 'records';
      console.log(`| ${r.phase} | ${r.records} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond)} ${unit}/s | ${r.peakRssMiB} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
