/**
 * Whole-file work on a live SQLite database for `qbl backup` and `qbl prune --vacuum`: the
 * statement runs on a worker thread with a connection of its own, so the calling thread stays free
 * to draw progress from the size of the file being written.
 *
 * - backup is `VACUUM INTO` a new file: one read transaction, so the copy is consistent as of its
 *   start; in WAL mode the service keeps committing meanwhile (SQLite's backup API would restart
 *   from scratch after every one of those commits). The copy is written under a temporary name,
 *   checked, then renamed, so FILE is never a half-written database.
 * - vacuum rewrites the file once with `auto_vacuum = INCREMENTAL` (the service then hands freed
 *   pages back a few at a time). It holds the write lock throughout: commits wait, then retry.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION, schemaVersion } from './schema';

// Plain JavaScript, so it runs the same from dist/ and under ts-jest (which cannot load a .ts worker).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true, readonly: workerData.readonly });
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
  for (const step of workerData.steps) {
    const statement = db.prepare(step.sql);
    if (statement.reader) statement.all(...step.params); else statement.run(...step.params);
  }
  parentPort.postMessage({ ok: true });
} catch (error) {
  parentPort.postMessage({ ok: false, code: error.code || null, message: String(error.message || error) });
} finally {
  if (db) db.close();
}
`;

interface Step {
  sql: string;
  params: Array<string | number>;
}

export interface WholeFileProgress {
  /** Bytes expected in all (the source's pages). */
  total: number;
  /** Called with the bytes written so far, a few times a second. */
  onBytes(written: number): void;
}

/** Bytes of the pages in use (what a copy or a vacuum writes, about). */
export function usedBytes(db: Database.Database): number {
  const pages = (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
  return pages * (db.pragma('page_size', { simple: true }) as number);
}

function sizeOf(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}

async function onWorker(path: string, readonly: boolean, steps: Step[], watch: string, progress?: (bytes: number) => void): Promise<void> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, readonly, steps, busyTimeoutMs: 60_000, driver: require.resolve('better-sqlite3') },
  });
  const poll = progress === undefined ? undefined : setInterval(() => progress(sizeOf(watch)), 250);
  try {
    const result = await new Promise<{ ok: boolean; code?: string | null; message?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`sqlite worker exited (${code}) before it answered`)));
    });
    if (!result.ok) throw Object.assign(new Error(result.message ?? 'sqlite failed'), { code: result.code ?? undefined });
  } finally {
    clearInterval(poll);
    await worker.terminate().catch(() => undefined);
  }
}

export interface BackupResult {
  readonly bytes: number;
  readonly cdrs: number;
  readonly events: number;
}

/**
 * Copies the live database at `source` to `target` (which must not exist unless `replace`).
 * Throws with `code` 'EEXIST' when it does; the target is untouched on any failure.
 */
export async function backupDatabase(source: string, target: string, options: { replace?: boolean; progress?: (bytes: number) => void } = {}): Promise<BackupResult> {
  if (existsSync(target) && !options.replace) throw Object.assign(new Error(`${target} exists`), { code: 'EEXIST' });
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { force: true });
  try {
    await onWorker(source, true, [{ sql: 'VACUUM INTO ?', params: [partial] }], partial, options.progress);
    const check = checkCopy(partial);
    renameSync(partial, target);
    return { ...check, bytes: sizeOf(target) };
  } finally {
    rmSync(partial, { force: true });
  }
}

/** The copy opens, passes quick_check, and is of our schema: then it is worth keeping. */
function checkCopy(path: string): { cdrs: number; events: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the copy failed its check: ${String(check)}`);
    if (schemaVersion(db) !== SCHEMA_VERSION) throw new Error(`the copy has schema version ${schemaVersion(db)}, not ${SCHEMA_VERSION}`);
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { cdrs: count('cdrs'), events: count('events') };
  } finally {
    db.close();
  }
}

/** Rewrites the file once with incremental auto-vacuum (see the header); progress from the WAL's growth. */
export async function vacuumIncremental(path: string, progress?: (bytes: number) => void): Promise<void> {
  await onWorker(path, false, [
    { sql: 'PRAGMA auto_vacuum = INCREMENTAL', params: [] },
    { sql: 'VACUUM', params: [] },
    // Leave a short WAL: the vacuum wrote the whole file there.
    { sql: 'PRAGMA wal_checkpoint(TRUNCATE)', params: [] },
  ], `${path}-wal`, progress);
}
