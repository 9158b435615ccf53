/**
 * The service's handle on the lookup worker thread: start it, feed it, ask it for stats, close it.
 * From `dist/` the worker is the compiled `worker.js`; under ts-jest (sources only) a small
 * bootstrap compiles the `.ts` files with TypeScript's transpiler as the worker requires them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BlockEntry } from './blocklist';
import type { CallFact } from './facts';
import type { FromWorker, ToWorker, WorkerSetup, WorkerStats } from './protocol';

// Plain JavaScript: runs only when the worker's sources are TypeScript (tests), where `typescript` is installed.
const TS_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const ts = require('typescript');
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};
require(workerData.entry);
`;

/** A stats request the worker does not answer within this long resolves with the last answer. */
const STATS_TIMEOUT_MS = 1000;

export class LookupWorkerError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'LookupWorkerError';
  }
}

function spawn(setup: WorkerSetup): Worker {
  const compiled = join(__dirname, 'worker.js');
  if (existsSync(compiled)) return new Worker(compiled, { workerData: setup });
  return new Worker(TS_BOOTSTRAP, { eval: true, workerData: { ...setup, entry: join(__dirname, 'worker.ts') } });
}

export class LookupWorker {
  private nextStatsId = 1;
  private readonly pendingStats = new Map<number, (stats: WorkerStats) => void>();
  private lastStats: WorkerStats | undefined;
  private exited = false;
  private closing: Promise<void> | undefined;

  private constructor(private readonly worker: Worker, private readonly onExit: (error?: Error) => void) {
    worker.on('message', (message: FromWorker) => {
      if (message.type !== 'stats') return;
      this.lastStats = message.stats;
      this.pendingStats.get(message.id)?.(message.stats);
      this.pendingStats.delete(message.id);
    });
    worker.on('error', (error) => {
      if (!this.closing) this.onExit(error);
    });
    worker.once('exit', (code) => {
      this.exited = true;
      for (const resolve of this.pendingStats.values()) if (this.lastStats) resolve(this.lastStats);
      if (!this.closing) this.onExit(new LookupWorkerError(`lookup worker exited with code ${code}`));
    });
  }

  /** Resolves once the worker has built its (empty) state; `onExit` hears of a worker that dies on its own. */
  static async start(setup: WorkerSetup, onExit: (error?: Error) => void): Promise<LookupWorker> {
    const worker = spawn(setup);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type !== 'ready') return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve();
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    return new LookupWorker(worker, onExit);
  }

  private post(message: ToWorker): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  ingest(facts: readonly CallFact[]): void {
    if (facts.length > 0) this.post({ type: 'facts', facts });
  }

  applyBlocklist(entries: readonly BlockEntry[]): void {
    if (entries.length > 0) this.post({ type: 'blocklist', entries });
  }

  /** From now on, lookups are answered (until then: 503, and OpenSIPS fails open). */
  markReady(): void {
    this.post({ type: 'ready' });
  }

  /** Empty figures again, and 503 until markReady(): a rebuild that failed half-way starts over. */
  reset(): void {
    this.post({ type: 'reset' });
  }

  /** Starts the listener; resolves with its port, rejects with the socket error code (EADDRINUSE…). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'listening') resolve(message.port);
        else if (message.type === 'listen-failed') reject(new LookupWorkerError(`lookup listener failed: ${message.code}`, message.code));
        else return;
        this.worker.off('message', onMessage);
      };
      this.worker.on('message', onMessage);
      this.post({ type: 'listen' });
    });
  }

  /**
   * The worker's counters; the last known ones if it does not answer within `timeoutMs` (a scrape
   * never waits long). The worker answers in order: after every message posted before.
   */
  stats(timeoutMs = STATS_TIMEOUT_MS): Promise<WorkerStats | undefined> {
    if (this.exited) return Promise.resolve(this.lastStats);
    const id = this.nextStatsId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingStats.delete(id);
        resolve(this.lastStats);
      }, timeoutMs);
      timer.unref();
      this.pendingStats.set(id, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      this.post({ type: 'stats', id });
    });
  }

  /** Closes the listener and ends the thread. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      this.worker.once('exit', () => resolve());
      this.post({ type: 'close' });
    });
    return this.closing;
  }
}
