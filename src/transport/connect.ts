/**
 * @module transport/connect
 * Connecting an instructue process to NATS (credentials and TLS from the config, which takes
 * them from INSTRUCTUE_NATS_* — on Kubernetes from Secrets; the URL may list the servers of a
 * cluster, comma-separated), and opening the job's key-value bucket (JetStream, replicated
 * min(3, cluster size) times; an in-memory stand-in with a warning when the server has no
 * JetStream, which loses coordinator-restart recovery).
 */
import type { KeyValueStore } from './key-value.js';
import { MemoryKeyValue } from './memory-key-value.js';
import { NatsKeyValue } from './nats-key-value.js';
import { NatsTransport } from './nats-transport.js';
import type { Frozen } from '../config/load.js';
import type { InstructueConfig } from '../config/schema.js';
import { checkNatsCredentials, natsTlsFiles, natsTransportOptions } from './nats-credentials.js';
import type { Logger } from '../log.js';

/**
 * Connects with the credentials of `dist.nats_*` and the TLS files of `control.nats_tls_*`
 * (both usually from the environment; a worker, which has no config file, passes the config
 * of defaults + environment).
 */
export async function connectNats(url: string, name: string, config: Frozen<InstructueConfig>, log: Logger): Promise<NatsTransport> {
  checkNatsCredentials(config.dist);
  const tls = natsTlsFiles(config.control);
  return NatsTransport.connect(url, { ...natsTransportOptions(config.dist, name, log), ...(tls ? { tls } : {}), waitOnFirstConnect: true });
}

/** Servers in the cluster the connection belongs to: the client URLs its server announces (itself included), or 1. */
export function natsClusterSize(transport: NatsTransport): number {
  return Math.max(1, transport.connection.info?.connect_urls?.length ?? 1);
}

export async function openJobStore(transport: NatsTransport, job: string, log: Logger): Promise<KeyValueStore> {
  const replicas = Math.min(3, natsClusterSize(transport));
  try {
    const store = await NatsKeyValue.open(transport, `instructue-${job}`, { replicas });
    log.info('job store open', { bucket: `instructue-${job}`, replicas });
    return store;
  } catch (err) {
    log.warn('JetStream key-value store unavailable; job state lives in memory only (a restarted coordinator resumes from checkpoints only with --resume)', { error: (err as Error).message });
    return new MemoryKeyValue(`instructue-${job}`);
  }
}
