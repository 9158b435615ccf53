/**
 * Opening the SQLite file. The writer's open creates it (and its directory), sets WAL and FULL
 * sync, and migrates the schema; a reader's open never creates or changes anything and refuses a
 * file that is not a qbl database of the current schema, with a ConfigError naming SQLITE_PATH.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Database as Db } from 'better-sqlite3';
import { ConfigError } from '../../errors';
import type { Logger } from '../../observability/logger';
import { SCHEMA_VERSION, migrate, schemaVersion } from './schema';
import { toStoreError } from './transient';
import { prepareNewFile } from './retention';

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * A connection that may write: the file (and its directory) created when missing, WAL (readers and
 * other writers beside it), FULL sync. Schema is the caller's business; on failure it is closed.
 */
export function openConnection(path: string, busyTimeoutMs: number): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    prepareNewFile(db); // before WAL: switching to WAL writes the file's first page
    db.pragma('journal_mode = WAL');
    // FULL: in WAL mode NORMAL may lose the last commits on power loss, and we ack after commit.
    db.pragma('synchronous = FULL');
  } catch (error) {
    db.close();
    throw toStoreError(error, 'open');
  }
  return db;
}

export function openWritable(path: string, busyTimeoutMs: number, logger?: Logger): Db {
  const db = openConnection(path, busyTimeoutMs);
  try {
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

export function openReadonly(path: string, busyTimeoutMs: number): Db {
  const notADatabase = (reason: string) => new ConfigError('SQLITE_PATH', 'the SQLite database written by `qbl start`', path, reason);
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
