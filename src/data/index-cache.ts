/**
 * @module data/index-cache
 * Where a data file's random-access index (and, for `.jsonl.gz`, its decompressed copy) is
 * cached, and the cache's binary format. Gzip streams cannot be entered in the middle, so a
 * `.gz` shard is decompressed once into the cache and indexed there; plain files are read in
 * place. A cache entry is keyed by the source file's size and mtime and rebuilt when either
 * changes. Files are written to a temporary name and renamed, so concurrent workers opening the
 * same data either see a complete entry or build their own. The entry also keeps the content
 * hash taken while indexing, so the data fingerprint (src/data/fingerprint.ts) of a cached data
 * set costs no read. A corrupt or truncated `.gz` fails with a `DataError` naming the file and
 * its last complete line.
 *
 * Format of `<name>.idx`: 8 bytes magic `IUEIDX01`, uint32 LE header length, the UTF-8 JSON
 * header (`{version, size, mtimeMs, readSize, count, invalidCount, invalid, sha256}`), zero
 * padding to a multiple of 8, then `count` float64 offsets, `count` uint32 line numbers,
 * `count` uint32 lengths and `count` uint32 topic keys (LE).
 */
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { isGzip } from './files.js';
import { buildLineIndex, type InvalidLine, type LineIndex } from './line-index.js';
import { gzipDataError, isZlibError } from './lines.js';

const MAGIC = 'IUEIDX01';
/** Bump when validation rules or the format change, so stale caches are rebuilt (2: content hash, 3: topic keys). */
const INDEX_VERSION = 3;

interface Header {
  version: number;
  size: number;
  mtimeMs: number;
  /** Size of the file random reads go to (the decompressed copy of a .gz). */
  readSize: number;
  count: number;
  invalidCount: number;
  invalid: InvalidLine[];
  sha256: string;
}

/** A file's index, the path random reads go to, and the source file's size and mtime it was built from. */
export interface CachedIndex extends LineIndex {
  readPath: string;
  size: number;
  mtimeMs: number;
}

/**
 * The index of `file`, from the cache when it is current, else built (and cached). The cache
 * folder is `cacheRoot/<hash of the data folder>` when `cacheRoot` is set, else
 * `.instructue-cache/` beside the data; if that cannot be written, the OS temp folder is used.
 */
export async function loadIndex(file: string, cacheRoot: string, log: Logger): Promise<CachedIndex> {
  const { size, mtimeMs } = statSync(file);
  const folder = cacheFolder(file, cacheRoot, log);
  const idxPath = join(folder, `${basename(file)}.idx`);
  const readPath = isGzip(file) ? join(folder, basename(file).replace(/\.gz$/, '')) : file;
  const cached = readIndexFile(idxPath, size, mtimeMs, readPath);
  if (cached) return { ...cached, readPath, size, mtimeMs };
  if (readPath !== file) {
    log.info('decompressing data file for random access', { file, to: readPath });
    await gunzipFile(file, readPath);
  }
  const index = await buildLineIndex(readPath, file);
  writeIndexFile(idxPath, index, size, mtimeMs, statSync(readPath).size);
  return { ...index, readPath, size, mtimeMs };
}

/**
 * Decompresses `file` into `to` (via a temp name), counting complete lines as they pass so a
 * zlib failure becomes the DataError of `file` naming its last complete line.
 */
async function gunzipFile(file: string, to: string): Promise<void> {
  const tmp = `${to}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let lines = 0;
  try {
    const raw = createReadStream(file, { highWaterMark: 1 << 20 });
    const gunzip = raw.pipe(createGunzip({ chunkSize: 1 << 20 }));
    raw.on('error', (err) => gunzip.destroy(err));
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      writeSync(fd, chunk);
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    }
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw isZlibError(err) ? gzipDataError(file, lines, err) : err;
  }
  closeSync(fd);
  renameSync(tmp, to);
}

function cacheFolder(file: string, cacheRoot: string, log: Logger): string {
  const dataDir = resolve(dirname(file));
  const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const preferred = cacheRoot === '' ? join(dataDir, '.instructue-cache') : join(cacheRoot, key);
  for (const folder of [preferred, join(tmpdir(), 'instructue-cache', key)]) {
    try {
      mkdirSync(folder, { recursive: true });
      accessSync(folder, constants.W_OK);
      return folder;
    } catch (err) {
      log.warn('data cache folder not writable; trying the next', { folder, error: (err as Error).message });
    }
  }
  throw new ConfigError(`no writable cache folder for the index of ${file}; set data.cache_dir to a writable folder`);
}

function readIndexFile(path: string, size: number, mtimeMs: number, readPath: string): LineIndex | null {
  if (!existsSync(path) || !existsSync(readPath)) return null;
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) return null;
  const headerLen = buf.readUInt32LE(8);
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + headerLen)) as Header;
  } catch {
    return null;
  }
  const stale = header.version !== INDEX_VERSION || header.size !== size || header.mtimeMs !== mtimeMs;
  if (stale || header.readSize !== statSync(readPath).size) return null;
  const n = header.count;
  const start = align8(12 + headerLen);
  if (buf.length !== start + n * 20) return null;
  // Copy into fresh (aligned) typed arrays; the file buffer may sit at any byte offset.
  const bytes = (from: number, len: number) => buf.buffer.slice(buf.byteOffset + from, buf.byteOffset + from + len);
  return {
    offsets: new Float64Array(bytes(start, n * 8)),
    lines: new Uint32Array(bytes(start + n * 8, n * 4)),
    lengths: new Uint32Array(bytes(start + n * 12, n * 4)),
    topics: new Uint32Array(bytes(start + n * 16, n * 4)),
    invalidCount: header.invalidCount,
    invalid: header.invalid,
    sha256: header.sha256,
  };
}

function writeIndexFile(path: string, index: LineIndex, size: number, mtimeMs: number, readSize: number): void {
  const n = index.lines.length;
  const header: Header = { version: INDEX_VERSION, size, mtimeMs, readSize, count: n, invalidCount: index.invalidCount, invalid: index.invalid, sha256: index.sha256 };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align8(12 + json.length);
  const buf = Buffer.alloc(start + n * 20);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(json.length, 8);
  json.copy(buf, 12);
  Buffer.from(index.offsets.buffer, index.offsets.byteOffset, n * 8).copy(buf, start);
  Buffer.from(index.lines.buffer, index.lines.byteOffset, n * 4).copy(buf, start + n * 8);
  Buffer.from(index.lengths.buffer, index.lengths.byteOffset, n * 4).copy(buf, start + n * 12);
  Buffer.from(index.topics.buffer, index.topics.byteOffset, n * 4).copy(buf, start + n * 16);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, buf);
  renameSync(tmp, path);
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
