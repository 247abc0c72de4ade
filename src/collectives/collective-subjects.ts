/**
 * @module collectives/collective-subjects
 * The NATS subjects of one membership epoch's collectives. Every subject starts with the
 * sender's peer prefix (`{job}.p.{sender}`, src/protocol/job-subjects.ts), so nats-server's
 * per-worker permissions let a worker publish only as itself, and a receiver drops a frame
 * whose sender token is not the member of the rank it claims (`senderIsRank`). The epoch is part
 * of every subject, so a new epoch's ranks never even receive an old epoch's traffic; the chunk
 * header carries job and epoch again, as a second check.
 *
 *   {job}.p.{sender}.e{epoch}.c.{op}.to.{rank}     chunks for one rank (reduce-scatter, acks, retransmits)
 *   {job}.p.{sender}.e{epoch}.c.{op}.from.{rank}   chunks a rank fans out (all-reduce results, all-gather, broadcast)
 *   {job}.p.{sender}.e{epoch}.ctl.to.{rank}        retransmit requests and flow credit for one rank
 *   {job}.p.{sender}.e{epoch}.ctl.all              aborts
 *
 * Striped over K > 1 data connections, chunk subjects end in a stripe token `.s{τ}` (`stripes.ts`).
 * Without member ids (tests of the collectives alone) rank r's sender token is `r{r}`.
 */
import { jobSubjects, workerToken } from '../protocol/job-subjects.js';

export class CollectiveSubjects {
  /** Sender token of each rank. */
  private readonly senders: string[];
  /** `{job}.p.` */
  private readonly base: string;
  /** `.e{epoch}` */
  private readonly epochToken: string;

  constructor(job: string, epoch: number, private readonly rank: number, worldSize: number, members?: readonly string[]) {
    if (members && members.length !== worldSize) throw new RangeError(`${members.length} member ids for a world of ${worldSize}`);
    this.senders = Array.from({ length: worldSize }, (_, r) => (members ? workerToken(members[r] as string) : `r${r}`));
    this.base = `${jobSubjects(job).anyPeer.slice(0, -1)}`;
    this.epochToken = `.e${epoch}`;
  }

  /** Chunks this rank sends to `rank`. */
  toRank(op: string, rank: number, stripe?: number): string {
    return `${this.prefix(this.rank)}.c.${op}.to.${rank}${token(stripe)}`;
  }

  /** Chunks `rank` fans out (this rank publishes its own; receivers subscribe to a peer's). */
  fromRank(op: string, rank: number, stripe?: number): string {
    return `${this.prefix(rank)}.c.${op}.from.${rank}${token(stripe)}`;
  }

  /** Everything addressed to `rank`, any op, any sender (of one stripe token). */
  inbox(rank: number, stripe?: number): string {
    return `${this.base}*${this.epochToken}.c.*.to.${rank}${token(stripe)}`;
  }

  /** Everything `rank` fans out, any op (of one stripe token): only its own member's subjects. */
  fanOut(rank: number, stripe?: number): string {
    return `${this.prefix(rank)}.c.*.from.${rank}${token(stripe)}`;
  }

  /** Where this rank sends control messages for `rank`. */
  controlTo(rank: number): string {
    return `${this.prefix(this.rank)}.ctl.to.${rank}`;
  }

  /** Control messages for `rank`, from any sender. */
  controlInbox(rank: number): string {
    return `${this.base}*${this.epochToken}.ctl.to.${rank}`;
  }

  /** Where this rank sends aborts. */
  get abortsOut(): string {
    return `${this.prefix(this.rank)}.ctl.all`;
  }

  /** Aborts from any sender. */
  get controlAll(): string {
    return `${this.base}*${this.epochToken}.ctl.all`;
  }

  /** The sender token of a subject. */
  senderOf(subject: string): string {
    return subject.slice(this.base.length, subject.indexOf('.', this.base.length));
  }

  /** Whether `subject` was sent by the member that holds `rank` in this epoch. */
  senderIsRank(subject: string, rank: number): boolean {
    const expected = this.senders[rank];
    return expected !== undefined && subject.startsWith(expected, this.base.length) && subject.charCodeAt(this.base.length + expected.length) === 46; // '.'
  }

  /** The op token of a chunk subject. */
  opOf(subject: string): string {
    const start = subject.indexOf('.', this.base.length) + this.epochToken.length + 3; // after "{sender}.e{epoch}.c."
    return subject.slice(start, subject.indexOf('.', start));
  }

  /** `{job}.p.{sender of rank}.e{epoch}` */
  private prefix(rank: number): string {
    return `${this.base}${this.senders[rank]}${this.epochToken}`;
  }
}

function token(stripe: number | undefined): string {
  return stripe === undefined ? '' : `.s${stripe}`;
}
