/**
 * @module data/files
 * Which files make a data set: one `.jsonl` / `.jsonl.gz` file, or every such file directly in a
 * folder, in name order. A file's stem (name without the extension) prefixes its sample ids, so
 * stems must be unique within a data set.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError } from '../errors.js';

const EXTENSIONS = ['.jsonl.gz', '.jsonl'] as const;

/** True for names the reader accepts. */
export function isDataFile(name: string): boolean {
  return EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** True when the file is gzip-compressed (by its extension). */
export function isGzip(file: string): boolean {
  return file.endsWith('.gz');
}

/** `dir/part-00003.jsonl.gz` → `part-00003`. */
export function fileStem(file: string): string {
  const name = basename(file);
  const ext = EXTENSIONS.find((e) => name.endsWith(e));
  return ext ? name.slice(0, -ext.length) : name;
}

/**
 * The data files of `path` in a fixed order (sorted by name; hidden files skipped).
 * @throws ConfigError when the path is missing, holds no data files, or two files share a stem.
 */
export function listDataFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new ConfigError(`data path ${path} does not exist; point data.train / data.eval at a .jsonl(.gz) file or a folder of them`);
  }
  if (!stat.isDirectory()) {
    if (!isDataFile(path)) throw new ConfigError(`data file ${path} must end in .jsonl or .jsonl.gz`);
    return [path];
  }
  const files = readdirSync(path)
    .filter((name) => !name.startsWith('.') && isDataFile(name))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new ConfigError(`data folder ${path} holds no .jsonl or .jsonl.gz files`);
  const seen = new Map<string, string>();
  for (const file of files) {
    const stem = fileStem(file);
    const other = seen.get(stem);
    if (other) throw new ConfigError(`data files ${other} and ${file} share the stem "${stem}", so their sample ids would collide; keep one`);
    seen.set(stem, file);
  }
  return files;
}
