/**
 * Retention of the calls index (`QBL_CALLS_RETENTION_DAYS`, `qbl prune` in search mode): the
 * documents of **closed** calls not written for N days are deleted, in steps of a bounded delete
 * by query. An open call's document is never deleted: the query asks for `open: false`, and a
 * document written after the query found it (a late event, a call folded again) is a version
 * conflict, which the engine skips instead of deleting (docs/scaling.md).
 *
 * Deleting one loses no history: a call without a call document has its history read from the
 * events index (kept QBL_RETENTION_DAYS), as for a call written before call documents existed.
 */
import { formatUs } from '../../../correlators/cdr';
import type { Logger } from '../../observability/logger';
import { callsIndex } from './calls';
import type { SearchEngine } from './engine';

const DAY_US = 86_400_000_000;

/** Documents per delete-by-query step: bounded work per request, well under the client's timeout. */
export const CALLS_PRUNE_STEP = 5000;

/** Closed calls whose document was last written before `cutoffUs`. */
export function prunableCallsQuery(cutoffUs: number): Readonly<Record<string, unknown>> {
  return { bool: { filter: [{ term: { open: false } }, { range: { updated_at: { lt: formatUs(cutoffUs) } } }] } };
}

export function callsCutoffUs(nowMs: number, days: number): number {
  return nowMs * 1000 - days * DAY_US;
}

/** How many call documents a prune at `cutoffUs` would delete (near-real-time). */
export function countPrunableCalls(engine: SearchEngine, prefix: string, cutoffUs: number): Promise<number> {
  return engine.count(callsIndex(prefix), prunableCallsQuery(cutoffUs));
}

export interface CallsPruned {
  readonly deleted: number;
  /** Matching documents written meanwhile: kept. */
  readonly conflicts: number;
}

/**
 * Deletes every prunable call document, `step` at a time; `onStep` sees each step's deletions.
 * `stop` is asked before each step: true ends the pass there (what is left goes next pass).
 */
export async function pruneCalls(
  engine: SearchEngine, prefix: string, cutoffUs: number, onStep?: (deleted: number) => void, step = CALLS_PRUNE_STEP,
  stop: () => boolean = () => false,
): Promise<CallsPruned> {
  let deleted = 0;
  let conflicts = 0;
  for (;;) {
    if (stop()) return { deleted, conflicts };
    const done = await engine.deleteByQuery(callsIndex(prefix), prunableCallsQuery(cutoffUs), step);
    deleted += done.deleted;
    conflicts += done.conflicts;
    onStep?.(done.deleted);
    // A short step went through every match: nothing old is left. Conflicts count towards the
    // step (documents written meanwhile: kept, and no longer old); a step of conflicts only ends it.
    if (done.deleted === 0 || done.deleted + done.conflicts < step) return { deleted, conflicts };
  }
}

export interface CallsRetentionOptions {
  readonly days: number;
  readonly logger?: Logger;
  /** Before the first pass (default one minute: the service's start goes first). */
  readonly firstDelayMs?: number;
  /** Between passes (default one hour). */
  readonly intervalMs?: number;
  readonly nowMs?: () => number;
  /** Documents per delete-by-query step (default CALLS_PRUNE_STEP). */
  readonly step?: number;
}

/**
 * The service's side: one pass a while after start, then every hour. Every instance runs it (a
 * standby too: the engine is shared); two passes at once only conflict, which deletes nothing twice.
 */
export class CallsRetentionSchedule {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;

  constructor(private readonly engine: SearchEngine, private readonly prefix: string, private readonly options: CallsRetentionOptions) {}

  start(): void {
    this.options.logger?.info({ callsRetentionDays: this.options.days }, 'calls index retention on: closed calls\' documents go after this many days');
    this.schedule(this.options.firstDelayMs ?? 60_000);
  }

  /**
   * Stops the timer and waits for a pass in progress to end its current step (the engine is closed
   * after): a first pass over a large index is many steps, and a shutdown must not wait for them all.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass now; exported for tests. A failure is logged, and the next pass tries again. */
  async pass(): Promise<CallsPruned | undefined> {
    const cutoff = callsCutoffUs((this.options.nowMs ?? Date.now)(), this.options.days);
    try {
      const pruned = await pruneCalls(this.engine, this.prefix, cutoff, undefined, this.options.step ?? CALLS_PRUNE_STEP, () => this.closed);
      if (pruned.deleted > 0) this.options.logger?.info({ ...pruned, callsRetentionDays: this.options.days }, 'calls index retention pass done');
      return pruned;
    } catch (error) {
      this.options.logger?.warn({ reason: error instanceof Error ? error.message : String(error) }, 'calls index retention pass failed; trying again later');
      return undefined;
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().then(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs ?? 3_600_000);
      });
    }, delayMs);
    this.timer.unref();
  }
}
