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

/**
 * Servers in the cluster the connection belongs to: as many as it was given URLs, or as its
 * server announces (`connect_urls`, itself included) when that is more. The configured list
 * counts because the announcement lags while a cluster (re)forms.
 */
export function natsClusterSize(transport: NatsTransport): number {
  return Math.max(1, transport.serverUrls.length, transport.connection.info?.connect_urls?.length ?? 1);
}

/**
 * The job's bucket, replicated min(3, cluster size) times. A cluster that is still forming (no
 * JetStream meta leader yet: a coordinator pod may start before the NATS pods are ready) is
 * waited for up to `waitMs`; a server without JetStream at all gets the in-memory stand-in.
 */
export async function openJobStore(transport: NatsTransport, job: string, log: Logger, waitMs = 60_000): Promise<KeyValueStore> {
  const bucket = `instructue-${job}`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const replicas = Math.min(3, natsClusterSize(transport));
    try {
      const store = await NatsKeyValue.open(transport, bucket, { replicas });
      log.info('job store open', { bucket, replicas });
      return store;
    } catch (err) {
      const noJetStream = /no responders|503|not enabled/i.test(String((err as { cause?: Error }).cause?.message ?? '') + String((err as { cause?: { code?: string } }).cause?.code ?? ''));
      if (noJetStream || Date.now() > deadline) {
        log.warn('JetStream key-value store unavailable; job state lives in memory only (a restarted coordinator resumes from checkpoints only with --resume)', { error: (err as Error).message });
        return new MemoryKeyValue(bucket);
      }
      log.info('JetStream not ready yet (cluster forming?); retrying', { error: (err as Error).message });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
