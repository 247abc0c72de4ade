/**
 * The local launcher's secrets and identities, attacked from outside through the real CLI
 * (`instructue train --workers 2`, real nats-server, real worker processes), as
 * docs/security.md promises:
 *
 * - an unauthenticated client cannot connect to the launcher's nats-server;
 * - every worker has a NATS user of its own (read from its /proc/<pid>/environ, as another
 *   process of the same user could), which may not subscribe to `>` and may not publish a
 *   report under another worker's subject; a report claiming another worker's id on its own
 *   subject is dropped by the coordinator; no forged sample id reaches consumed.jsonl;
 * - a sniffer with a worker's credentials, subscribed to everything that worker may read, sees
 *   no password or token in any message;
 * - after the run, no file under the run folder and no log line holds the control token, the
 *   operator's NATS password or any worker's password; no worker's argv or environment holds
 *   the launcher's own secrets; the nats-server config file was 0600 in a 0700 folder, gone at exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { trainCluster } from '../../src/launcher/local-cluster.js';
import { createLogger } from '../../src/log.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import type { WorkerEvent } from '../../src/protocol/messages.js';
import { readJsonLines } from '../../src/train/run-dir.js';
import { childrenOf } from '../helpers/processes.js';
import { rawNats, type RawNats } from '../helpers/raw-nats.js';
import { synthData, type SynthData } from '../helpers/synth-data.js';

const bin = join(process.cwd(), 'bin', 'instructue.js');
const TOKEN = 'tok-SECRET-7c1d0e';
const OPERATOR = { user: 'operator', pass: 'p4ss-SECRET-93be1a' };
const STEPS = 16;

function environOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Running children of `pid` whose command is `name` (the launcher's nats-server). */
const childrenNamed = (pid: number, name: string): number[] => childrenOf(pid).filter((c) => c.command === name).map((c) => c.pid);

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

async function until<T>(get: () => T | undefined | false, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the launcher\'s NATS: credentials, per-worker identity, no secrets at rest or on the wire', () => {
  let data: SynthData;
  let root: string;
  before(() => {
    data = synthData(15, 43, 5);
    root = mkdtempSync(join(tmpdir(), 'instructue-security-'));
  });
  after(() => {
    data.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses strangers, confines each worker to its own identity, and leaks no secret', async () => {
    const run = join(root, 'run');
    const launcher = spawn(process.execPath, [bin, 'train', '--workers', '2', '--config', 'configs/tiny.json', '--out', run, '--data', data.train, '--steps', String(STEPS), '--backend', 'wasm',
      '--set', 'dist.heartbeat_ms=300', '--set', 'dist.worker_timeout_ms=3000', '--set', 'train.checkpoint_every=4'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, INSTRUCTUE_LOG_LEVEL: 'debug', INSTRUCTUE_TOKEN: TOKEN, INSTRUCTUE_NATS_USER: OPERATOR.user, INSTRUCTUE_NATS_PASS: OPERATOR.pass },
    });
    let output = '';
    launcher.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    launcher.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    const logLines = () => output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const clients: RawNats[] = [];
    const workerPasswords: string[] = [];
    let confPath = '';
    try {
      const natsUrl = await until(() => logLines().find((l) => l.msg === 'local cluster starting')?.nats as string | undefined, 'the launcher\'s NATS URL');
      const pids = await until(() => {
        const started = logLines().filter((l) => l.msg === 'worker started');
        return started.length >= 2 ? Object.fromEntries(started.map((l) => [l.worker as string, l.pid as number])) : undefined;
      }, 'two workers');
      const [natsPid] = childrenNamed(launcher.pid!, 'nats-server');
      assert.ok(natsPid, 'the launcher runs its own nats-server');
      confPath = readFileSync(`/proc/${natsPid}/cmdline`, 'utf8').split('\0')[2]!;
      assert.ok(!existsSync(confPath), 'the nats-server config (it holds passwords) is removed once the server has read it');
      assert.equal(statSync(dirname(confPath)).mode & 0o777, 0o700, 'in a private folder');

      // Each worker's login, as another process of this user could read it.
      const login = (id: string) => {
        const env = environOf(pids[id]!);
        return { user: env.INSTRUCTUE_NATS_USER!, pass: env.INSTRUCTUE_NATS_PASS! };
      };
      const w0 = login('w0');
      const w1 = login('w1');
      assert.deepEqual([w0.user, w1.user], ['worker-w0', 'worker-w1']);
      assert.ok(w0.pass.length >= 32 && w1.pass.length >= 32 && w0.pass !== w1.pass, 'random passwords of their own');
      workerPasswords.push(w0.pass, w1.pass);
      for (const id of ['w0', 'w1']) {
        const env = environOf(pids[id]!);
        assert.equal(env.INSTRUCTUE_TOKEN, undefined, `${id} does not inherit the control token`);
        assert.ok(!Object.values(env).some((v) => v.includes(OPERATOR.pass)), `${id} does not hold the operator's NATS password`);
        const argv = readFileSync(`/proc/${pids[id]}/cmdline`, 'utf8');
        for (const secret of [w0.pass, w1.pass, OPERATOR.pass, TOKEN]) assert.ok(!argv.includes(secret), `${id}'s argv holds no secret`);
      }

      // A stranger is refused, and so is a wrong password.
      await assert.rejects(rawNats(natsUrl), /Authorization Violation/);
      await assert.rejects(rawNats(natsUrl, { user: 'worker-w1', pass: w0.pass }), /Authorization Violation/);

      // A sniffer with w0's credentials: `>` is refused; everything w0 may read is taken.
      const sniffer = await rawNats(natsUrl, w0);
      clients.push(sniffer);
      sniffer.sub('>', 1);
      await sniffer.ping();
      assert.ok(sniffer.errors.some((e) => /Permissions Violation for Subscription to ">"/.test(e)), `sniffer errors: ${sniffer.errors.join(' | ')}`);
      ['instructue.w.w0', 'instructue.all', 'instructue.p.*.>', '_INBOX.>'].forEach((s, i) => sniffer.sub(s, i + 2));
      sniffer.sub('instructue.w.w1', 9); // another worker's assignments: refused
      await sniffer.ping();
      assert.ok(sniffer.errors.some((e) => /Permissions Violation for Subscription to "instructue\.w\.w1"/.test(e)));

      // Worker w0 forges w1's reports once training runs: on w1's subject (refused by the server)
      // and on its own (dropped by the coordinator: the id is not the sender's).
      await until(() => readJsonLines<{ step: number }>(join(run, 'metrics.jsonl')).some((l) => l.step >= 2), 'step 2', 120_000);
      const forger = await rawNats(natsUrl, w0);
      clients.push(forger);
      let forged = 0;
      for (let epoch = 1; epoch <= 4; epoch++) {
        for (let step = 1; step <= STEPS; step++) {
          for (const rank of [0, 1]) {
            const report: WorkerEvent = { type: 'step.done', workerId: 'w1', epoch, rank, step, dataEpoch: 0, ids: [`FORGED-${step}-${rank}`], metrics: rank === 0 ? { loss: 0.001 } : null, cursor: null, computeMs: 1, waitMs: 1 };
            forger.pub('instructue.coord.events.w1', encodeMessage(report), '_INBOX.forger.1');
            forger.pub('instructue.coord.events.w0', encodeMessage(report), '_INBOX.forger.2');
            forged += 2;
          }
        }
      }
      await forger.ping();
      assert.ok(forger.errors.some((e) => /Permissions Violation for Publish to "instructue\.coord\.events\.w1"/.test(e)), `forger errors: ${forger.errors.slice(0, 3).join(' | ')}`);

      assert.equal(await exited, 0, output.slice(-2000));
      const sniffed = sniffer.messages;
      assert.ok(sniffed.some((m) => m.subject === 'instructue.w.w0'), 'the sniffer saw w0\'s assignment');
      assert.ok(sniffed.some((m) => m.subject.startsWith('instructue.p.w1.')), 'the sniffer saw w1\'s collective frames');
      assert.ok(sniffed.some((m) => m.subject === 'instructue.all'), 'the sniffer saw the broadcasts');
      const wire = sniffer.received();
      for (const [name, secret] of [['token', TOKEN], ['operator password', OPERATOR.pass], ['w0 password', w0.pass], ['w1 password', w1.pass]] as const) {
        assert.ok(!wire.includes(secret), `the ${name} crossed the wire in ${sniffed.length} messages`);
      }

      const consumed = readJsonLines<{ step: number; rank: number; ids: string[] }>(join(run, 'consumed.jsonl'));
      assert.equal(consumed.length, STEPS * 2, 'one line per committed step and rank');
      assert.deepEqual(consumed.flatMap((l) => l.ids).filter((id) => id.startsWith('FORGED')), []);
      assert.ok(readJsonLines<{ loss?: number }>(join(run, 'metrics.jsonl')).every((l) => l.loss !== 0.001));
      const dropped = logLines().filter((l) => l.msg === 'dropped a worker message sent under another worker\'s id');
      // Logged at the 1st, 2nd, 4th, … drop: the last line counts them all.
      assert.deepEqual(dropped.map((l) => l.dropped), [1, 2, 4, 8, 16, 32, 64, 128], 'the coordinator dropped every forged report sent on w0\'s own subject');
      assert.equal(forged / 2, 128);
      assert.ok(dropped.every((l) => l.claimed === 'w1' && l.sender === 'w0' && l.type === 'step.done'));
    } finally {
      for (const c of clients) c.close();
      if (launcher.exitCode === null) launcher.kill('SIGKILL');
    }

    // No secret at rest: run folder (config.json, logs, checkpoints, …) and the launcher's output.
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { control: { token: string }; dist: { nats_pass: string } };
    assert.deepEqual([config.control.token, config.dist.nats_pass], ['<set>', '<set>']);
    assert.equal(statSync(join(run, 'config.json')).mode & 0o777, 0o600);
    const secrets = [TOKEN, OPERATOR.pass, ...workerPasswords];
    assert.equal(secrets.length, 4);
    const files = filesUnder(run);
    assert.ok(files.some((f) => f.endsWith('w0.log')) && files.some((f) => f.includes('checkpoints')));
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of secrets) assert.ok(!bytes.includes(secret), `${file} holds a secret`);
    }
    for (const secret of secrets) assert.ok(!output.includes(secret), 'the launcher\'s output holds a secret');
    assert.ok(!existsSync(dirname(confPath)), 'the nats-server folder (config with passwords) is removed at exit');
  });

  it('without configured credentials (the default) the launcher still generates logins: strangers are refused, no password lands anywhere', async () => {
    const out = join(root, 'default');
    const lines: string[] = [];
    const log = createLogger({ role: 'launcher' }, { level: 'debug', write: (line) => lines.push(line) });
    const config = loadConfig({ file: 'configs/tiny.json', overrides: { 'data.train': data.train, backend: 'wasm', 'train.steps': 3, 'dist.heartbeat_ms': 300 }, env: {} });
    assert.deepEqual([config.dist.nats_user, config.dist.nats_pass, config.dist.nats_token], ['', '', '']);
    const passwords: string[] = [];
    let strangerRefused = false;
    let users: string[] = [];
    const outcome = await trainCluster({
      config, out, workers: 1, natsUrl: '', resume: false, allowConfigChange: false, log,
      onReady: async ({ natsUrl, pool, coordinator }) => {
        await assert.rejects(rawNats(natsUrl), /Authorization Violation/);
        strangerRefused = true;
        await until(() => coordinator.status().step >= 1, 'step 1');
        passwords.push(environOf(pool.pid('w0')!).INSTRUCTUE_NATS_PASS!);
        // Who is logged in, from the server's own monitoring (its ports file names the port).
        const [natsPid] = childrenNamed(process.pid, 'nats-server');
        const dir = dirname(readFileSync(`/proc/${natsPid}/cmdline`, 'utf8').split('\0')[2]!);
        const ports = JSON.parse(readFileSync(join(dir, `nats-server_${natsPid}.ports`), 'utf8')) as { monitoring: string[] };
        const connz = (await (await fetch(`${ports.monitoring[0]}/connz?auth=true`)).json()) as { connections: Array<{ name?: string; authorized_user?: string }> };
        users = connz.connections.map((c) => `${c.name}=${c.authorized_user}`).sort();
      },
    });
    assert.deepEqual(outcome, { state: 'done', step: 3, reason: null });
    assert.ok(strangerRefused);
    assert.ok(passwords[0] && passwords[0].length >= 32);
    // The coordinator and the worker (and its heartbeat thread) log in as themselves.
    assert.ok(users.includes('coordinator-instructue=coordinator'), users.join(', '));
    assert.ok(users.includes('worker-w0=worker-w0') && users.includes('heartbeat-w0=worker-w0'), users.join(', '));
    assert.deepEqual(users.filter((u) => !/=(coordinator|worker-w0)$/.test(u)), [], 'no connection without its own login');
    for (const file of filesUnder(out)) {
      const bytes = readFileSync(file);
      for (const secret of passwords) assert.ok(!bytes.includes(secret), `${file} holds a generated NATS password`);
    }
    for (const secret of passwords) assert.ok(!lines.some((l) => l.includes(secret)), 'a log line holds a generated NATS password');
  });
});
