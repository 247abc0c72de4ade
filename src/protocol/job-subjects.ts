/**
 * @module protocol/job-subjects
 * NATS subjects between the coordinator and the workers of one job (the collectives use their
 * own per-epoch subjects, src/collectives/collective-subjects.ts):
 *
 *   {job}.coord.join        worker → coordinator, request/reply (JoinRequest → JoinReply)
 *   {job}.coord.events      worker → coordinator (WorkerEvent)
 *   {job}.w.{workerId}      coordinator → one worker (AssignMessage)
 *   {job}.all               coordinator → every worker (CoordinatorBroadcast)
 */

/** Worker ids become subject tokens: keep letters, digits, `-` and `_`. */
export function workerToken(workerId: string): string {
  return workerId.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function jobSubjects(job: string) {
  return {
    join: `${job}.coord.join`,
    events: `${job}.coord.events`,
    worker: (workerId: string) => `${job}.w.${workerToken(workerId)}`,
    all: `${job}.all`,
  };
}
