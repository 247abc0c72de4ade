/**
 * @module data/import/csv
 * A streaming RFC 4180 CSV reader: comma-separated fields, double-quoted fields that may hold
 * commas, `""` and newlines, CRLF or LF line ends, an optional UTF-8 BOM. The first row is the
 * header; each later row comes back as `column → text` with the line it starts on.
 */
import { createReadStream } from 'node:fs';
import { DataError } from '../../errors.js';

export interface CsvRow {
  line: number;
  values: Record<string, string>;
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
    header.forEach((h, i) => (values[h] = fields[i]));
    yield { line, values };
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
  for await (const chunk of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
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
