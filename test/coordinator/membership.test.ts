/**
 * The coordinator's decisions, table-driven and without NATS: each case starts from a view,
 * feeds events and checks the actions and the view that come out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, initialView, verdictFor, type JobView, type MembershipAction, type MembershipEvent, type MembershipPolicy, type StepDone } from '../../src/coordinator/membership.js';
import type { TrainCursor } from '../../src/train/train-state.js';

const policy: MembershipPolicy = {
  workerTimeoutMs: 3000, noWorkersTimeoutMs: 20_000, maxWorkers: 8, totalSteps: 10, keepLast: 3,
  checkpointPath: (step) => `/run/checkpoints/step-${step}`, maxFailedStarts: 3, retryBaseMs: 500, resendAfterMs: 900,
};

const cursor = (step: number): TrainCursor => ({ step, shards: { numSamples: 40, virtualShards: 8, seed: 1, epoch: 0, cursors: new Array(8).fill(step) } });

const join = (id: string, now: number, pid = 100): MembershipEvent => ({ kind: 'join', id, host: 'h', pid, backend: 'wasm', now });
const done = (id: string, epoch: number, rank: number, step: number, now: number): MembershipEvent => ({
  kind: 'step.done', now,
  report: { type: 'step.done', workerId: id, epoch, rank, step, dataEpoch: 0, ids: [`${id}-${step}`], metrics: rank === 0 ? { step } : null, cursor: rank === 0 ? cursor(step) : null, computeMs: 1, waitMs: 1 } as StepDone,
});
const saved = (id: string, epoch: number, step: number, now: number): MembershipEvent => ({ kind: 'checkpoint.saved', id, epoch, step, path: `/run/checkpoints/step-${step}`, cursor: cursor(step), now });

/** Folds `events` over `view`; returns the final view and every action, in order. */
function run(view: JobView, events: MembershipEvent[]): { view: JobView; actions: MembershipAction[] } {
  const actions: MembershipAction[] = [];
  for (const e of events) {
    const t = decide(view, e, policy);
    view = t.view;
    actions.push(...t.actions);
  }
  return { view, actions };
}

const kinds = (actions: MembershipAction[]) => actions.filter((a) => a.kind !== 'log' && a.kind !== 'persist').map((a) => (a.kind === 'assign' ? `assign ${a.to}#${a.rank}@${a.epoch}:${a.start.kind}` : a.kind === 'commit' ? `commit ${a.step}` : a.kind === 'end' ? `end ${a.state}` : a.kind === 'join.reply' ? `join.reply ${a.ok}` : a.kind === 'rewind' ? `rewind ${a.step}` : a.kind === 'release' ? `release ${a.to}` : a.kind));

/** Coordinator ticks every 500 ms from `from` to `to` (inclusive). */
const ticks = (from: number, to: number): MembershipEvent[] => Array.from({ length: Math.floor((to - from) / 500) + 1 }, (_, i) => ({ kind: 'tick', now: from + 500 * i }));

const fresh = () => initialView({ kind: 'fresh' }, 2, 0, { step: 0, cursor: null }, []);

/** Two workers joined and running epoch 1. */
function running(): JobView {
  return run(fresh(), [join('w0', 0), join('w1', 10)]).view;
}

describe('membership decisions', () => {
  it('commit: a report for a rank its worker does not hold counts for nothing (w1 reporting as rank 0 first)', () => {
    const { view, actions } = run(running(), [done('w1', 1, 0, 1, 100), done('w1', 1, 1, 1, 101), done('w0', 1, 0, 1, 102)]);
    const commit = actions.find((a) => a.kind === 'commit');
    assert.ok(commit?.kind === 'commit');
    assert.deepEqual(commit.reports.map((r) => [r.rank, r.workerId, r.ids]), [[0, 'w0', ['w0-1']], [1, 'w1', ['w1-1']]]);
    assert.equal(view.committed.step, 1);
    assert.ok(actions.some((a) => a.kind === 'log' && a.msg === 'ignored a step report for a rank its worker does not hold'));
  });

  const cases: Array<{ name: string; start: () => JobView; events: MembershipEvent[]; actions: string[]; check?: (v: JobView) => void }> = [
    {
      name: 'join: the first epoch waits for the whole target, then assigns ranks by join order',
      start: fresh,
      events: [join('w1', 0), join('w0', 5)],
      actions: ['join.reply true', 'join.reply true', 'assign w1#0@1:fresh', 'assign w0#1@1:fresh'],
      check: (v) => assert.deepEqual([v.phase, v.current?.order], ['running', ['w1', 'w0']]),
    },
    {
      name: 'commit: a step is committed once every rank reported it, in rank order; a retried report is ignored',
      start: running,
      events: [done('w1', 1, 1, 1, 100), done('w0', 1, 0, 1, 101), done('w1', 1, 1, 1, 102), done('w0', 1, 0, 1, 103)],
      actions: ['commit 1'],
      check: (v) => {
        assert.equal(v.committed.step, 1);
        assert.deepEqual(v.pending, []);
      },
    },
    {
      name: 'commit: with one worker a retried report of a committed step commits nothing (B2)',
      start: () => run(initialView({ kind: 'fresh' }, 1, 0, { step: 0, cursor: null }, []), [join('w0', 0)]).view,
      events: [done('w0', 1, 0, 1, 10), done('w0', 1, 0, 2, 20), done('w0', 1, 0, 1, 30), done('w0', 1, 0, 2, 40)],
      actions: ['commit 1', 'commit 2'],
    },
    {
      name: 'commit: steps commit in order even if the later one completes first',
      start: running,
      events: [done('w0', 1, 0, 1, 10), done('w0', 1, 0, 2, 11), done('w1', 1, 1, 2, 12), done('w1', 1, 1, 1, 13)],
      actions: ['commit 1', 'commit 2'],
    },
    {
      name: 'leave: a leaving worker pauses with the others at one step; the epoch re-forms without it',
      start: running,
      events: [done('w0', 1, 0, 1, 10), done('w1', 1, 1, 1, 11), { kind: 'paused', id: 'w0', epoch: 1, step: 1, leaving: false, now: 12 }, { kind: 'paused', id: 'w1', epoch: 1, step: 1, leaving: true, now: 13 }],
      actions: ['commit 1', 'assign w0#0@2:snapshot'],
      check: (v) => assert.deepEqual(v.members.map((m) => m.id), ['w0']),
    },
    {
      name: 'loss: a worker silent past the threshold is lost; the survivor rolls back to the committed snapshot',
      start: running,
      events: [done('w0', 1, 0, 1, 10), done('w1', 1, 1, 1, 11), ...ticks(500, 2500), { kind: 'heartbeat', id: 'w0', epoch: 1, backend: '', now: 2900 }, { kind: 'tick', now: 3000 }, { kind: 'tick', now: 3300 }],
      actions: ['commit 1', 'assign w0#0@2:snapshot'],
      check: (v) => {
        assert.equal(v.members.find((m) => m.id === 'w1')?.lost, true);
        assert.deepEqual(verdictFor(v, 'w1'), { jobOver: false, release: false, rejoin: true });
        assert.deepEqual(verdictFor(v, 'w0'), { jobOver: false, release: false, rejoin: false });
      },
    },
    {
      name: 're-admission: a lost worker that joins again is taken back at the next step boundary',
      start: () => run(running(), [done('w0', 1, 0, 1, 10), done('w1', 1, 1, 1, 11), ...ticks(500, 3000), { kind: 'heartbeat', id: 'w0', epoch: 1, backend: '', now: 3200 }, { kind: 'tick', now: 3300 }]).view,
      events: [join('w1', 4000), done('w0', 2, 0, 2, 4100), { kind: 'paused', id: 'w0', epoch: 2, step: 2, leaving: false, now: 4200 }],
      actions: ['join.reply true', 'pause', 'commit 2', 'assign w0#0@3:snapshot', 'assign w1#1@3:snapshot'],
      check: (v) => assert.deepEqual(verdictFor(v, 'w1').rejoin, false),
    },
    {
      name: 'no survivors: restart from the newest checkpoint of a committed step, rewinding the logs only to it (B1)',
      start: () => run(running(), [done('w0', 1, 0, 1, 10), done('w1', 1, 1, 1, 11), saved('w0', 1, 1, 12), done('w0', 1, 0, 2, 20), done('w1', 1, 1, 2, 21), saved('w0', 1, 3, 22)]).view,
      events: [...ticks(500, 3500), join('w0', 3600, 200), join('w1', 3700, 201)],
      actions: ['rewind 1', 'join.reply true', 'assign w0#0@2:checkpoint', 'join.reply true', 'pause'],
      check: (v) => {
        assert.equal(v.committed.step, 1);
        assert.equal(v.next.kind, 'checkpoint');
      },
    },
    {
      name: 'join identity: a join for a live id from another process is refused (retryable); after the threshold it is a restart (B18)',
      start: running,
      events: [join('w0', 1000, 999), { kind: 'heartbeat', id: 'w1', epoch: 1, backend: '', now: 4100 }, join('w0', 4200, 999), { kind: 'tick', now: 4500 }, { kind: 'tick', now: 4800 }],
      actions: ['join.reply false', 'join.reply true', 'assign w1#0@2:fresh', 'assign w0#1@2:fresh'],
    },
    {
      name: 'failed starts back off, fall back to checkpoints, then fail the job naming where to resume',
      start: () => run(running(), [done('w0', 1, 0, 1, 10), done('w1', 1, 1, 1, 11), saved('w0', 1, 1, 12)]).view,
      events: [
        { kind: 'fault', id: 'w0', epoch: 1, silentRanks: [], message: 'x', now: 100 },
        { kind: 'fault', id: 'w0', epoch: 2, silentRanks: [], message: 'y', now: 200 },
        { kind: 'tick', now: 300 },
        { kind: 'tick', now: 800 },
        { kind: 'fault', id: 'w0', epoch: 3, silentRanks: [], message: 'z', now: 900 },
        { kind: 'tick', now: 1400 }, { kind: 'tick', now: 2000 },
        { kind: 'fault', id: 'w0', epoch: 4, silentRanks: [], message: 'last', now: 2100 },
      ],
      actions: ['assign w0#0@2:snapshot', 'assign w1#1@2:snapshot', 'assign w0#0@3:checkpoint', 'assign w1#1@3:checkpoint', 'assign w0#0@4:checkpoint', 'assign w1#1@4:checkpoint', 'end failed'],
      check: (v) => assert.match(v.reason!, /3 epochs in a row failed before committing a step \(last: last\); the last committed checkpoint is step 1 \(\/run\/checkpoints\/step-1\)/),
    },
    {
      name: 'no workers: after dist.no_workers_timeout_ms the job fails instead of waiting forever',
      start: fresh,
      events: [{ kind: 'tick', now: 0 }, { kind: 'tick', now: 10_000 }, { kind: 'tick', now: 20_001 }],
      actions: ['end failed'],
      check: (v) => assert.match(v.reason!, /no worker for 20 s/),
    },
    {
      name: 'stop: every rank pauses, rank 0 checkpoints that step, then the job ends stopped',
      start: () => run(running(), [done('w0', 1, 0, 1, 10), done('w1', 1, 1, 1, 11)]).view,
      events: [{ kind: 'stop', now: 20 }, { kind: 'paused', id: 'w0', epoch: 1, step: 1, leaving: false, now: 30 }, { kind: 'paused', id: 'w1', epoch: 1, step: 1, leaving: false, now: 31 }, saved('w0', 1, 1, 32)],
      actions: ['pause', 'checkpoint', 'end stopped'],
      check: (v) => assert.equal(v.reason, 'stopped on request at step 1'),
    },
    {
      name: 'stop before training started ends at once',
      start: fresh,
      events: [join('w0', 0), { kind: 'stop', now: 5 }],
      actions: ['join.reply true', 'end stopped'],
    },
    {
      name: 'coordinator restart: a resumed view continues the epoch numbers and starts from the checkpoint',
      start: () => initialView({ kind: 'checkpoint', path: '/run/checkpoints/step-4', cursor: cursor(4) }, 2, 7, { step: 4, cursor: cursor(4) }, [{ step: 4, path: '/run/checkpoints/step-4', savedAt: '', cursor: cursor(4) }]),
      events: [join('w0', 0), join('w1', 1), done('w0', 8, 0, 4, 2), done('w0', 8, 0, 5, 3), done('w1', 8, 1, 5, 4)],
      actions: ['join.reply true', 'join.reply true', 'assign w0#0@8:checkpoint', 'assign w1#1@8:checkpoint', 'commit 5'],
    },
    {
      name: 'finish: done once every rank finished and the last step is committed and checkpointed',
      start: () => run(initialView({ kind: 'fresh' }, 1, 0, { step: 9, cursor: cursor(9) }, []), [join('w0', 0)]).view,
      events: [done('w0', 1, 0, 10, 1), { kind: 'finished', id: 'w0', epoch: 1, step: 10, now: 2 }, saved('w0', 1, 10, 3)],
      actions: ['commit 10', 'checkpoint', 'end done'],
    },
    {
      name: 'a lost assignment: a member whose heartbeats name an older epoch gets it again, not more often than resendAfterMs',
      start: running,
      events: [{ kind: 'heartbeat', id: 'w1', epoch: 0, backend: '', now: 500 }, { kind: 'heartbeat', id: 'w1', epoch: 0, backend: '', now: 1000 }, { kind: 'heartbeat', id: 'w1', epoch: 0, backend: '', now: 1500 }, { kind: 'heartbeat', id: 'w1', epoch: 1, backend: '', now: 2000 }, { kind: 'heartbeat', id: 'w1', epoch: 0, backend: '', now: 2100 }],
      actions: ['assign w1#1@1:fresh', 'assign w1#1@1:fresh'],
    },
    {
      name: 'a member that joins again has left its epoch: the epoch is re-formed',
      start: () => run(running(), [done('w0', 1, 0, 1, 10), done('w1', 1, 1, 1, 11)]).view,
      events: [join('w1', 500)],
      actions: ['join.reply true', 'assign w0#0@2:snapshot', 'assign w1#1@2:snapshot'],
    },
    {
      name: 'a coordinator that was not running (a long tick gap) does not blame the workers',
      start: running,
      events: [{ kind: 'tick', now: 100 }, { kind: 'tick', now: 9000 }],
      actions: [],
      check: (v) => assert.deepEqual(v.members.map((m) => m.lost), [false, false]),
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const { view, actions } = run(c.start(), c.events);
      assert.deepEqual(kinds(actions), c.actions);
      c.check?.(view);
    });
  }

  it('is pure: the input view is not changed', () => {
    const before = running();
    const copy = structuredClone(before);
    decide(before, done('w0', 1, 0, 1, 5), policy);
    decide(before, { kind: 'tick', now: 10_000 }, policy);
    assert.deepEqual(before, copy);
  });
});
