/**
 * The number lookup inside `qbl start`: the I/O around the worker thread that answers OpenSIPS.
 *
 * - At start: the listener opens, then the figures are rebuilt from the CDRs of the window in the
 *   store and the block list is read; until then lookups get 503 and OpenSIPS fails open.
 * - SQLite (one instance): each batch's CDRs reach the figures through the pipeline's commit hook,
 *   exactly once per version.
 * - A search engine (several instances): every instance reads the CDRs every instance wrote, by
 *   `written_at`, every poll interval; its own are among them, so the hook is not used.
 * - The block list is read from the store every poll interval.
 * A failed poll is logged and retried on the next tick; the lookup keeps answering from what it has.
 */
import type { CdrRecord } from '../../correlators/cdr';
import type { DialPlan } from '../numbers/dial-plan';
import type { Logger } from '../observability/logger';
import type { LookupReadings } from '../observability/metrics';
import type { LookupStore, StoredCall } from '../stores/lookup-store';
import { factOf, factOfCdr, type CallFact } from './facts';
import { LookupWorker } from './lookup-worker';
import { DAY_S } from './number-figures';
import type { LookupOptions } from './options';
import type { WorkerSetup, WorkerStats } from './protocol';

/** CDR versions re-read on each poll of a shared store: covers the engine's refresh, bulk retries and clock skew between instances. */
export const WRITTEN_OVERLAP_US = 10_000_000;
/** Block-list versions re-read on each poll: covers clock skew between the hosts `qbl blocklist` runs on. */
export const BLOCKLIST_OVERLAP_US = 600_000_000;
const PRUNE_INTERVAL_MS = 10_000;
/** A rebuild that failed (the store did not answer) is tried again this much later. */
const REBUILD_RETRY_MS = 5_000;

export interface LookupServiceOptions {
  readonly config: LookupOptions;
  readonly dialPlan: DialPlan;
  readonly store: LookupStore;
  readonly logger: Logger;
  /** Injected in tests. */
  readonly wallClockMs?: () => number;
  /** How long after a failed rebuild to try again (default 5 s). */
  readonly rebuildRetryMs?: number;
}

export interface LookupServiceStats {
  /** Seconds since the figures were last known complete: 0 with SQLite, the last successful poll otherwise. */
  readonly figuresAgeS: number;
  readonly pollFailures: number;
  /** Listening, with the figures rebuilt: lookups are answered. */
  readonly answering: boolean;
}

export class LookupService {
  private worker: LookupWorker | undefined;
  private port: number | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private blockCursorUs = 0;
  private writtenCursorUs = 0;
  /** cdr_id → written_at of the CDR versions read in the last overlap: a re-read is not counted twice. */
  private readonly recentlyWritten = new Map<string, number>();
  private lastCompleteMs: number;
  private pollFailures = 0;
  /** The figures are rebuilt and the block list read: the worker answers lookups. */
  private ready = false;
  private preparing: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LookupServiceOptions) {
    this.now = options.wallClockMs ?? Date.now;
    this.lastCompleteMs = this.now();
  }

  /** True when figures come from polling a store every instance writes to, not from this instance's commits. */
  get shared(): boolean {
    return this.options.store.writtenSince !== undefined;
  }

  get listeningPort(): number | undefined {
    return this.port;
  }

  /** For the pipeline's commit hook: the CDRs of a batch just committed. */
  readonly onCommitted = (cdrs: readonly CdrRecord[]): void => {
    if (this.shared || this.worker === undefined || cdrs.length === 0) return;
    try {
      this.worker.ingest(cdrs.map(factOfCdr));
    } catch (error) {
      // The batch is committed: a lookup problem must never make the pipeline retry it.
      this.options.logger.error({ err: error }, 'lookup: CDRs of a commit not folded into the figures');
    }
  };

  /**
   * Listens (throws LookupWorkerError, e.g. EADDRINUSE, when it cannot), then rebuilds the figures
   * and reads the block list; lookups get 503 (OpenSIPS fails open) until both are done. A store
   * that does not answer at start does not stop the service: the rebuild is retried until it does.
   */
  async start(): Promise<number> {
    const { config, dialPlan, logger, store } = this.options;
    const setup: WorkerSetup = {
      host: config.host, port: config.port, dialPlan, limits: config.limits, pruneIntervalMs: PRUNE_INTERVAL_MS,
      rules: { ...config.rules, invalidCodes: [...config.rules.invalidCodes] },
    };
    const worker = await LookupWorker.start(setup, (error) => {
      logger.error({ err: error }, 'lookup worker stopped: lookups are not answered (OpenSIPS fails open) until the service restarts');
      this.port = undefined;
    });
    this.worker = worker;
    try {
      this.port = await worker.listen();
    } catch (error) {
      await worker.close();
      this.worker = undefined;
      throw error;
    }
    logger.info({ host: config.host, port: this.port, store: store.description, figures: this.shared ? 'shared store poll' : 'commit hook' },
      'number lookup listening (GET /v1/numbers/{number}); answering once the figures are rebuilt');
    this.preparing = this.prepare(worker);
    await this.preparing;
    this.pollTimer = setInterval(() => {
      this.polling = this.poll().catch(() => undefined);
    }, config.pollIntervalMs);
    this.pollTimer.unref();
    return this.port;
  }

  /** Rebuild and block list, then ready; on failure, empty figures and another try later. */
  private async prepare(worker: LookupWorker): Promise<void> {
    try {
      await this.rebuild(worker);
      await this.pollBlocklist(worker);
      worker.markReady();
      this.ready = true;
    } catch (error) {
      const retryInMs = this.options.rebuildRetryMs ?? REBUILD_RETRY_MS;
      this.options.logger.warn({ err: error, store: this.options.store.description, retryInMs },
        'lookup cannot rebuild its figures from the store; answering 503 (OpenSIPS fails open) until it can');
      worker.reset();
      this.recentlyWritten.clear();
      if (this.closing) return;
      this.retryTimer = setTimeout(() => {
        this.preparing = this.prepare(worker);
      }, retryInMs);
      this.retryTimer.unref();
    }
  }

  private async rebuild(worker: LookupWorker): Promise<void> {
    const started = this.now();
    const sinceUs = (started / 1000 - this.options.config.rules.windowDays * DAY_S) * 1_000_000;
    this.writtenCursorUs = started * 1000;
    const calls = await this.options.store.callsSince(sinceUs, (chunk) => {
      worker.ingest(chunk.map(factOf));
      this.remember(chunk);
    });
    this.lastCompleteMs = started;
    this.options.logger.info({ calls, windowDays: this.options.config.rules.windowDays, ms: this.now() - started }, 'lookup figures rebuilt from the store');
  }

  /** Keeps the versions that the first polls will read again. */
  private remember(written: readonly StoredCall[]): void {
    if (!this.shared) return;
    const fromUs = this.writtenCursorUs - WRITTEN_OVERLAP_US;
    for (const w of written) if (w.writtenAtUs >= fromUs) this.recentlyWritten.set(w.cdrId, w.writtenAtUs);
  }

  private async pollBlocklist(worker: LookupWorker): Promise<void> {
    const entries = await this.options.store.blockEntriesSince(Math.max(0, this.blockCursorUs - BLOCKLIST_OVERLAP_US));
    for (const entry of entries) this.blockCursorUs = Math.max(this.blockCursorUs, entry.updatedAtUs);
    worker.applyBlocklist(entries);
  }

  private async pollWritten(worker: LookupWorker): Promise<void> {
    const { store } = this.options;
    if (store.writtenSince === undefined) return;
    const startedMs = this.now();
    const written = await store.writtenSince(this.writtenCursorUs - WRITTEN_OVERLAP_US);
    const fresh: CallFact[] = [];
    for (const w of written) {
      if (this.recentlyWritten.get(w.cdrId) === w.writtenAtUs) continue;
      this.recentlyWritten.set(w.cdrId, w.writtenAtUs);
      this.writtenCursorUs = Math.max(this.writtenCursorUs, w.writtenAtUs);
      fresh.push(factOf(w));
    }
    worker.ingest(fresh);
    const forgetBeforeUs = this.writtenCursorUs - WRITTEN_OVERLAP_US;
    for (const [cdrId, writtenAtUs] of this.recentlyWritten) if (writtenAtUs < forgetBeforeUs) this.recentlyWritten.delete(cdrId);
    this.lastCompleteMs = startedMs;
  }

  /** One poll of the store; resolves (never rejects) after logging a failure. */
  private async poll(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined || !this.ready) return;
    try {
      await this.pollBlocklist(worker);
      await this.pollWritten(worker);
    } catch (error) {
      this.pollFailures += 1;
      this.options.logger.warn({ err: error, store: this.options.store.description }, 'lookup poll of the store failed; answering from the figures held, retrying next tick');
    }
  }

  /** Runs one poll now (tests, and `qbl blocklist` users who want to see a change at once). */
  async pollNow(): Promise<void> {
    await this.polling;
    this.polling = this.poll();
    await this.polling;
  }

  workerStats(): Promise<WorkerStats | undefined> {
    return this.worker?.stats() ?? Promise.resolve(undefined);
  }

  /** What the metrics export: the worker's counters (one stats request) and this side's own. */
  async readings(): Promise<LookupReadings> {
    const worker = await this.workerStats();
    const byVerdict: Record<string, Record<string, number>> = {};
    for (const [key, count] of Object.entries(worker?.lookups ?? {})) {
      const [verdict = '', reasons = ''] = key.split('|');
      (byVerdict[verdict] ??= {})[reasons] = count;
    }
    const { answering, figuresAgeS, pollFailures } = this.stats();
    return {
      lookupsByVerdictAndReasons: byVerdict,
      rejectedByStatus: worker?.rejected ?? {},
      evictionsByTable: { numbers: worker?.state.evictedNumbers ?? 0, pairs: worker?.state.evictedPairs ?? 0 },
      duration: worker?.latency ?? { boundsS: [], counts: [], sumS: 0, count: 0 },
      trackedNumbers: worker?.state.numbers ?? 0,
      trackedPairs: worker?.state.pairs ?? 0,
      openConnections: worker?.connections.open ?? 0,
      droppedConnections: worker?.connections.dropped ?? 0,
      blocklistEntries: worker?.state.blockEntries ?? 0,
      answering,
      figuresAgeS,
      pollFailures,
    };
  }

  stats(): LookupServiceStats {
    return {
      figuresAgeS: this.shared ? Math.max(0, (this.now() - this.lastCompleteMs) / 1000) : 0,
      pollFailures: this.pollFailures,
      answering: this.ready && this.port !== undefined,
    };
  }

  /** Stops polling, closes the listener and the store connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.pollTimer);
      clearTimeout(this.retryTimer);
      await this.preparing;
      await this.polling;
      await this.worker?.close();
      this.port = undefined;
      await this.options.store.close();
    })();
    return this.closing;
  }
}
