/**
 * The SQLite schema as a list of migrations; `PRAGMA user_version` records how many have run.
 * Add a column by appending a migration, never by editing one that has shipped.
 */
import type { Database } from 'better-sqlite3';

type Migration = (db: Database) => void;

const MIGRATIONS: readonly Migration[] = [
  // 0 → 1: events, CDRs and the open-call set. STRICT so a non-integer time fails loudly.
  (db) => {
    db.exec(`
      CREATE TABLE events (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        event_name TEXT NOT NULL,
        time_us INTEGER NOT NULL,
        reply_code INTEGER,
        direction TEXT,
        caller TEXT,
        callee TEXT,
        acc TEXT,
        exchange TEXT NOT NULL,
        routing_key TEXT NOT NULL,
        body BLOB NOT NULL,
        received_at_us INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX events_call_time ON events (call_id, time_us);

      CREATE TABLE cdrs (
        cdr_id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        caller TEXT,
        callee TEXT,
        caller_e164 TEXT,
        callee_e164 TEXT,
        disposition TEXT NOT NULL,
        start_us INTEGER NOT NULL,
        invite_at_us INTEGER,
        source TEXT NOT NULL,
        record TEXT NOT NULL
      ) STRICT;
      CREATE INDEX cdrs_call_id ON cdrs (call_id);
      CREATE INDEX cdrs_caller ON cdrs (caller);
      CREATE INDEX cdrs_callee ON cdrs (callee);
      CREATE INDEX cdrs_caller_e164 ON cdrs (caller_e164);
      CREATE INDEX cdrs_callee_e164 ON cdrs (callee_e164);
      CREATE INDEX cdrs_start ON cdrs (start_us);
      CREATE INDEX cdrs_disposition_start ON cdrs (disposition, start_us);

      CREATE TABLE open_calls (
        call_id TEXT PRIMARY KEY,
        deadline_us INTEGER NOT NULL
      ) STRICT;
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Runs the missing migrations in one transaction; returns the version found before. */
export function migrate(db: Database): number {
  if (schemaVersion(db) >= SCHEMA_VERSION) return schemaVersion(db);
  // Read the version again under the write lock: another process may have migrated meanwhile.
  return db.transaction(() => {
    const from = schemaVersion(db);
    for (let version = from; version < SCHEMA_VERSION; version += 1) MIGRATIONS[version]!(db);
    if (from < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return from;
  }).immediate();
}
