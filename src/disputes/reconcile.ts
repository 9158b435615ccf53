/**
 * `qbl reconcile`'s work (I/O at the edges): read the carrier's file once into the work
 * database, settle the time zone and the increment, then walk their rows and our CDRs together
 * in time order, writing records.ndjson as calls resolve, and finally summary.json,
 * disputes.csv, bad-rows.csv and report.html.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatUs } from '../../correlators/cdr';
import { buildLadder } from '../evidence/ladder';
import { spreadsheetLine } from '../export/csv';
import type { DialPlan } from '../numbers/dial-plan';
import type { CdrReader, EventRow, StreamedCdr } from '../stores/store';
import type { CarrierRow } from './carrier-row';
import { classifyNotBilled, classifyRow, DISPUTED_CLASSES, type Classified, type ClassifySettings } from './classify';
import { DEFAULT_INCREMENT, type IncrementDetector, type Increment } from './increment';
import { loadFile } from './load-file';
import { StreamMatcher } from './matcher';
import { NumberMatcher } from './numbers';
import type { ReconcileOptions, ReconcileProgress, ReconcileResult } from './options';
import { ourMatchable, type OurMatchable } from './our-calls';
import { reportHtml, type ReportCall } from './report-html';
import { SummaryBuilder, TopDisputes, type TopEntry } from './summary';
import { TimeZoneFix } from './time-zone';
import { WorkDb } from './work-db';
import { ANSWER_SLACK_US, detectTimeZone } from './zone-detection';

export { ReconcileInputError, type ReconcileOptions, type ReconcileProgress, type ReconcileResult } from './options';

const CHUNK_BYTES = 1 << 20;

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
            const call = resolution.cdr;
            if (call.cdr.disposition === 'answered') summary.addSkew(resolution.row.timeUs - call.timeUs, resolution.row.timeUs - call.otherUs);
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
    }, loaded.hasMoney, options.startIs);
    if (built.start_skew_s.hint !== null) notes.push(built.start_skew_s.hint);
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
