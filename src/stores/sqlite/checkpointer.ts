/**
 * Copies committed WAL frames into the database file on a worker thread, with a connection of its
 * own. Left to SQLite, the committing connection checkpoints inside COMMIT, on the event loop: half
 * of every commit's time went there (docs/performance.md), while deliveries waited unread.
 *
 * Durability does not depend on it: a commit is durable once its WAL frames are synced (the writer
 * keeps synchronous=FULL). A checkpoint only keeps the WAL short; if this worker falls behind or
 * dies, the writer's own auto-checkpoint (set high, see WRITER_AUTOCHECKPOINT_PAGES) takes over.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../observability/logger';

/** The writer checkpoints by itself only when the WAL has grown this long (pages of 4 KiB: 256 MiB). */
export const WRITER_AUTOCHECKPOINT_PAGES = 65_536;

// Plain JavaScript, so it runs the same from dist/ and under ts-jest (which cannot load a .ts worker).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 1000');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ code: error.code || null, message: String(error.message || error) });
  }
});
`;

/** The worker writes back only when a checkpoint failed. */
interface Failure {
  code: string | null;
  message: string;
}

export class Checkpointer {
  private readonly worker: Worker;
  private closed = false;
  private exited = false;
  private lastFailure: string | null = null;
  private closing: Promise<void> | null = null;

  constructor(path: string, private readonly logger?: Logger) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver: require.resolve('better-sqlite3') } });
    this.worker.unref();
    this.worker.on('message', (failure: Failure) => this.failed(failure));
    this.worker.once('exit', () => {
      this.exited = true;
      this.closed = true;
    });
    this.worker.on('error', (error) => {
      this.closed = true;
      this.logger?.warn({ err: error }, 'sqlite checkpoint worker failed; the writer checkpoints by itself');
    });
  }

  /**
   * Asks for a checkpoint after a commit. Fire and forget: the worker runs one per request, in
   * order, however busy this thread is (a checkpoint with nothing new to copy costs next to nothing).
   */
  request(): void {
    if (!this.closed) this.worker.postMessage('checkpoint');
  }

  /** Waits for a running checkpoint, then closes the worker's connection. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = true;
      if (this.exited) return resolve();
      this.worker.ref(); // an unref'd worker would let the process exit before the database is closed
      this.worker.once('exit', () => resolve());
      this.worker.postMessage('close');
    });
    return this.closing;
  }

  private failed(failure: Failure): void {
    // SQLITE_BUSY and the like clear up by themselves; say it once, not after every commit.
    if (failure.message === this.lastFailure) return;
    this.lastFailure = failure.message;
    this.logger?.debug({ code: failure.code, error: failure.message }, 'sqlite checkpoint did not run');
  }
}
