/**
 * @module eval/embed-worker-main
 * The child process of `embed --workers N` (forked by src/eval/embed-workers.ts): loads the
 * trained model, reads its range of samples through the random-access index, embeds them with
 * the batched path and sends the rows back over IPC. Errors go back as `{name, code, message}`.
 */
import { Dataset } from '../data/dataset.js';
import { encodeContextOf } from '../model/encode-context.js';
import type { Sample } from '../data/types.js';
import { toWire } from '../errors.js';
import { createLogger } from '../log.js';
import { loadTrainedModel } from '../train/load-trained.js';
import { embedMany } from './batched-embed.js';
import type { WorkerMessage, WorkerStart } from './embed-workers.js';

const send = (m: WorkerMessage) => new Promise<void>((resolve, reject) => process.send!(m, undefined, {}, (err) => (err ? reject(err) : resolve())));

async function run(start: WorkerStart): Promise<void> {
  const log = createLogger({ command: 'embed', role: 'embed-worker', range: `${start.start}-${start.end}` }, { level: 'warn' });
  const trained = await loadTrainedModel({ run: start.run, checkpoint: start.checkpoint, backend: start.backend, log });
  const ds = await Dataset.open(start.data, { onInvalid: start.onInvalid, log });
  try {
    async function* samples(): AsyncGenerator<Sample> {
      for (let i = start.start; i < start.end; i += start.chunk) {
        const indices = Array.from({ length: Math.min(start.chunk, start.end - i) }, (_, k) => i + k);
        yield* await ds.get(indices);
      }
    }
    const files = await embedMany(trained.built.model, samples(), {
      context: encodeContextOf(trained.config, trained.built, trained.tabularSchema),
      jobs: start.jobs, batch: start.batch, chunk: start.chunk,
      onProgress: (done) => void send({ type: 'progress', done }),
    });
    await send({ type: 'result', checkpoint: trained.checkpoint, files: files.map((f) => ({ embeddings: f.embeddings, userIds: f.userIds, d: f.d })) });
  } finally {
    await ds.close();
    trained.built.model.dispose();
  }
}

process.once('message', (m: WorkerStart) => {
  run(m).then(
    () => process.disconnect(),
    async (err: unknown) => {
      await send({ type: 'error', error: toWire(err) }).catch(() => undefined);
      process.exitCode = 1;
      process.disconnect();
    },
  );
});
