/**
 * decode → correlate → write, for one batch of deliveries at a time. The consumer acks the
 * batch only after `handleBatch` resolves, and `handleBatch` resolves only after the store
 * committed every event, open-call change and CDR derived from the batch.
 */
import type { Delivery, Verdict } from '../../consumers/batch-handler';
import { decodeMessage } from '../../consumers/decode/decode';
import type { DecoderOptions } from '../../consumers/decode/options';
import type { CallEvent } from '../../correlators/events';
import type { CdrRecord, CdrSource, Disposition } from '../../correlators/cdr';
import { Correlator, type CorrelatorOptions, type CorrelatorStep } from '../../correlators/correlator';
import type { CallStore, StoredCallState, StoredEvent } from '../stores/store';
import { StoreUnavailableError } from '../errors';
import type { Logger } from '../observability/logger';
import { EventClock, wallClockUs } from './event-clock';
import { Mutex } from './mutex';

/** Adds derived fields (e.g. E.164 numbers) to a CDR before it is written. */
export type CdrEnricher = (record: CdrRecord) => CdrRecord;

export interface PipelineStats {
  batches: number;
  messages: number;
  eventsByKind: Record<string, number>;
  rejectedByReason: Record<string, number>;
  cdrsByDisposition: Partial<Record<Disposition, number>>;
  /** The same CDRs by source, then disposition (qbl_cdrs_written_total's labels). */
  cdrsBySourceAndDisposition: Partial<Record<CdrSource, Partial<Record<Disposition, number>>>>;
  commits: number;
  lastCommitMs: number;
  lastCdrAtUs: number | null;
}

export interface PipelineOptions {
  /** The correlator's options, and how far ahead of the wall clock an event may move the event clock. */
  readonly correlator: CorrelatorOptions & { readonly maxClockSkewUs: number };
  readonly decoder: DecoderOptions;
  readonly store: CallStore;
  readonly logger: Logger;
  readonly enrich?: CdrEnricher;
  /** Injected in tests; defaults to Date.now in microseconds. */
  readonly wallClock?: () => number;
  /** Called with the duration of every successful commit (metrics). */
  readonly onCommit?: (durationMs: number) => void;
  /** Called after every successful commit that wrote CDRs, with those CDRs as written (the number lookup). */
  readonly onCommitted?: (cdrs: readonly CdrRecord[]) => void;
  /**
   * The store is shared by several instances (the search store; docs/scaling.md): the pipeline
   * starts as a standby, holding nothing, and becomes active at its first batch — it then reads
   * the open calls from the store (`activate`). `deactivate()` when the queue is lost.
   */
  readonly sharedStore?: boolean;
  /** Only these calls are this pipeline's (a partition's, docs/scaling.md): `restore()` takes the open calls it owns. */
  readonly ownsCall?: (callId: string) => boolean;
}

/** How many times one batch folds calls again whose shared state moved on meanwhile, before it is retried later. */
const MAX_REFOLDS = 3;

const RESTORE_CHUNK = 500;

export class Pipeline {
  readonly correlator: Correlator;
  readonly stats: PipelineStats = {
    batches: 0, messages: 0, eventsByKind: {}, rejectedByReason: {}, cdrsByDisposition: {}, cdrsBySourceAndDisposition: {},
    commits: 0, lastCommitMs: 0, lastCdrAtUs: null,
  };
  private readonly mutex = new Mutex();
  private readonly wallClock: () => number;
  private clock: EventClock;
  /** Shared store only: not consuming (yet), so holding no call and sweeping none. */
  private standby: boolean;

  constructor(private readonly options: PipelineOptions) {
    this.correlator = new Correlator(options.correlator);
    this.wallClock = options.wallClock ?? wallClockUs;
    this.clock = new EventClock(null, this.wallClock(), options.correlator.maxClockSkewUs);
    this.standby = options.sharedStore === true;
  }

  /** Shared store: whether this instance is the active consumer (it has had a batch since it last lost the queue). */
  get active(): boolean {
    return !this.standby;
  }

  /**
   * Shared store: the queue was lost (the broker gives it to a standby). Drops every call from
   * memory once the batch in progress is over: the next owner's writes make them stale.
   */
  deactivate(): Promise<void> {
    return this.mutex.run(async () => {
      if (!this.options.sharedStore || this.standby) return;
      this.standby = true;
      this.correlator.reset();
      this.options.logger.info('lost the queue: standing by, holding no call');
    });
  }

  /** The first batch after standing by: this instance is the active consumer; the open calls come from the store. */
  private async activate(): Promise<void> {
    this.correlator.reset();
    let restored: number;
    try {
      restored = await this.restore();
    } catch (error) {
      this.correlator.reset();
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(`cannot read the open calls from the store: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.standby = false;
    this.options.logger.info({ openCalls: restored }, 'active consumer: restored the open calls from the shared store');
  }

  /** Puts the calls that were open at the last commit back in memory, and the event clock where they left it. */
  async restore(): Promise<number> {
    const { ownsCall } = this.options;
    const all = await this.options.store.openCalls();
    const open = ownsCall === undefined ? all : all.filter((call) => ownsCall(call.callId));
    let latestUs = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < open.length; i += RESTORE_CHUNK) {
      const ids = open.slice(i, i + RESTORE_CHUNK).map((call) => call.callId);
      const history = await this.options.store.eventsForCalls(ids);
      for (const callId of ids) {
        const events = history.get(callId) ?? [];
        for (const event of events) latestUs = Math.max(latestUs, event.timeUs);
        this.correlator.restoreOpen(callId, events);
      }
    }
    const wallUs = this.wallClock();
    if (Number.isFinite(latestUs)) {
      // Stored events from the future (a skewed SIP host) must not start the clock ahead of the wall.
      this.clock = new EventClock(Math.min(latestUs, wallUs), wallUs, this.options.correlator.maxClockSkewUs);
    }
    return open.length;
  }

  readonly handleBatch = (batch: readonly Delivery[]): Promise<Verdict[]> =>
    this.mutex.run(() => this.processBatch(batch));

  /** Closes calls whose deadline passed; a store failure is logged and retried on the next sweep. */
  sweep(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.standby) return;
      const step = this.correlator.sweep(this.clock.now(this.wallClock()));
      if (step.closedCallIds.length === 0) return;
      await this.commit([], step);
    });
  }

  /** Resolves once the batch or sweep in progress (if any) has finished. */
  idle(): Promise<void> {
    return this.mutex.run(async () => undefined);
  }

  eventClockUs(): number {
    return this.clock.now(this.wallClock());
  }

  /** Seconds from the oldest open call's first event to the event clock; 0 when none is open. */
  oldestOpenCallAgeS(): number {
    const oldestUs = this.correlator.oldestOpenCallUs();
    return oldestUs === null ? 0 : Math.max(0, this.eventClockUs() - oldestUs) / 1e6;
  }

  private async processBatch(batch: readonly Delivery[]): Promise<Verdict[]> {
    if (this.standby) await this.activate();
    const verdicts: Verdict[] = new Array(batch.length);
    const stored: StoredEvent[] = [];
    const deliveryOfEvent: number[] = [];
    const wallUs = this.wallClock();
    for (let i = 0; i < batch.length; i += 1) {
      const delivery = batch[i]!;
      const result = decodeMessage(delivery.body, this.options.decoder);
      if (!result.ok) {
        verdicts[i] = { action: 'dead-letter', reason: result.reason, detail: result.detail, stage: 'decode' };
        continue;
      }
      verdicts[i] = ACK;
      this.clock.observe(result.event.timeUs, wallUs);
      deliveryOfEvent.push(i);
      stored.push({
        event: result.event,
        eventName: result.eventName,
        exchange: delivery.exchange,
        routingKey: delivery.routingKey,
        body: delivery.body,
        receivedAtUs: delivery.receivedAtUs,
      });
    }

    await readDeliveriesMeanwhile();
    const events: CallEvent[] = stored.map((s) => s.event);
    const unknown = new Set<string>();
    for (const event of events) if (!this.correlator.isOpen(event.callId)) unknown.add(event.callId);
    const history = unknown.size === 0 ? new Map<string, CallEvent[]>() : await this.history([...unknown]);
    const step = this.correlator.ingest(events, history, this.clock.now(wallUs));

    await readDeliveriesMeanwhile();
    const rejected = await this.commit(stored, step);
    for (let k = 0; k < stored.length; k += 1) {
      const reason = rejected.get(stored[k]!.event.id);
      if (reason !== undefined) verdicts[deliveryOfEvent[k]!] = { action: 'dead-letter', reason: 'store.rejected', detail: reason, stage: 'store' };
    }
    this.count(batch.length, stored, verdicts);
    return verdicts;
  }

  /**
   * The stored events of calls not held in memory, as history (closed calls, rewritten at once).
   * On a shared store, a call still open there is put back in memory open instead: the restore
   * missed it (its document was written after the restore's search, by a late writer or by a killed
   * owner's last request that the engine finished afterwards), and taken for a closed call it would
   * never be swept — with its redelivered events all duplicates, never closed (docs/scaling.md).
   */
  private async history(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    const { store } = this.options;
    if (store.callStates === undefined) return store.eventsForCalls(callIds);
    const history = new Map<string, CallEvent[]>();
    for (const [callId, state] of await store.callStates(callIds)) {
      if (state.open) this.correlator.restoreOpen(callId, state.events);
      else history.set(callId, [...state.events]);
    }
    return history;
  }

  private async commit(stored: readonly StoredEvent[], step: CorrelatorStep, refolds = 0): Promise<ReadonlyMap<string, string>> {
    const enrich = this.options.enrich;
    const all = enrich ? step.cdrs.map(enrich) : step.cdrs;
    const started = performance.now();
    const result = await this.options.store.commit({
      events: stored, cdrs: all, openCalls: step.openCalls, closedCallIds: step.closedCallIds, eventCounts: step.eventCounts,
    });
    const durationMs = performance.now() - started;
    step.apply();
    this.stats.commits += 1;
    this.stats.lastCommitMs = durationMs;
    this.options.onCommit?.(durationMs);
    const stale = result.staleCalls;
    const cdrs = stale === undefined ? all : all.filter((record) => !stale.has(record.cdr.call_id));
    this.counted(cdrs);
    if (stale === undefined || stale.size === 0) return result.rejectedEvents;
    if (refolds >= MAX_REFOLDS) {
      // Memory holds this batch's fold of them, which the store did not take: forget it, so the
      // retried batch folds these events again from what the store holds.
      for (const callId of stale.keys()) this.correlator.forget(callId);
      throw new StoreUnavailableError(`the shared state of ${stale.size} calls kept moving while this batch was committed`);
    }
    const again = await this.refold(stored, stale, refolds + 1);
    const rejected = new Map(result.rejectedEvents);
    for (const [id, reason] of again) rejected.set(id, reason);
    return rejected;
  }

  /**
   * Another instance wrote events of these calls that this one had not folded (a takeover while
   * this one still wrote): take the calls as the store holds them, fold this batch's events of
   * them again, and commit that (docs/scaling.md, fencing).
   */
  private refold(stored: readonly StoredEvent[], stale: ReadonlyMap<string, StoredCallState>, refolds: number): Promise<ReadonlyMap<string, string>> {
    const history = new Map<string, CallEvent[]>();
    for (const [callId, state] of stale) {
      this.correlator.forget(callId);
      if (state.open) this.correlator.restoreOpen(callId, state.events);
      else if (state.events.length > 0) history.set(callId, [...state.events]);
    }
    const again = stored.filter((s) => stale.has(s.event.callId));
    const step = this.correlator.ingest(again.map((s) => s.event), history, this.clock.now(this.wallClock()));
    return this.commit(again, step, refolds);
  }

  private counted(cdrs: readonly CdrRecord[]): void {
    for (const record of cdrs) {
      const { disposition, source } = record.cdr;
      this.stats.cdrsByDisposition[disposition] = (this.stats.cdrsByDisposition[disposition] ?? 0) + 1;
      const bySource = (this.stats.cdrsBySourceAndDisposition[source] ??= {});
      bySource[disposition] = (bySource[disposition] ?? 0) + 1;
    }
    if (cdrs.length > 0) {
      this.stats.lastCdrAtUs = this.wallClock();
      this.options.onCommitted?.(cdrs);
    }
  }

  private count(messages: number, stored: readonly StoredEvent[], verdicts: readonly Verdict[]): void {
    this.stats.batches += 1;
    this.stats.messages += messages;
    for (const s of stored) this.stats.eventsByKind[s.event.kind] = (this.stats.eventsByKind[s.event.kind] ?? 0) + 1;
    for (const verdict of verdicts) {
      if (verdict.action === 'dead-letter') {
        this.stats.rejectedByReason[verdict.reason] = (this.stats.rejectedByReason[verdict.reason] ?? 0) + 1;
      }
    }
  }
}

const ACK: Verdict = Object.freeze({ action: 'ack' });

/**
 * Lets the event loop read the socket once. Every step of a batch is synchronous; without these
 * pauses no delivery is read until the batch is over, the kernel's socket buffer fills, the broker
 * stops sending, and the next batch is cut from the few that arrive in QBL_BATCH_WAIT_MS — small
 * batches, and each commit costs about the same whatever its size (docs/performance.md).
 */
function readDeliveriesMeanwhile(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
