/**
 * The lookup's side of the SQLite file, on a connection of its own: the `blocklist` table (created
 * here if missing, so `qbl blocklist` works before the service ever ran) and reads of the `cdrs`
 * table for the rebuild at start. WAL mode lets it read and write beside the service's writer.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { BlockEntry, LookupStore, StoredCall } from '../lookup-store';
import { DEFAULT_BUSY_TIMEOUT_MS, openConnection } from './open-database';
import { toStoreError } from './transient';

const CHUNK = 10_000;

interface BlockRow {
  entry: string;
  reason: string;
  created_us: number;
  expires_us: number | null;
  updated_us: number;
  removed: number;
}

interface FactRow {
  cdr_id: string;
  caller: string | null;
  callee: string | null;
  caller_e164: string | null;
  callee_e164: string | null;
  disposition: string;
  start_us: number;
  final_code: number | null;
  talk_us: number | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS blocklist (
    entry TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER,
    updated_us INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX IF NOT EXISTS blocklist_updated ON blocklist (updated_us);
`;

function rowToEntry(row: BlockRow): BlockEntry {
  return {
    entry: row.entry, reason: row.reason, createdAtUs: row.created_us, expiresAtUs: row.expires_us,
    updatedAtUs: row.updated_us, removed: row.removed !== 0,
  };
}

export class SqliteLookupStore implements LookupStore {
  private readonly upsert: Statement;
  private readonly since: Statement<[number], BlockRow>;
  private readonly one: Statement<[string], BlockRow>;

  private constructor(private readonly db: Db, readonly description: string) {
    this.upsert = db.prepare(`
      INSERT INTO blocklist (entry, reason, created_us, expires_us, updated_us, removed) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(entry) DO UPDATE SET reason = excluded.reason, created_us = excluded.created_us, expires_us = excluded.expires_us,
        updated_us = excluded.updated_us, removed = excluded.removed`);
    this.one = db.prepare('SELECT entry, reason, created_us, expires_us, updated_us, removed FROM blocklist WHERE entry = ?');
    this.since = db.prepare('SELECT entry, reason, created_us, expires_us, updated_us, removed FROM blocklist WHERE updated_us >= ? ORDER BY updated_us, entry');
  }

  static open(path: string): SqliteLookupStore {
    const db = openConnection(path, DEFAULT_BUSY_TIMEOUT_MS);
    try {
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw toStoreError(error, 'open');
    }
    return new SqliteLookupStore(db, `sqlite ${path}`);
  }

  async putBlockEntries(entries: readonly BlockEntry[]): Promise<void> {
    try {
      this.db.transaction(() => {
        for (const e of entries) this.upsert.run(e.entry, e.reason, e.createdAtUs, e.expiresAtUs, e.updatedAtUs, e.removed ? 1 : 0);
      }).immediate();
    } catch (error) {
      throw toStoreError(error, 'block list write');
    }
  }

  async blockEntry(entry: string): Promise<BlockEntry | null> {
    try {
      const row = this.one.get(entry);
      return row === undefined ? null : rowToEntry(row);
    } catch (error) {
      throw toStoreError(error, 'block list read');
    }
  }

  async blockEntriesSince(sinceUs: number): Promise<BlockEntry[]> {
    try {
      return this.since.all(sinceUs).map(rowToEntry);
    } catch (error) {
      throw toStoreError(error, 'block list read');
    }
  }

  /** The CDRs table exists once the service has opened the file; before that there is nothing to rebuild from. */
  async callsSince(sinceUs: number, onChunk: (calls: StoredCall[]) => void): Promise<number> {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cdrs'").get();
    if (exists === undefined) return 0;
    // final_code and talk_us live only in the stored record: SQLite's JSON functions read them without a JS parse.
    const select = this.db.prepare<[number], FactRow>(`
      SELECT cdr_id, caller, callee, caller_e164, callee_e164, disposition, start_us,
        json_extract(record, '$.cdr.final_code') AS final_code, json_extract(record, '$.cdr.talk_us') AS talk_us
      FROM cdrs WHERE start_us >= ? ORDER BY start_us`);
    let total = 0;
    let chunk: StoredCall[] = [];
    try {
      for (const row of select.iterate(sinceUs)) {
        chunk.push({
          cdrId: row.cdr_id, caller: row.caller, callee: row.callee, callerE164: row.caller_e164, calleeE164: row.callee_e164,
          startUs: row.start_us, finalCode: row.final_code, disposition: row.disposition, talkUs: row.talk_us, writtenAtUs: 0,
        });
        if (chunk.length === CHUNK) {
          onChunk(chunk);
          total += chunk.length;
          chunk = [];
        }
      }
    } catch (error) {
      throw toStoreError(error, 'read');
    }
    if (chunk.length > 0) onChunk(chunk);
    return total + chunk.length;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
