/**
 * Reading the carrier's file once (streaming): encoding, separator, header and columns, the time
 * format from the first rows, every row into the work file (or reported bad), and what the
 * billed column says about their increment.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { readCarrierRow, type BadRow } from './carrier-row';
import { mapColumns, type ColumnMap } from './columns';
import { CsvRecords, UnclosedQuoteError, detectEncoding, detectSeparator } from './csv-reader';
import { IncrementDetector } from './increment';
import type { NumberMatcher } from './numbers';
import { ReconcileInputError, type ReconcileOptions, type ReconcileProgress } from './options';
import { guessTimeFormat, timeParser } from './time-format';
import type { TimeZoneFix } from './time-zone';
import type { WorkDb } from './work-db';

const CHUNK_BYTES = 1 << 20;
const FORMAT_SAMPLE_ROWS = 5000;

export interface Loaded {
  readonly columns: ColumnMap;
  readonly encoding: string;
  readonly separator: string;
  readonly timeFormat: string;
  readonly timeFormatNote?: string;
  readonly incrementFound: ReturnType<IncrementDetector['result']>;
  readonly hasMoney: boolean;
}

export async function loadFile(
  options: ReconcileOptions,
  givenZone: TimeZoneFix | null,
  numbers: NumberMatcher,
  work: WorkDb,
  progress: ReconcileProgress,
  onBad: (bad: BadRow, fields: readonly string[]) => void,
): Promise<Loaded> {
  let size: number;
  try {
    size = statSync(options.file).size;
  } catch {
    throw new ReconcileInputError(`cannot read ${options.file}: no such file`, 'no_input');
  }
  const head = Buffer.alloc(Math.min(size, 65_536));
  const fd = openSync(options.file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const { encoding, bomBytes } = detectEncoding(head);
  const decoder = new TextDecoder(encoding);
  progress.phase(`reading ${basename(options.file)}`, size);

  let records: CsvRecords | null = null;
  let separator = ',';
  let columns: ColumnMap | null = null;
  let parse: ((text: string) => ReturnType<ReturnType<typeof timeParser>>) | null = null;
  let timeFormat = options.timeFormat ?? '';
  let timeFormatNote: string | undefined;
  const detector = new IncrementDetector();
  let hasMoney = false;
  let rowNumber = 0;
  let headerSeen = false;
  let waiting: string[][] = [];

  const handle = (fields: string[]) => {
    rowNumber += 1;
    if (fields.length === 1 && fields[0]!.trim() === '') return;
    const result = readCarrierRow(rowNumber, fields, columns!, parse!, numbers);
    if (!result.ok) {
      onBad(result.bad, fields);
      return;
    }
    const row = result.row;
    if (row.billedUs !== null && !columns!.durationFromBilled) detector.add(row.durationUs, row.billedUs);
    // A time with its own offset needs no fix; others wait for --tz auto when no zone was given.
    const utc = row.start.offsetUs !== null ? row.start.localUs - row.start.offsetUs : givenZone === null ? null : givenZone.toUtcUs(row.start.localUs);
    work.addRow(row, utc, fields);
  };
  const settle = (final: boolean) => {
    // Wait for enough rows to tell the time format, then handle what waited.
    if (parse === null) {
      if (!final && waiting.length < FORMAT_SAMPLE_ROWS) return;
      if (options.timeFormat === null && waiting.length === 0) {
        timeFormat = 'ymd'; // no rows: nothing to read with it
      } else if (options.timeFormat === null) {
        const samples = waiting.filter((f) => f.length >= columns!.header.length).map((f) => columns!.start.map((i) => f[i] ?? '').join(' ').trim());
        const guess = guessTimeFormat(samples);
        if (!guess.ok) throw new ReconcileInputError(`--time-format: ${guess.reason}`);
        timeFormat = guess.format;
        if (guess.note) timeFormatNote = `time format ${guess.format}: ${guess.note}`;
      }
      parse = timeParser(timeFormat);
    }
    for (const fields of waiting) handle(fields);
    waiting = [];
  };
  const take = (batch: string[][]) => {
    for (const fields of batch) {
      if (!headerSeen) {
        headerSeen = true;
        const mapped = mapColumns(fields, options.columns);
        if (!mapped.ok) throw new ReconcileInputError(mapped.reason);
        columns = mapped.map;
        hasMoney = columns.rate !== null || columns.cost !== null;
        continue;
      }
      if (parse === null) waiting.push(fields);
      else handle(fields);
    }
    if (headerSeen) settle(false);
  };

  const split = (next: () => string[][]): string[][] => {
    try {
      return next();
    } catch (error) {
      if (error instanceof UnclosedQuoteError) throw new ReconcileInputError(`${basename(options.file)}: ${error.message}`);
      throw error;
    }
  };

  let skip = bomBytes;
  for await (const chunk of createReadStream(options.file, { highWaterMark: CHUNK_BYTES })) {
    let bytes = chunk as Buffer;
    progress.advance(bytes.length);
    if (skip > 0) {
      const n = Math.min(skip, bytes.length);
      bytes = bytes.subarray(n);
      skip -= n;
    }
    const text = decoder.decode(bytes, { stream: true });
    if (records === null) {
      const firstLine = text.split('\n', 1)[0]!;
      separator = detectSeparator(firstLine);
      records = new CsvRecords(separator);
    }
    take(split(() => records!.push(text)));
  }
  const tail = decoder.decode();
  if (records !== null) take(split(() => [...records!.push(tail), ...records!.end()]));
  progress.done();
  if (!headerSeen) throw new ReconcileInputError(`${options.file} is empty: expected a header line and rows`);
  settle(true);
  return {
    columns: columns!, encoding, separator, timeFormat, timeFormatNote,
    incrementFound: detector.result(), hasMoney,
  };
}
