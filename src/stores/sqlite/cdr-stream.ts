/**
 * Reading many CDRs and events from SQLite without holding them: keyset pages over the
 * `cdrs_start` index, for `qbl reconcile` and `qbl evidence`. SqliteReader's `streamCdrs` and
 * `eventRowsForCalls` delegate here.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { DEFAULT_CDR_PAGE_SIZE, type CdrRange, type EventRow, type StreamedCdr } from '../store';
import { EVENT_COLUMNS, recordToStoredCdr, rowToEventRow, type EventRecordRow } from './rows';

/** Call ids per events statement (one JSON array parameter each). */
const CALLS_PER_LOOKUP = 500;

interface CdrPageRow {
  start_us: number;
  cdr_id: string;
  record: string;
}

export class SqliteCdrStream {
  private readonly firstPage: Statement<[number, number, number], CdrPageRow>;
  private readonly nextPage: Statement<[number, number, number, string, number], CdrPageRow>;
  private readonly callsEvents: Statement<[string], EventRecordRow>;

  constructor(db: Db) {
    const select = 'SELECT start_us, cdr_id, record FROM cdrs';
    // (start_us, cdr_id) is unique and ordered: the last row of a page is where the next one starts.
    this.firstPage = db.prepare(`${select} WHERE start_us >= ? AND start_us < ? ORDER BY start_us, cdr_id LIMIT ?`);
    this.nextPage = db.prepare(
      `${select} WHERE start_us >= ? AND start_us < ? AND (start_us, cdr_id) > (?, ?) ORDER BY start_us, cdr_id LIMIT ?`,
    );
    this.callsEvents = db.prepare(
      `SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, time_us, id`,
    );
  }

  /** One page after `after` (or the first); short statements, so a writer is never held up for long. */
  page(range: CdrRange, after: { startUs: number; cdrId: string } | null): StreamedCdr[] {
    const since = range.sinceUs ?? Number.MIN_SAFE_INTEGER;
    const until = range.untilUs ?? Number.MAX_SAFE_INTEGER;
    const size = range.pageSize ?? DEFAULT_CDR_PAGE_SIZE;
    const rows = after === null
      ? this.firstPage.all(since, until, size)
      : this.nextPage.all(since, until, after.startUs, after.cdrId, size);
    return rows.map((row) => ({ ...recordToStoredCdr(row.record), startUs: row.start_us }));
  }

  async *pages(range: CdrRange): AsyncGenerator<readonly StreamedCdr[]> {
    let after: { startUs: number; cdrId: string } | null = null;
    const size = range.pageSize ?? DEFAULT_CDR_PAGE_SIZE;
    for (;;) {
      const page = this.page(range, after);
      if (page.length > 0) yield page;
      if (page.length < size) return;
      const last = page[page.length - 1]!;
      after = { startUs: last.startUs, cdrId: last.cdr.cdr_id };
    }
  }

  eventRowsForCalls(callIds: readonly string[]): Map<string, EventRow[]> {
    const result = new Map<string, EventRow[]>();
    for (let i = 0; i < callIds.length; i += CALLS_PER_LOOKUP) {
      for (const row of this.callsEvents.iterate(JSON.stringify(callIds.slice(i, i + CALLS_PER_LOOKUP)))) {
        const rows = result.get(row.call_id);
        if (rows === undefined) result.set(row.call_id, [rowToEventRow(row)]);
        else rows.push(rowToEventRow(row));
      }
    }
    return result;
  }
}
