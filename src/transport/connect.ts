/**
 * @module transport/connect
 * Connecting an instructue process to NATS (credentials and TLS from the config, which takes
 * them from INSTRUCTUE_NATS_* — on Kubernetes from Secrets), and opening the job's key-value
 * bucket (JetStream; an in-memory stand-in with a warning when the server has no JetStream,
 * which loses coordinator-restart recovery).
 */
import type { KeyValueStore } from './key-value.js';
import { MemoryKeyValue } from './memory-key-value.js';
import { NatsKeyValue } from './nats-key-value.js';
import { NatsTransport } from './nats-transport.js';
import { checkNatsCredentials, natsTlsFiles, natsTransportOptions, type NatsClientSettings } from './nats-credentials.js';
import type { Logger } from '../log.js';

/**
 * Connects with the credentials of `dist.nats_*` and the TLS files of `control.nats_tls_*`: a
 * loaded config (coordinator, launcher), or `natsClientSettingsFromEnv()` (a worker, which has
 * no config file).
 */
export async function connectNats(url: string, name: string, settings: NatsClientSettings, log: Logger): Promise<NatsTransport> {
  checkNatsCredentials(settings.dist);
  const tls = natsTlsFiles(settings.control);
  return NatsTransport.connect(url, { ...natsTransportOptions(settings.dist, name, log), ...(tls ? { tls } : {}), waitOnFirstConnect: true });
}

export async function openJobStore(transport: NatsTransport, job: string, log: Logger): Promise<KeyValueStore> {
  try {
    return await NatsKeyValue.open(transport, `instructue-${job}`);
  } catch (err) {
    log.warn('JetStream key-value store unavailable; job state lives in memory only (a restarted coordinator resumes from checkpoints only with --resume)', { error: (err as Error).message });
    return new MemoryKeyValue(`instructue-${job}`);
  }
}
