/**
 * A CallStore that forwards to the real one and notes when each commit returned: the service's
 * public hook for "committed" (Service.start accepts a store), so the pipeline is measured unchanged.
 */
import { performance } from 'node:perf_hooks';
import type { CdrRecord } from '../correlators/cdr';
import type { CallEvent } from '../correlators/events';
import type { CallStore, CommitBatch, CommitResult, OpenCall } from '../src/stores/store';

export interface CommitNote {
  /** performance.now() when the commit returned. */
  readonly atMs: number;
  readonly events: number;
  readonly cdrs: readonly CdrRecord[];
}

export class TimedStore implements CallStore {
  committedEvents = 0;
  /** Earliest `receivedAtUs` among committed events: the first delivery (consumer wall clock, µs). */
  firstReceivedAtUs = Number.POSITIVE_INFINITY;
  /** Wall-clock µs (performance.timeOrigin based, as the consumer's) when the last commit returned. */
  lastCommitAtUs = 0;
  commits = 0;

  constructor(readonly inner: CallStore, private readonly onCommit?: (note: CommitNote) => void) {}

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const result = await this.inner.commit(batch);
    const atMs = performance.now();
    this.commits += 1;
    this.committedEvents += batch.events.length;
    for (const stored of batch.events) if (stored.receivedAtUs < this.firstReceivedAtUs) this.firstReceivedAtUs = stored.receivedAtUs;
    this.lastCommitAtUs = (performance.timeOrigin + atMs) * 1000;
    this.onCommit?.({ atMs, events: batch.events.length, cdrs: batch.cdrs });
    return result;
  }

  eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    return this.inner.eventsForCalls(callIds);
  }

  openCalls(): Promise<OpenCall[]> {
    return this.inner.openCalls();
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
