/**
 * The search store no longer keeps a local SQLite file: tests that compare what the search engine
 * and SQLite give for the same data write both through this store. The first store answers reads.
 */
import type { CallEvent } from '../../correlators/events';
import type { CallStore, CommitBatch, CommitResult, OpenCall } from '../../src/stores/store';

export class TeeStore implements CallStore {
  constructor(private readonly primary: CallStore, private readonly copy: CallStore) {}

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const result = await this.primary.commit(batch);
    const stale = result.staleCalls;
    // What the primary did not write for stale calls, the copy must not write either.
    await this.copy.commit(stale === undefined ? batch : {
      ...batch,
      events: batch.events.filter((s) => !stale.has(s.event.callId)),
      cdrs: batch.cdrs.filter((r) => !stale.has(r.cdr.call_id)),
      openCalls: batch.openCalls.filter((c) => !stale.has(c.callId)),
      closedCallIds: batch.closedCallIds.filter((id) => !stale.has(id)),
    });
    return result;
  }

  eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    return this.primary.eventsForCalls(callIds);
  }

  openCalls(): Promise<OpenCall[]> {
    return this.primary.openCalls();
  }

  ping(): Promise<void> {
    return this.primary.ping();
  }

  async close(): Promise<void> {
    await this.primary.close();
    await this.copy.close();
  }
}
