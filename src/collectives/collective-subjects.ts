/**
 * @module collectives/collective-subjects
 * The NATS subjects of one membership epoch's collectives. The epoch is part of every subject,
 * so a new epoch's ranks never even receive an old epoch's traffic; the chunk header carries
 * job and epoch again, as a second check.
 *
 *   {job}.e{epoch}.c.{op}.to.{rank}     chunks for one rank (reduce-scatter, acks, retransmits)
 *   {job}.e{epoch}.c.{op}.from.{rank}   chunks a rank fans out (all-reduce results, all-gather, broadcast)
 *   {job}.e{epoch}.ctl.to.{rank}        retransmit requests and flow credit for one rank
 *   {job}.e{epoch}.ctl.all              aborts
 *
 * Striped over K > 1 data connections, chunk subjects end in a stripe token `.s{τ}` (`stripes.ts`).
 */

export class CollectiveSubjects {
  readonly prefix: string;

  constructor(job: string, epoch: number) {
    this.prefix = `${job}.e${epoch}`;
  }

  toRank(op: string, rank: number, stripe?: number): string {
    return `${this.prefix}.c.${op}.to.${rank}${token(stripe)}`;
  }

  fromRank(op: string, rank: number, stripe?: number): string {
    return `${this.prefix}.c.${op}.from.${rank}${token(stripe)}`;
  }

  /** Everything addressed to `rank`, any op (of one stripe token). */
  inbox(rank: number, stripe?: number): string {
    return `${this.prefix}.c.*.to.${rank}${token(stripe)}`;
  }

  /** Everything `rank` fans out, any op (of one stripe token). */
  fanOut(rank: number, stripe?: number): string {
    return `${this.prefix}.c.*.from.${rank}${token(stripe)}`;
  }

  control(rank: number): string {
    return `${this.prefix}.ctl.to.${rank}`;
  }

  get controlAll(): string {
    return `${this.prefix}.ctl.all`;
  }

  /** The op token of a chunk subject. */
  opOf(subject: string): string {
    const start = this.prefix.length + 3; // after "{prefix}.c."
    return subject.slice(start, subject.indexOf('.', start));
  }
}

function token(stripe: number | undefined): string {
  return stripe === undefined ? '' : `.s${stripe}`;
}
