/**
 * @module coordinator/job-record
 * The durable job state in the key-value store (JetStream KV in a cluster): enough for a
 * restarted coordinator to know that a job was running, its last epoch (new epochs must be
 * newer, so stale traffic is dropped) and its last checkpoint.
 */
import type { KeyValueStore } from '../transport/key-value.js';
import type { JobState } from '../control/status.js';

export interface JobRecord {
  job: string;
  incarnation: string;
  state: JobState;
  epoch: number;
  committedStep: number;
  checkpoint: { step: number; path: string } | null;
  runDir: string;
  updatedAt: string;
  /** Times the job was resumed (`instructue_resumes_total`); absent in records of older coordinators. */
  resumes?: number;
}

const KEY = 'job';

export class JobRecordStore {
  constructor(private readonly kv: KeyValueStore) {}

  async read(): Promise<JobRecord | null> {
    const entry = await this.kv.get(KEY);
    return entry ? (JSON.parse(new TextDecoder().decode(entry.value)) as JobRecord) : null;
  }

  async write(record: JobRecord): Promise<void> {
    await this.kv.put(KEY, new TextEncoder().encode(JSON.stringify(record)));
  }
}
