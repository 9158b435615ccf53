/**
 * The SQLite CdrReader: what `qbl cdrs`, `qbl events`, `qbl status`, `qbl reconcile` and
 * `qbl evidence` ask of the embedded store, on a read-only connection (the search side has
 * search-reader.ts). Same filters, order and output as the search reader; the streamed reading
 * (keyset pages, many calls' events) is cdr-stream.ts's.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { cdrIdFor } from '../../../correlators/cdr';
import type { CdrQuery, CdrRange, CdrReader, EventRow, StoredCdr, StreamedCdr } from '../store';
import { SqliteCdrStream } from './cdr-stream';
import { DEFAULT_BUSY_TIMEOUT_MS, openReadonly } from './open-database';
import { EVENT_COLUMNS, recordToStoredCdr, rowToEventRow, type EventRecordRow } from './rows';
import { toStoreError } from './transient';

export interface RowCounts {
  events: number;
  cdrs: number;
  openCalls: number;
}

export class SqliteReader implements CdrReader {
  private readonly selectCallEvents: Statement<[string], EventRecordRow>;
  private readonly searchStatements = new Map<string, Statement>();
  private readonly stream: SqliteCdrStream;

  private constructor(private readonly db: Db) {
    this.selectCallEvents = db.prepare(`SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE call_id = ? ORDER BY time_us, id`);
    this.stream = new SqliteCdrStream(db);
  }

  /** Read-only: never creates a database; a ConfigError (SQLITE_PATH) when the file is not one of ours. */
  static open(path: string, options: { busyTimeoutMs?: number } = {}): SqliteReader {
    return new SqliteReader(openReadonly(path, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
  }

  async searchCdrs(query: CdrQuery): Promise<StoredCdr[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.callId !== undefined) {
      // The id is a function of the call id: the primary key finds the row without an index of its own.
      where.push('cdr_id = ? AND call_id = ?');
      params.push(cdrIdFor(query.callId), query.callId);
    }
    if (query.numbers !== undefined) {
      // One JSON array parameter keeps the SQL text (and its cached statement) independent of the count.
      const numbers = JSON.stringify(query.numbers);
      where.push(`(${['caller', 'callee', 'caller_e164', 'callee_e164']
        .map((column) => `${column} IN (SELECT value FROM json_each(?))`).join(' OR ')})`);
      params.push(numbers, numbers, numbers, numbers);
    }
    if (query.sinceUs !== undefined) {
      where.push('start_us >= ?');
      params.push(query.sinceUs);
    }
    if (query.untilUs !== undefined) {
      where.push('start_us < ?');
      params.push(query.untilUs);
    }
    if (query.disposition !== undefined) {
      where.push('disposition = ?');
      params.push(query.disposition);
    }
    const sql = `SELECT record FROM cdrs${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY start_us DESC, cdr_id DESC LIMIT ?`;
    params.push(query.limit);
    try {
      const rows = this.searchStatement(sql).all(...params) as Array<{ record: string }>;
      return rows.map((row) => recordToStoredCdr(row.record));
    } catch (error) {
      throw toStoreError(error, 'search');
    }
  }

  async *streamCdrs(range: CdrRange): AsyncGenerator<readonly StreamedCdr[]> {
    try {
      yield* this.stream.pages(range);
    } catch (error) {
      throw toStoreError(error, 'read');
    }
  }

  async eventsForCall(callId: string): Promise<EventRow[]> {
    try {
      return this.selectCallEvents.all(callId).map(rowToEventRow);
    } catch (error) {
      throw toStoreError(error, 'read');
    }
  }

  async eventRowsForCalls(callIds: readonly string[]): Promise<Map<string, EventRow[]>> {
    try {
      return this.stream.eventRowsForCalls(callIds);
    } catch (error) {
      throw toStoreError(error, 'read');
    }
  }

  countRows(): RowCounts {
    const count = (table: string) => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { events: count('events'), cdrs: count('cdrs'), openCalls: count('open_calls') };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private searchStatement(sql: string): Statement {
    let statement = this.searchStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.searchStatements.set(sql, statement);
    }
    return statement;
  }
}
