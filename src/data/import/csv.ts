/**
 * @module data/import/csv
 * A streaming RFC 4180 CSV reader: comma-separated fields, double-quoted fields that may hold
 * commas, `""` and newlines, CRLF or LF line ends, an optional UTF-8 BOM; `.csv.gz` files are
 * decompressed on the fly. The first row is the header; each later row comes back as
 * `column → text` with the line it starts on. A damaged gzip stream is a DataError naming the
 * file and the last line read whole, not a zlib stack.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { DataError } from '../../errors.js';
import { gzipDataError, isZlibError } from '../lines.js';

export interface CsvRow {
  line: number;
  values: Record<string, string>;
  /** The header's column names (the same array for every row). */
  header: readonly string[];
}

/** Yields the data rows of a CSV file; blank lines are skipped. */
export async function* readCsv(file: string): AsyncGenerator<CsvRow> {
  let header: string[] | null = null;
  for await (const { line, fields } of csvRecords(file)) {
    if (fields.length === 1 && fields[0] === '') continue;
    if (!header) {
      header = fields.map((f) => f.trim());
      const dup = header.find((h, i) => header!.indexOf(h) !== i);
      if (dup !== undefined) throw new DataError(file, line, dup, 'column name appears twice in the header');
      continue;
    }
    if (fields.length !== header.length) throw new DataError(file, line, '(row)', `has ${fields.length} fields but the header has ${header.length}; quote fields that contain commas`);
    const values: Record<string, string> = {};
    header.forEach((h, i) => (values[h] = fields[i]!));
    yield { line, values, header };
  }
}

/** The raw records (lists of fields) of a CSV file, each with its starting line. */
async function* csvRecords(file: string): AsyncGenerator<{ line: number; fields: string[] }> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let start = 1;
  let first = true;
  for await (const chunk of decodedChunks(file, () => start - 1)) {
    let text = chunk;
    if (first) {
      text = text.replace(/^\uFEFF/, '');
      first = false;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else if (i + 1 === text.length) {
            // A quote at the chunk's end: decide on the next chunk.
            afterQuote = true;
            quoted = false;
          } else {
            quoted = false;
          }
        } else {
          if (c === '\n') line++;
          field += c;
        }
        continue;
      }
      if (afterQuote) {
        afterQuote = false;
        if (c === '"') {
          field += '"';
          quoted = true;
          continue;
        }
      }
      if (c === '"' && field === '') quoted = true;
      else if (c === ',') {
        fields.push(field);
        field = '';
      } else if (c === '\n') {
        fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
        yield { line: start, fields };
        fields = [];
        field = '';
        start = ++line;
      } else field += c;
    }
  }
  if (quoted) throw new DataError(file, start, '(row)', 'a quoted field is not closed before the end of the file');
  if (field !== '' || fields.length > 0) yield { line: start, fields: [...fields, field.endsWith('\r') ? field.slice(0, -1) : field] };
}

/** UTF-8 text chunks of a (possibly gzipped) file; decompression errors name the file and the last whole line. */
async function* decodedChunks(file: string, lastGoodLine: () => number): AsyncGenerator<string> {
  const raw = createReadStream(file);
  const gz = file.endsWith('.gz');
  const stream = gz ? raw.pipe(createGunzip()) : raw;
  if (gz) raw.on('error', (err) => stream.destroy(err));
  const decoder = new TextDecoder('utf-8');
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) yield decoder.decode(chunk, { stream: true });
  } catch (err) {
    throw readError(file, lastGoodLine(), err);
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}

/** A read or gunzip failure as a DataError that says where reading stopped (gzip: the same error as training data). */
export function readError(file: string, lastGoodLine: number, err: unknown): DataError {
  if (err instanceof DataError) return err;
  if (isZlibError(err)) return gzipDataError(file, lastGoodLine, err);
  const where = lastGoodLine > 0 ? `after line ${lastGoodLine} (the last one read whole)` : 'before the first line';
  return new DataError(file, lastGoodLine + 1, '(file)', `cannot read: ${(err as Error)?.message ?? String(err)} ${where}`);
}
