/**
 * @module protocol/job-subjects
 * NATS subjects between the coordinator and the workers of one job, and the subject
 * permissions of a worker's identity:
 *
 *   {job}.coord.join.{workerId}     worker → coordinator, request/reply (JoinRequest → JoinReply)
 *   {job}.coord.events.{workerId}   worker → coordinator (WorkerEvent)
 *   {job}.w.{workerId}              coordinator → one worker (AssignMessage)
 *   {job}.all                       coordinator → every worker (CoordinatorBroadcast)
 *   {job}.p.{workerId}.…            what a worker sends its peers (collectives, collective-subjects.ts)
 *
 * The sender's id is a token of every subject a worker publishes to, so nats-server's per-user
 * permissions (`workerPermissions`) can let a worker speak only as itself, and the receiver
 * checks the token against the id the message claims (`senderOf`): a worker with its own NATS
 * user cannot report as another one.
 */

/** Worker ids become subject tokens: keep letters, digits, `-` and `_`. */
export function workerToken(workerId: string): string {
  return workerId.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function jobSubjects(job: string) {
  return {
    join: (workerId: string) => `${job}.coord.join.${workerToken(workerId)}`,
    events: (workerId: string) => `${job}.coord.events.${workerToken(workerId)}`,
    /** What the coordinator subscribes to: every worker's joins / events. */
    anyJoin: `${job}.coord.join.*`,
    anyEvents: `${job}.coord.events.*`,
    worker: (workerId: string) => `${job}.w.${workerToken(workerId)}`,
    all: `${job}.all`,
    /** The prefix of everything a worker sends its peers (collectives). */
    peer: (workerId: string) => `${job}.p.${workerToken(workerId)}`,
    /** Every peer's prefix (a receiver's subscription; it checks the sender token). */
    anyPeer: `${job}.p.*`,
  };
}

/** The sender token (last token) of a join or event subject. */
export function senderOf(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** Whether a message that claims to come from `workerId` arrived on that worker's own subject. */
export function sentBy(subject: string, workerId: string): boolean {
  return senderOf(subject) === workerToken(workerId);
}

/**
 * The nats-server permissions of worker `workerId` of `job`: it publishes only on its own
 * subjects (joins, events, its peer traffic) and subscribes to what a worker reads (its own
 * direct subject, the broadcasts, its peers' traffic, request inboxes). No JetStream, no other
 * job, no other worker's direct messages (which carry assignments).
 */
export function workerPermissions(job: string, workerId: string): { publish: string[]; subscribe: string[] } {
  const s = jobSubjects(job);
  return {
    publish: [s.join(workerId), s.events(workerId), `${s.peer(workerId)}.>`],
    subscribe: [s.worker(workerId), s.all, `${s.anyPeer}.>`, '_INBOX.>'],
  };
}
