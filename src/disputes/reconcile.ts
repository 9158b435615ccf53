/**
 * `qbl reconcile`'s work (I/O at the edges): read the carrier's file once into the work
 * database, settle the time zone and the increment, then walk their rows and our CDRs together
 * in time order, writing records.ndjson as calls resolve, and finally summary.json,
 * disputes.csv, bad-rows.csv and report.html.
 */
import { closeSync, createReadStream, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DialPlan } from '../numbers/dial-plan';
import type { CdrReader, EventRow, StreamedCdr } from '../stores/store';
import { spreadsheetLine } from '../export/csv';
import { formatUs } from '../../correlators/cdr';
import { readCarrierRow, type BadRow, type CarrierRow } from './carrier-row';
import { classifyNotBilled, classifyRow, DISPUTED_CLASSES, type Classified, type ClassifySettings, type OurCall } from './classify';
import { mapColumns, type ColumnMap, type OurField } from './columns';
import { CsvRecords, detectEncoding, detectSeparator } from './csv-reader';
import { DEFAULT_INCREMENT, IncrementDetector, type Increment } from './increment';
import { StreamMatcher } from './matcher';
import { NumberMatcher, type PartyNumber } from './numbers';
import { reportHtml, type ReportCall } from './report-html';
import { SummaryBuilder, TopDisputes, type Summary, type TopEntry } from './summary';
import { guessTimeFormat, timeParser } from './time-format';
import { detectOffset, formatOffset, MAX_OFFSET_US, TimeZoneFix, type OffsetCandidate, type TimeZoneSpec } from './time-zone';
import { WorkDb } from './work-db';
import { buildLadder } from '../evidence/ladder';

export interface ReconcileOptions {
  readonly file: string;
  readonly outDir: string;
  readonly columns: ReadonlyMap<OurField, string>;
  /** null: found from the data. */
  readonly timeFormat: string | null;
  readonly tz: TimeZoneSpec;
  readonly startIs: 'answer' | 'invite';
  /** null: found from the data (their duration and billed columns), else 1/1. */
  readonly increment: Increment | null;
  readonly toleranceUs: number;
  readonly windowUs: number;
  readonly sinceUs?: number;
  readonly untilUs?: number;
  /** Disputed calls shown (with evidence) in report.html. */
  readonly top: number;
}

export interface ReconcileProgress {
  /** A phase starts: `total` units (bytes, rows). */
  phase(label: string, total: number): void;
  advance(by: number): void;
  done(): void;
}

export interface ReconcileResult {
  readonly summary: Summary;
  readonly files: readonly string[];
  readonly notes: readonly string[];
  readonly disputedRows: number;
}

/** A problem with the file or the options that the user can fix (a flag, the file): exit 2. */
export class ReconcileInputError extends Error {
  /** `no_input`: the file cannot be read at all; `input`: it needs a flag (or fixing). */
  constructor(message: string, readonly code: 'input' | 'no_input' = 'input') {
    super(message);
    this.name = 'ReconcileInputError';
  }
}

const CHUNK_BYTES = 1 << 20;
const FORMAT_SAMPLE_ROWS = 5000;
const TZ_SAMPLE_ROWS = 2000;
const HOUR_US = 3_600_000_000;
/** In answer mode our compared time (the answer) may come this long after the stored start (the INVITE). */
const ANSWER_SLACK_US = 300_000_000;

class BufferedWriter {
  private readonly fd: number;
  private parts: string[] = [];
  private size = 0;
  private closed = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK_BYTES) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }

  /** Idempotent: the error path closes what the normal path may already have closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    closeSync(this.fd);
  }
}

interface Loaded {
  readonly columns: ColumnMap;
  readonly encoding: string;
  readonly separator: string;
  readonly timeFormat: string;
  readonly timeFormatNote?: string;
  readonly incrementFound: ReturnType<IncrementDetector['result']>;
  readonly hasMoney: boolean;
}

interface OurMatchable extends OurCall {
  readonly cdrId: string;
  readonly timeUs: number;
  readonly group: string;
  readonly caller: PartyNumber;
  readonly callee: PartyNumber;
  readonly stored: StreamedCdr;
}

interface RowMatchable {
  readonly row: number;
  readonly timeUs: number;
  readonly group: string;
  readonly carrier: CarrierRow;
}

export async function reconcile(
  options: ReconcileOptions,
  reader: CdrReader,
  dialPlan: DialPlan,
  progress: ReconcileProgress,
  /** For summary.json: `sqlite`, `elasticsearch` or `opensearch`. */
  storeName = 'sqlite',
): Promise<ReconcileResult> {
  mkdirSync(options.outDir, { recursive: true });
  const numbers = new NumberMatcher(dialPlan);
  const work = new WorkDb(join(options.outDir, '.reconcile-work.db'));
  const notes: string[] = [];
  const badWriter = new BufferedWriter(join(options.outDir, 'bad-rows.csv'));
  try {
    const summary = new SummaryBuilder(options.windowUs);
    badWriter.write(spreadsheetLine(['row', 'reason', 'detail', 'line']));
    const givenZone = options.tz.kind === 'fixed' ? TimeZoneFix.fixed(options.tz.offsetUs)
      : options.tz.kind === 'iana' ? TimeZoneFix.iana(options.tz.zone) : null;
    const loaded = await loadFile(options, givenZone, numbers, work, progress, (bad, fields) => {
      summary.addBad(bad);
      badWriter.write(spreadsheetLine([bad.row, bad.reason, bad.detail, fields.join(' | ')]));
    });
    badWriter.close();

    // The time zone.
    let tz: TimeZoneFix;
    let tzHow: string;
    if (givenZone === null) {
      const found = await detectTimeZone(work, reader, numbers, options);
      tz = TimeZoneFix.fixed(found.offsetUs);
      tzHow = found.how;
      work.fixOffsets(found.offsetUs);
    } else {
      tz = givenZone;
      tzHow = 'given with --tz';
    }
    notes.push(`time zone ${tz.label} (${tzHow})`);
    const loadedRange = work.finishLoading();

    const { increment, how: incrementHow } = chooseIncrement(options.increment, loaded.incrementFound);
    notes.push(`increment ${increment.label} (${incrementHow})`);

    const settings: ClassifySettings = { increment, toleranceUs: options.toleranceUs };
    const top = new TopDisputes<StreamedCdr | null>(options.top, loaded.hasMoney);

    // Our side's range: theirs plus the window (or --since / --until).
    const min = loadedRange.minUtcUs;
    const max = loadedRange.maxUtcUs;
    const slackUs = options.startIs === 'answer' ? ANSWER_SLACK_US : 0;
    const sinceUs = options.sinceUs ?? (min === null ? 0 : min - options.windowUs - slackUs);
    const untilUs = options.untilUs ?? (max === null ? 1 : max + options.windowUs + 1);
    // Unmatched answered calls count as not billed inside the file's own span (or the range given).
    const notBilledFrom = options.sinceUs ?? min ?? 0;
    const notBilledUntil = options.untilUs ?? (max === null ? 0 : max + 1);

    const recordsWriter = new BufferedWriter(join(options.outDir, 'records.ndjson'));
    let disputedRows = 0;
    const emit = (classified: Classified, cdr: StreamedCdr | null) => {
      summary.add(classified, tz.localDay(classified.figures.startUs));
      const line = JSON.stringify(classified.record);
      recordsWriter.write(`${line}\n`);
      top.offer(classified, cdr);
      if (classified.record.row !== null && DISPUTED_CLASSES.has(classified.record.class)
        && (classified.record.delta_billed_s !== 0 || (classified.record.delta_cost ?? 0) !== 0)) {
        work.addDispute(classified.record.row, line);
        disputedRows += 1;
      }
    };

    const matcher = new StreamMatcher<RowMatchable, OurMatchable>(
      options.windowUs,
      (row, cdr) => numbers.same(row.carrier.caller, cdr.caller) && numbers.same(row.carrier.callee, cdr.callee),
      (resolution) => {
        switch (resolution.kind) {
          case 'pair': {
            const classified = classifyRow(resolution.row.carrier, resolution.row.timeUs, { kind: 'pair', call: resolution.cdr }, settings);
            if (resolution.cdr.cdr.disposition === 'answered') summary.addSkew(resolution.row.timeUs - resolution.cdr.timeUs);
            emit(classified, resolution.cdr.stored);
            break;
          }
          case 'duplicate':
            emit(classifyRow(resolution.row.carrier, resolution.row.timeUs, { kind: 'duplicate', of: resolution.of }, settings), resolution.of.stored);
            break;
          case 'unknown':
            emit(classifyRow(resolution.row.carrier, resolution.row.timeUs, { kind: 'unknown' }, settings), null);
            break;
          case 'unmatched': {
            const call = resolution.cdr;
            if (call.cdr.disposition === 'answered' && call.matchUs >= notBilledFrom && call.matchUs < notBilledUntil) {
              emit(classifyNotBilled(call, settings), call.stored);
            }
            break;
          }
        }
      },
    );

    progress.phase('matching', loadedRange.rows);
    const rowsSeen = await walkTogether(work, reader.streamCdrs({ sinceUs, untilUs }), matcher, (stored) => ourMatchable(stored, options.startIs, numbers), progress);
    matcher.finish();
    progress.advance(rowsSeen % PROGRESS_STEP);
    progress.done();
    recordsWriter.close();

    const files = [join(options.outDir, 'records.ndjson')];
    const disputesPath = join(options.outDir, 'disputes.csv');
    writeDisputes(work, loaded.columns.header, disputesPath);
    files.push(disputesPath);

    const built = summary.build({
      file: basename(options.file),
      store: storeName,
      time_zone: { used: tz.label, how: tzHow },
      increment: { used: increment.label, how: incrementHow },
      settings: {
        file: options.file,
        encoding: loaded.encoding,
        separator: loaded.separator === '\t' ? 'tab' : loaded.separator,
        columns: loaded.columns.used,
        time_format: loaded.timeFormat,
        tz: tz.label,
        start_is: options.startIs,
        increment: increment.label,
        tolerance_s: options.toleranceUs / 1_000_000,
        match_window_s: options.windowUs / 1_000_000,
        since: formatUs(sinceUs),
        until: formatUs(untilUs),
      },
    }, loaded.hasMoney);
    const summaryPath = join(options.outDir, 'summary.json');
    writeFileSync(summaryPath, `${JSON.stringify(built, null, 2)}\n`);
    files.push(summaryPath);

    const reportPath = join(options.outDir, 'report.html');
    writeFileSync(reportPath, reportHtml(built, await withEvidence(top.list(), reader), loaded.hasMoney));
    files.push(reportPath);
    if (built.bad_rows.count > 0) files.push(join(options.outDir, 'bad-rows.csv'));
    else rmSync(join(options.outDir, 'bad-rows.csv'), { force: true });
    if (loaded.timeFormatNote) notes.push(loaded.timeFormatNote);
    return { summary: built, files, notes, disputedRows };
  } finally {
    badWriter.close();
    work.close();
  }
}

const PROGRESS_STEP = 10_000;

/** `--increment`, else the one their billed column shows (when it explains 90 % of the rows), else 1/1. */
function chooseIncrement(given: Increment | null, found: ReturnType<IncrementDetector['result']>): { increment: Increment; how: string } {
  if (given !== null) return { increment: given, how: 'given with --increment' };
  if (found === null) return { increment: DEFAULT_INCREMENT, how: 'the default: no rows with a billed column to learn it from' };
  const { increment, rows, fitting } = found;
  if (fitting / rows >= 0.9) return { increment, how: `found: their billed time is their duration at ${increment.label} on ${fitting} of ${rows} rows` };
  return {
    increment: DEFAULT_INCREMENT,
    how: `the default: no common increment explains their billed time (best ${increment.label}, ${fitting} of ${rows} rows); pass --increment`,
  };
}

/**
 * Their rows (by UTC start) and our CDRs (by stored start) into the matcher, merged in time
 * order; returns the rows walked.
 */
async function walkTogether(
  work: WorkDb,
  ourPages: AsyncIterable<readonly StreamedCdr[]>,
  matcher: StreamMatcher<RowMatchable, OurMatchable>,
  toMatchable: (stored: StreamedCdr) => OurMatchable,
  progress: ReconcileProgress,
): Promise<number> {
  const ours = ourPages[Symbol.asyncIterator]();
  let page: readonly StreamedCdr[] = [];
  let index = 0;
  let oursDone = false;
  const nextOurs = async (): Promise<StreamedCdr | null> => {
    while (index >= page.length) {
      if (oursDone) return null;
      const step = await ours.next();
      if (step.done) {
        oursDone = true;
        return null;
      }
      page = step.value;
      index = 0;
    }
    return page[index]!;
  };
  let rowsSeen = 0;
  for (const stored of work.rowsByUtc()) {
    for (let cdr = await nextOurs(); cdr !== null && cdr.startUs <= stored.utcUs; cdr = await nextOurs()) {
      matcher.addCdr(toMatchable(cdr), cdr.startUs);
      index += 1;
    }
    const row = stored.row;
    matcher.addRow({ row: row.row, timeUs: stored.utcUs, group: NumberMatcher.group(row.caller, row.callee), carrier: row });
    rowsSeen += 1;
    if (rowsSeen % PROGRESS_STEP === 0) progress.advance(PROGRESS_STEP);
  }
  for (let cdr = await nextOurs(); cdr !== null; cdr = await nextOurs()) {
    matcher.addCdr(toMatchable(cdr), cdr.startUs);
    index += 1;
  }
  return rowsSeen;
}

/** disputes.csv: the disputed rows in their row order, their own fields, our figures, the class and the reason. */
function writeDisputes(work: WorkDb, header: readonly string[], path: string): void {
  const out = new BufferedWriter(path);
  try {
    out.write(spreadsheetLine([
      'row', ...header.map((name) => `their ${name}`), 'class', 'reason', 'carrier_start_utc', 'carrier_billed_s',
      'our_call_id', 'our_start_utc', 'our_talk_s', 'our_billed_s', 'delta_billed_s', 'delta_cost',
    ]));
    for (const dispute of work.disputes()) {
      const r = JSON.parse(dispute.record) as Classified['record'];
      out.write(spreadsheetLine([
        r.row, ...dispute.fields, r.class, r.reason, r.carrier_start, r.carrier_billed_s, r.call_id, r.our_start, r.our_talk_s, r.our_billed_s,
        r.delta_billed_s, r.delta_cost,
      ]));
    }
  } finally {
    out.close();
  }
}

/** The top disputed calls with their evidence: the stored events of each, its ladder and CDR. */
async function withEvidence(entries: readonly TopEntry<StreamedCdr | null>[], reader: CdrReader): Promise<ReportCall[]> {
  const callIds = [...new Set(entries.map((e) => e.record.call_id).filter((id): id is string => id !== null))];
  const events = callIds.length === 0 ? new Map<string, EventRow[]>() : await reader.eventRowsForCalls(callIds);
  return entries.map(({ record, payload: stored }) => {
    if (record.call_id === null) return { record, evidence: null };
    const rows = events.get(record.call_id) ?? [];
    return {
      record,
      evidence: { callId: record.call_id, cdr: stored?.cdr ?? null, extras: stored?.extras ?? null, events: rows, ladder: buildLadder(record.call_id, rows) },
    };
  });
}

function ourMatchable(stored: StreamedCdr, startIs: 'answer' | 'invite', numbers: NumberMatcher): OurMatchable {
  const { cdr, extras } = stored;
  const invite = parseStamp(cdr.invite_at);
  const matchUs = startIs === 'answer'
    ? parseStamp(cdr.answer_at) ?? parseStamp(cdr.end_at) ?? invite ?? stored.startUs
    : invite ?? stored.startUs;
  const caller = numbers.ourNumber(cdr.caller, extras.caller_e164);
  const callee = numbers.ourNumber(cdr.callee, extras.callee_e164);
  return { cdr, matchUs, cdrId: cdr.cdr_id, timeUs: matchUs, group: NumberMatcher.group(caller, callee), caller, callee, stored };
}

/** `2026-11-27T13:05:09.123456Z` → µs (our own timestamps: always this exact layout). */
function parseStamp(text: string | null): number | null {
  if (text === null) return null;
  const seconds = Date.parse(`${text.slice(0, 19)}Z`);
  return Number.isNaN(seconds) ? null : seconds * 1000 + Number(text.slice(20, 26));
}

async function loadFile(
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
    take(records.push(text));
  }
  const tail = decoder.decode();
  if (records !== null) take([...records.push(tail), ...records.end()]);
  progress.done();
  if (!headerSeen) throw new ReconcileInputError(`${options.file} is empty: expected a header line and rows`);
  settle(true);
  return {
    columns: columns!, encoding, separator, timeFormat, timeFormatNote,
    incrementFound: detector.result(), hasMoney,
  };
}

/** `--tz auto`: the offset that lines their rows up with our calls at the start, middle and end of the file. */
async function detectTimeZone(work: WorkDb, reader: CdrReader, numbers: NumberMatcher, options: ReconcileOptions): Promise<{ offsetUs: number; how: string }> {
  const anchors = work.localAnchors();
  if (anchors.length === 0) return { offsetUs: 0, how: 'no time in the file needs it' };
  const found: Array<{ anchorUs: number; offsetUs: number; agreeing: number; sampled: number }> = [];
  for (const anchorUs of anchors) {
    const samples = work.sampleLocal(anchorUs - HOUR_US, anchorUs + HOUR_US, TZ_SAMPLE_ROWS);
    const candidates: OffsetCandidate<{ caller: PartyNumber; callee: PartyNumber }>[] = [];
    const range = {
      sinceUs: anchorUs - HOUR_US - MAX_OFFSET_US - options.windowUs - ANSWER_SLACK_US,
      untilUs: anchorUs + HOUR_US + MAX_OFFSET_US + options.windowUs,
    };
    for await (const page of reader.streamCdrs(range)) {
      for (const stored of page) {
        const call = ourMatchable(stored, options.startIs, numbers);
        candidates.push({ timeUs: call.matchUs, group: call.group, numbers: { caller: call.caller, callee: call.callee } });
      }
    }
    const result = detectOffset(
      samples.map((row) => ({ localUs: row.start.localUs, group: NumberMatcher.group(row.caller, row.callee), numbers: { caller: row.caller, callee: row.callee } })),
      candidates,
      (a, b) => numbers.same(a.caller, b.caller) && numbers.same(a.callee, b.callee),
    );
    if (result !== null) found.push({ anchorUs, ...result });
  }
  if (found.length === 0) {
    throw new ReconcileInputError('--tz auto: no offset lines their rows up with our calls (are these our calls, and is the store right?): pass --tz');
  }
  const offsets = [...new Set(found.map((f) => f.offsetUs))];
  if (offsets.length > 1) {
    const seen = found.map((f) => `${formatOffset(f.offsetUs)} around ${formatUs(f.anchorUs).slice(0, 16)} local`).join(', ');
    throw new ReconcileInputError(`--tz auto: the offset changes within the file (${seen}), as with daylight saving time: pass --tz with the carrier's zone, e.g. --tz Europe/London`);
  }
  const agreeing = found.reduce((sum, f) => sum + f.agreeing, 0);
  const sampled = found.reduce((sum, f) => sum + f.sampled, 0);
  return { offsetUs: offsets[0]!, how: `found with --tz auto: ${agreeing} of ${sampled} sampled rows line up with our calls at ${formatOffset(offsets[0]!)}` };
}
