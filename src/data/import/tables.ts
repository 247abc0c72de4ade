/**
 * @module data/import/tables
 * Rows of the tables `instructue import` reads, from CSV (`.csv`, `.csv.gz`) or JSON lines
 * (`.jsonl`, `.jsonl.gz`), as flat `column → value` objects with their line numbers. CSV cells
 * that read as decimal numbers become numbers (`38.5`, `-2`, not `007`), empty cells are left
 * out; in JSONL, a nested `fields` object is flattened into the row. A damaged gzip file is a
 * DataError naming the file and the last line read whole.
 */
import { DataError } from '../../errors.js';
import { isBlank, readLines } from '../lines.js';
import { readCsv, readError } from './csv.js';

export type Cell = string | number | boolean;

export interface TableRow {
  line: number;
  row: Record<string, Cell>;
  /** CSV: the header's columns (JSONL rows have none). */
  header?: readonly string[];
}

/** Table file names `import` reads. */
export const TABLE_EXTENSIONS = ['.csv', '.csv.gz', '.jsonl', '.jsonl.gz'];

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/** Yields every row of a table file. @throws DataError on malformed rows. */
export async function* readTable(file: string): AsyncGenerator<TableRow> {
  if (/\.csv(\.gz)?$/.test(file)) {
    for await (const { line, values, header } of readCsv(file)) {
      const row: Record<string, Cell> = {};
      for (const [k, v] of Object.entries(values)) if (v !== '') row[k] = NUMBER.test(v.trim()) ? Number(v) : v;
      yield { line, row, header };
    }
    return;
  }
  if (!/\.jsonl(\.gz)?$/.test(file)) throw new DataError(file, 0, '(file)', `tables must be ${TABLE_EXTENSIONS.join(', ')}`);
  let last = 0;
  const lines = readLines(file);
  for (;;) {
    let next: IteratorResult<{ line: number; bytes: Buffer }>;
    try {
      next = await lines.next();
    } catch (err) {
      throw readError(file, last, err);
    }
    if (next.done) return;
    const { line, bytes } = next.value;
    last = line;
    if (isBlank(bytes)) continue;
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new DataError(file, line, '(line)', `not valid JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DataError(file, line, '(line)', 'each line must be one JSON object');
    const { fields, ...rest } = value as Record<string, unknown>;
    const nested = typeof fields === 'object' && fields !== null && !Array.isArray(fields);
    const flat: Record<string, unknown> = nested ? { ...rest, ...fields } : { ...rest, fields };
    const row: Record<string, Cell> = {};
    for (const [k, v] of Object.entries(flat)) {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new DataError(file, line, k, 'must be a string, number or boolean');
      row[k] = v;
    }
    yield { line, row };
  }
}
