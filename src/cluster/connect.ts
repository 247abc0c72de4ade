/**
 * @module cluster/connect
 * Connecting an instructue process to NATS, with credentials from the environment
 * (INSTRUCTUE_NATS_USER / INSTRUCTUE_NATS_PASS or INSTRUCTUE_NATS_TOKEN — on Kubernetes from a
 * Secret), and opening the job's key-value bucket (JetStream; an in-memory stand-in with a
 * warning when the server has no JetStream, which loses coordinator-restart recovery).
 */
import type { KeyValueStore } from '../dist/key-value.js';
import { MemoryKeyValue } from '../dist/memory-key-value.js';
import { NatsKeyValue } from '../dist/nats-key-value.js';
import { NatsTransport } from '../dist/nats-transport.js';
import type { Logger } from '../log.js';

export async function connectNats(url: string, name: string, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<NatsTransport> {
  const user = env.INSTRUCTUE_NATS_USER;
  const token = env.INSTRUCTUE_NATS_TOKEN;
  return NatsTransport.connect(url, {
    name, log, waitOnFirstConnect: true,
    ...(user ? { user, pass: env.INSTRUCTUE_NATS_PASS ?? '' } : {}),
    ...(token ? { token } : {}),
  });
}

export async function openJobStore(transport: NatsTransport, job: string, log: Logger): Promise<KeyValueStore> {
  try {
    return await NatsKeyValue.open(transport, `instructue-${job}`);
  } catch (err) {
    log.warn('JetStream key-value store unavailable; job state lives in memory only (a restarted coordinator resumes from checkpoints only with --resume)', { error: (err as Error).message });
    return new MemoryKeyValue(`instructue-${job}`);
  }
}
