/**
 * The embedded store (the default writer): one SQLite file in WAL mode, one transaction per batch.
 * better-sqlite3 is synchronous; the async methods only satisfy the store interfaces.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { ConfigError, StoreUnavailableError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { CallEvent } from '../../../correlators/events';
import {
  NOTHING_REJECTED, type CallStore, type CdrQuery, type CdrReader, type CommitBatch, type CommitResult,
  type CdrRange, type EventRow, type OpenCall, type StoredCdr, type StreamedCdr,
} from '../store';
import { SqliteCdrStream } from './cdr-stream';
import { SCHEMA_VERSION, migrate, schemaVersion } from './schema';
import {
  CDR_COLUMNS, EVENT_COLUMNS, cdrValues, eventValues, recordToStoredCdr, rowToEvent, rowToEventRow, type EventRecordRow,
} from './rows';
import { cdrIdFor } from '../../../correlators/cdr';
import { Checkpointer, WRITER_AUTOCHECKPOINT_PAGES } from './checkpointer';

export interface SqliteOpenOptions {
  logger?: Logger;
  /** For the CLI: never creates or changes anything. */
  readonly?: boolean;
  /** How long a write waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

export interface RowCounts {
  events: number;
  cdrs: number;
  openCalls: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** Call ids per history lookup statement. */
const CALLS_PER_LOOKUP = 1000;

/** Errors that may clear up by themselves (another writer, a full or failing disk): retry later. */
// A read-only or unopenable file (permissions, a remount) and memory pressure can be fixed while we wait.
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;

function toStoreError(error: unknown, action: string): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && TRANSIENT.test(code)) {
    return new StoreUnavailableError(`sqlite ${action} failed: ${code}`, { cause: error });
  }
  return error;
}

const EVENT_LIST = EVENT_COLUMNS.join(', ');
const placeholders = (columns: readonly string[]) => columns.map(() => '?').join(', ');

export class SqliteStore implements CallStore, CdrReader {
  private readonly insertEvent: Statement;
  private readonly upsertCdr: Statement;
  private readonly upsertOpenCall: Statement;
  private readonly deleteOpenCall: Statement;
  private readonly selectCallEvents: Statement<[string], EventRecordRow>;
  private readonly selectCallsEvents: Statement<[string], EventRecordRow>;
  private readonly selectOpenCalls: Statement<[], { call_id: string; deadline_us: number }>;
  private readonly searchStatements = new Map<string, Statement>();
  private readonly writeBatch: (batch: CommitBatch) => void;
  private stream?: SqliteCdrStream;

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
    this.selectCallEvents = db.prepare(`SELECT ${EVENT_LIST} FROM events WHERE call_id = ? ORDER BY time_us, id`);
    // One statement for a batch's unknown calls (a JSON array parameter): one round trip instead of one per call.
    this.selectCallsEvents = db.prepare(
      `SELECT ${EVENT_LIST} FROM events WHERE call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, time_us, id`,
    );
    this.selectOpenCalls = db.prepare('SELECT call_id, deadline_us FROM open_calls ORDER BY call_id');
    const write = db.transaction((batch: CommitBatch) => {
      for (const stored of batch.events) this.insertEvent.run(eventValues(stored));
      for (const record of batch.cdrs) this.upsertCdr.run(cdrValues(record));
      for (const call of batch.openCalls) this.upsertOpenCall.run(call.callId, call.deadlineUs);
      for (const callId of batch.closedCallIds) this.deleteOpenCall.run(callId);
    });
    // IMMEDIATE takes the write lock up front, so a busy database fails at BEGIN, not half-way.
    this.writeBatch = (batch) => write.immediate(batch);
  }

  static open(path: string, options: SqliteOpenOptions = {}): SqliteStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (options.readonly) return new SqliteStore(openReadonly(path, busyTimeoutMs), options.logger);
    const db = openWritable(path, busyTimeoutMs, options.logger);
    if (path === ':memory:') return new SqliteStore(db, options.logger);
    db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    return new SqliteStore(db, options.logger, new Checkpointer(path, options.logger));
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
    const stream = this.cdrStream();
    try {
      yield* stream.pages(range);
    } catch (error) {
      throw toStoreError(error, 'read');
    }
  }

  async eventRowsForCalls(callIds: readonly string[]): Promise<Map<string, EventRow[]>> {
    try {
      return this.cdrStream().eventRowsForCalls(callIds);
    } catch (error) {
      throw toStoreError(error, 'read');
    }
  }

  private cdrStream(): SqliteCdrStream {
    this.stream ??= new SqliteCdrStream(this.db);
    return this.stream;
  }

  async eventsForCall(callId: string): Promise<EventRow[]> {
    try {
      return this.selectCallEvents.all(callId).map(rowToEventRow);
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
    await this.checkpointer?.close();
    if (!this.db.readonly) {
      // Leave a self-contained file (no -wal/-shm) so a read-only open later creates nothing.
      // Fails at once with SQLITE_BUSY while a reader is attached: then WAL mode simply stays.
      try {
        this.db.pragma('journal_mode = DELETE');
      } catch (error) {
        this.logger?.debug({ err: error }, 'sqlite stays in WAL mode at close');
      }
    }
    this.db.close();
  }

  countRows(): RowCounts {
    const count = (table: string) => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { events: count('events'), cdrs: count('cdrs'), openCalls: count('open_calls') };
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

function openWritable(path: string, busyTimeoutMs: number, logger?: Logger): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    // FULL: in WAL mode NORMAL may lose the last commits on power loss, and we ack after commit.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = OFF');
    const found = schemaVersion(db);
    if (found > SCHEMA_VERSION) {
      throw new ConfigError('SQLITE_PATH', `a database of schema version at most ${SCHEMA_VERSION} (written by a newer qbl?)`, `${path} at version ${found}`);
    }
    // Rewriting the events table of a large file takes a while: say so before, not only after.
    if (found > 0 && found < SCHEMA_VERSION) logger?.info({ sqlitePath: path, from: found, to: SCHEMA_VERSION }, 'sqlite schema migrating');
    const from = migrate(db);
    if (from !== SCHEMA_VERSION) logger?.info({ sqlitePath: path, from, to: SCHEMA_VERSION }, 'sqlite schema migrated');
  } catch (error) {
    db.close();
    throw toStoreError(error, 'open');
  }
  logger?.info({ sqlitePath: path, schemaVersion: SCHEMA_VERSION }, 'sqlite store open');
  return db;
}

function openReadonly(path: string, busyTimeoutMs: number): Db {
  const notADatabase = (detail: string) => new ConfigError('SQLITE_PATH', 'the SQLite database written by `qbl start`', `${path} (${detail})`);
  if (!existsSync(path)) throw notADatabase('no such file');
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw notADatabase((error as { code?: string }).code ?? 'cannot open');
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const found = schemaVersion(db);
    if (found === 0) throw notADatabase('no qbl schema');
    if (found < SCHEMA_VERSION) throw notADatabase(`schema version ${found}; run \`qbl start\` once to migrate it to ${SCHEMA_VERSION}`);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof ConfigError) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw notADatabase(code);
    throw toStoreError(error, 'open');
  }
}
