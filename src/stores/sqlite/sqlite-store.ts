/**
 * The embedded store (the default writer): one SQLite file in WAL mode, one transaction per batch,
 * and the correlator's history (a call's events, the open calls). Queries for people are the
 * reader's (sqlite-reader.ts). better-sqlite3 is synchronous; the async methods only satisfy the
 * store interfaces.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { StoreUnavailableError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { CallEvent } from '../../../correlators/events';
import { NOTHING_REJECTED, type CallStore, type CommitBatch, type CommitResult, type OpenCall } from '../store';
import { CDR_COLUMNS, EVENT_COLUMNS, insertEventRow, rowToEvent, upsertCdrRow, type EventRecordRow } from './rows';
import { Checkpointer, WRITER_AUTOCHECKPOINT_PAGES } from './checkpointer';
import { DEFAULT_BUSY_TIMEOUT_MS, openWritable } from './open-database';
import { toStoreError } from './transient';
import { Retention, RetentionSchedule } from './retention';

export interface SqliteOpenOptions {
  logger?: Logger;
  /** How long a write waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Calls that started longer ago than this are deleted in the background (retention.ts); 0 or absent: kept. */
  retentionDays?: number;
}

/** Call ids per history lookup statement. */
const CALLS_PER_LOOKUP = 1000;

const EVENT_LIST = EVENT_COLUMNS.join(', ');
const placeholders = (columns: readonly string[]) => columns.map(() => '?').join(', ');

export class SqliteStore implements CallStore {
  private readonly insertEvent: Statement;
  private readonly upsertCdr: Statement;
  private readonly upsertOpenCall: Statement;
  private readonly deleteOpenCall: Statement;
  private readonly selectCallsEvents: Statement<[string], EventRecordRow>;
  private readonly selectOpenCalls: Statement<[], { call_id: string; deadline_us: number }>;
  private readonly writeBatch: (batch: CommitBatch) => void;
  private retention: RetentionSchedule | undefined;

  private constructor(private readonly db: Db, private readonly logger?: Logger, private readonly checkpointer?: Checkpointer) {
    // (time_us, id) is the events' unique key (schema.ts): a redelivered event is the same row.
    this.insertEvent = db.prepare(
      `INSERT INTO events (${EVENT_LIST}) VALUES (${placeholders(EVENT_COLUMNS)}) ON CONFLICT(time_us, id) DO NOTHING`,
    );
    this.upsertCdr = db.prepare(
      `INSERT INTO cdrs (${CDR_COLUMNS.join(', ')}) VALUES (${placeholders(CDR_COLUMNS)})
       ON CONFLICT(cdr_id) DO UPDATE SET ${CDR_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
    );
    this.upsertOpenCall = db.prepare(
      'INSERT INTO open_calls (call_id, deadline_us) VALUES (?, ?) ON CONFLICT(call_id) DO UPDATE SET deadline_us = excluded.deadline_us',
    );
    this.deleteOpenCall = db.prepare('DELETE FROM open_calls WHERE call_id = ?');
    // One statement for a batch's unknown calls (a JSON array parameter): one round trip instead of one per call.
    this.selectCallsEvents = db.prepare(
      `SELECT ${EVENT_LIST} FROM events WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, time_us, id`,
    );
    this.selectOpenCalls = db.prepare('SELECT call_id, deadline_us FROM open_calls ORDER BY call_id');
    const write = db.transaction((batch: CommitBatch) => {
      for (const stored of batch.events) insertEventRow(this.insertEvent, stored);
      for (const record of batch.cdrs) upsertCdrRow(this.upsertCdr, record);
      // Written when a call opens, deleted when it closes: the rows are the open set (restore folds
      // each call's events again and recomputes its deadline), so a call already open is skipped.
      for (const call of batch.openCalls) if (call.alreadyOpen !== true) this.upsertOpenCall.run(call.callId, call.deadlineUs);
      for (const callId of batch.closedCallIds) this.deleteOpenCall.run(callId);
    });
    // IMMEDIATE takes the write lock up front, so a busy database fails at BEGIN, not half-way.
    this.writeBatch = (batch) => write.immediate(batch);
  }

  static open(path: string, options: SqliteOpenOptions = {}): SqliteStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    const db = openWritable(path, busyTimeoutMs, options.logger);
    if (path === ':memory:') return new SqliteStore(db, options.logger);
    db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    const store = new SqliteStore(db, options.logger, new Checkpointer(path, options.logger));
    if (options.retentionDays !== undefined && options.retentionDays > 0) {
      // On this connection, between commits: better-sqlite3 is synchronous, so a step never lands inside one.
      store.retention = new RetentionSchedule(new Retention(db), { days: options.retentionDays, logger: options.logger });
      store.retention.start();
    }
    return store;
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    try {
      this.writeBatch(batch);
    } catch (error) {
      const mapped = toStoreError(error, 'commit');
      if (mapped instanceof StoreUnavailableError) {
        this.logger?.warn({ err: error, events: batch.events.length, cdrs: batch.cdrs.length }, 'sqlite commit failed, will retry');
      }
      throw mapped;
    }
    this.checkpointer?.request();
    return NOTHING_REJECTED;
  }

  async eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    const result = new Map<string, CallEvent[]>();
    try {
      for (let i = 0; i < callIds.length; i += CALLS_PER_LOOKUP) {
        for (const row of this.selectCallsEvents.iterate(JSON.stringify(callIds.slice(i, i + CALLS_PER_LOOKUP)))) {
          const events = result.get(row.call_id);
          if (events === undefined) result.set(row.call_id, [rowToEvent(row)]);
          else events.push(rowToEvent(row));
        }
      }
    } catch (error) {
      throw toStoreError(error, 'read');
    }
    return result;
  }

  async openCalls(): Promise<OpenCall[]> {
    try {
      return this.selectOpenCalls.all().map((row) => ({ callId: row.call_id, deadlineUs: row.deadline_us }));
    } catch (error) {
      throw toStoreError(error, 'read');
    }
  }

  async ping(): Promise<void> {
    try {
      this.db.prepare('SELECT 1 FROM open_calls LIMIT 1').all();
    } catch (error) {
      throw toStoreError(error, 'ping');
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.retention?.close();
    await this.checkpointer?.close();
    // Leave a self-contained file (no -wal/-shm) so a read-only open later creates nothing.
    // Fails at once with SQLITE_BUSY while a reader is attached: then WAL mode simply stays.
    try {
      this.db.pragma('journal_mode = DELETE');
    } catch (error) {
      this.logger?.debug({ err: error }, 'sqlite stays in WAL mode at close');
    }
    this.db.close();
  }
}
