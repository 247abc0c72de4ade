/**
 * @module eval/embeddings-file
 * The on-disk form of exported user embeddings, shared by `instructue embed` (writer) and
 * `instructue probe` (reader): a safetensors file with one F32 tensor `embeddings` [N, d], and
 * beside it `<file>.ids.json`, a JSON array of the N user ids in row order. Ids stay out of the
 * safetensors header because headers are capped at 100 MB and meant for tensor metadata.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ConfigError, WeightsError } from '../errors.js';
import { readSafetensors, writeSafetensors } from '../weights/safetensors.js';

/** The tensor name of the embedding matrix. */
export const EMBEDDINGS_TENSOR = 'embeddings';

/** Exported embeddings: row i of the n×d matrix belongs to userIds[i]. */
export interface EmbeddingsFile {
  embeddings: Float32Array;
  n: number;
  d: number;
  userIds: string[];
}

/** The sidecar path holding the user ids of an embeddings file. */
export function idsSidecarPath(path: string): string {
  return `${path}.ids.json`;
}

/** Writes the safetensors file and its ids sidecar (each written atomically, ids first). */
export async function writeEmbeddingsFile(path: string, file: EmbeddingsFile): Promise<void> {
  const { embeddings, n, d, userIds } = file;
  if (embeddings.length !== n * d || userIds.length !== n) {
    throw new RangeError(`embeddings file: ${embeddings.length} values and ${userIds.length} ids do not fit n=${n}, d=${d}`);
  }
  const idsPath = idsSidecarPath(path);
  await writeFile(`${idsPath}.tmp-${process.pid}`, JSON.stringify(userIds));
  await rename(`${idsPath}.tmp-${process.pid}`, idsPath);
  await writeSafetensors(path, { [EMBEDDINGS_TENSOR]: { dtype: 'float32', shape: [n, d], data: embeddings } });
}

/** Reads an embeddings file and its ids sidecar, checking that they agree. */
export async function readEmbeddingsFile(path: string): Promise<EmbeddingsFile> {
  const { tensors } = await readSafetensors(path);
  const tensor = tensors.get(EMBEDDINGS_TENSOR);
  if (!tensor) {
    throw new WeightsError(`${path}: no tensor "${EMBEDDINGS_TENSOR}" (found: ${[...tensors.keys()].join(', ') || 'none'}); write it with \`instructue embed\``);
  }
  if (tensor.dtype !== 'float32' || tensor.shape.length !== 2) {
    throw new WeightsError(`${path}: tensor "${EMBEDDINGS_TENSOR}" must be a float matrix [N, d]; got ${tensor.dtype} ${JSON.stringify(tensor.shape)}`);
  }
  const [n, d] = tensor.shape;
  const idsPath = idsSidecarPath(path);
  let userIds: unknown;
  try {
    userIds = JSON.parse(await readFile(idsPath, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${idsPath}: cannot read the user ids of ${path} (${(err as Error).message}); it must be a JSON array of the ${n} user ids in row order`, { cause: err });
  }
  if (!Array.isArray(userIds) || !userIds.every((id) => typeof id === 'string')) {
    throw new ConfigError(`${idsPath}: must be a JSON array of strings (the user ids in row order)`);
  }
  if (userIds.length !== n) {
    throw new ConfigError(`${idsPath}: holds ${userIds.length} user ids but ${path} has ${n} embedding rows; export them together`);
  }
  return { embeddings: tensor.data as Float32Array, n, d, userIds };
}
