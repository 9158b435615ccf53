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
  // 1 → 2: fewer random-order index writes per commit (docs/performance.md). Each commit writes every
  // index page it touched to the WAL; keys in arrival order touch a few pages, random keys one each.
  // - events are deduplicated on (time_us, id) instead of id alone: the id hashes the time, so the
  //   two are equivalent, and events arrive roughly in time order;
  // - cdrs_call_id goes: a CDR's id is a function of its call id, so the primary key finds it.
  (db) => {
    db.exec(`
      CREATE TABLE events_v2 (
        id TEXT NOT NULL,
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
      INSERT INTO events_v2 SELECT id, call_id, kind, event_name, time_us, reply_code, direction, caller, callee, acc,
        exchange, routing_key, body, received_at_us FROM events ORDER BY time_us, id;
      DROP TABLE events;
      ALTER TABLE events_v2 RENAME TO events;
      CREATE UNIQUE INDEX events_time_id ON events (time_us, id);
      CREATE INDEX events_call_time ON events (call_id, time_us);
      DROP INDEX cdrs_call_id;
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Runs the missing migrations up to `target` (tests stop early to build an old file) in one transaction; returns the version found before. */
export function migrate(db: Database, target: number = SCHEMA_VERSION): number {
  if (schemaVersion(db) >= target) return schemaVersion(db);
  // Read the version again under the write lock: another process may have migrated meanwhile.
  return db.transaction(() => {
    const from = schemaVersion(db);
    for (let version = from; version < target; version += 1) MIGRATIONS[version]!(db);
    if (from < target) db.pragma(`user_version = ${target}`);
    return from;
  }).immediate();
}
