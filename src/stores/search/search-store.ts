/**
 * CallStore on a search engine alone: CDRs and raw events (what users query), and the
 * correlator's join state as call documents (calls.ts), so any instance — a hot standby taking
 * over, a replacement with an empty disk — rebuilds it from the engine. No local file.
 *
 * commit(), for one batch (docs/scaling.md says why no interleaving of writers goes backwards):
 * 1. read the call documents of the batch's calls by id (real-time);
 * 2. a call whose stored events are not all among those the writer folded is stale: nothing is
 *    written for it, and its stored state goes back to the pipeline to fold and commit again;
 * 3. the raw events and the CDRs, each CDR externally versioned by the number of events it folds
 *    (a 409 means a newer CDR is stored: success without effect);
 * 4. the call documents, each conditional on the version read in step 1; a conflict makes the call
 *    stale as in 2.
 * Transient failures are retried by the bulk writer; if the engine stays down, StoreUnavailableError
 * (nothing is acked and intake pauses). Event documents the engine rejects for good come back as
 * `rejectedEvents` (the pipeline dead-letters those messages); a rejected CDR is logged and counted.
 */
import { StoreUnavailableError } from '../../errors';
import type { SearchConfig } from './options';
import type { Logger } from '../../observability/logger';
import type { CallEvent } from '../../../correlators/events';
import type { CallStore, CommitBatch, CommitResult, OpenCall, StoredCallState } from '../store';
import { BulkWriter, type BulkWriterOptions } from './bulk-writer';
import { callDocument, callDocumentId, callEventFromSource, callsIndex, eventsOf, unionEvents } from './calls';
import { MAX_SEARCH_SIZE, batchCdrIds, cdrActions, dedupeActions, eventAction, indexPattern } from './documents';
import { type BulkAction, SearchRequestError, type SearchEngine, type StoredDocument } from './engine';
import { installSchema } from './install';
import { CallsRetentionSchedule, type CallsRetentionOptions } from './calls-retention';

export interface SearchStoreStats {
  commits: number;
  rejectedEvents: number;
  rejectedCdrs: number;
  /** CDR writes that found a newer version stored (a late writer's, fenced off). */
  supersededCdrs: number;
  /** Calls whose stored state was ahead of the writer's: folded again. */
  staleCalls: number;
}

export interface SearchStoreOptions {
  readonly indexPrefix: string;
  readonly retentionDays: number;
  /** Closed calls' documents not written for this many days are deleted, hourly (0 or absent: kept). */
  readonly callsRetentionDays?: number;
  readonly logger?: Logger;
  /** Wall clock in µs for `updated_at` and `written_at`. */
  readonly nowUs?: () => number;
}

/** The engine for a config; loaded lazily so only the configured client is required. */
export async function createSearchEngine(config: SearchConfig, requestTimeoutMs?: number): Promise<SearchEngine> {
  const overrides = requestTimeoutMs === undefined ? {} : { requestTimeout: requestTimeoutMs };
  if (config.engine === 'elasticsearch') {
    const { ElasticsearchEngine } = await import('./elasticsearch-engine');
    return ElasticsearchEngine.fromConfig(config, overrides);
  }
  const { OpenSearchEngine } = await import('./opensearch-engine');
  return OpenSearchEngine.fromConfig(config, overrides);
}

export function writerOptions(config: SearchConfig, logger?: Logger): BulkWriterOptions {
  return { maxDocs: config.bulkMaxDocs, concurrency: config.bulkConcurrency, logger };
}

/** Open calls per page when a new owner reads them all. */
const OPEN_CALLS_PAGE = 5000;
/** Call documents per mget. */
const MGET_CHUNK = 1000;
/** Calls per search of the events index for calls without a call document. */
const LEGACY_CHUNK = 500;

/**
 * Above any internal version a CDR written before versioned writes can have got from being
 * rewritten (once per batch touching its call, and per redelivery), so the first versioned write
 * of an old CDR is never taken for an older one.
 */
export const CDR_VERSION_BASE = 1_000_000_000;

/** A CDR's external version: the number of events it folds, above every internal version. */
export function cdrVersion(eventsFolded: number): number {
  return CDR_VERSION_BASE + eventsFolded;
}

export class SearchStore implements CallStore {
  readonly stats: SearchStoreStats = { commits: 0, rejectedEvents: 0, rejectedCdrs: 0, supersededCdrs: 0, staleCalls: 0 };
  private schema: Promise<unknown> | null = null;
  private closing: Promise<void> | null = null;
  private readonly nowUs: () => number;
  private retention: CallsRetentionSchedule | undefined;

  constructor(
    private readonly engine: SearchEngine,
    readonly writer: BulkWriter,
    private readonly options: SearchStoreOptions,
  ) {
    this.nowUs = options.nowUs ?? (() => Date.now() * 1000);
  }

  /** Opens the engine and installs the schema; an engine down at start only delays the first commit. */
  static async open(config: SearchConfig, logger?: Logger, engine?: SearchEngine): Promise<SearchStore> {
    const searchEngine = engine ?? await createSearchEngine(config);
    const store = new SearchStore(searchEngine, new BulkWriter(searchEngine, writerOptions(config, logger)), {
      indexPrefix: config.indexPrefix, retentionDays: config.retentionDays, callsRetentionDays: config.callsRetentionDays, logger,
    });
    try {
      await store.ensureSchema();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      logger?.warn({ engine: searchEngine.kind, reason: error.message }, 'search engine not reachable at start; will install templates before the first write');
    }
    store.startRetention();
    return store;
  }

  /** The calls index's retention on a timer, when QBL_CALLS_RETENTION_DAYS is set. */
  startRetention(overrides: Pick<CallsRetentionOptions, 'firstDelayMs' | 'intervalMs' | 'nowMs'> = {}): void {
    const days = this.options.callsRetentionDays ?? 0;
    if (days <= 0 || this.retention !== undefined) return;
    this.retention = new CallsRetentionSchedule(this.engine, this.options.indexPrefix, { days, logger: this.options.logger, ...overrides });
    this.retention.start();
  }

  /** Installs templates once; a transient failure is forgotten so the next commit tries again. */
  ensureSchema(): Promise<unknown> {
    this.schema ??= installSchema(this.engine, this.options.indexPrefix, this.options.retentionDays, this.options.logger)
      .catch((error: unknown) => {
        this.schema = null;
        throw error;
      });
    return this.schema;
  }

  private get calls(): string {
    return callsIndex(this.options.indexPrefix);
  }

  /**
   * The schema, for the running pipeline (commits, the restore of a standby): no message is to
   * blame for templates the engine refuses (a role without the right, a block), so any failure
   * pauses intake until it accepts them, rather than dead-letter every message one by one.
   */
  private schemaReady(): Promise<unknown> {
    return this.ensureSchema().catch((error: unknown) => {
      if (error instanceof StoreUnavailableError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`cannot install index templates: ${message}`, { cause: error });
    });
  }

  async commit(batch: CommitBatch): Promise<CommitResult> {
    await this.schemaReady();
    const prefix = this.options.indexPrefix;
    const nowUs = this.nowUs();

    // What the batch says of each call it changes.
    const added = new Map<string, CallEvent[]>();
    for (const { event } of batch.events) {
      const list = added.get(event.callId);
      if (list) list.push(event);
      else added.set(event.callId, [event]);
    }
    const openAt = changedCalls(batch);

    const stored = await this.readCalls([...openAt.keys()]);
    // Without a call document, a writer that folded more than the batch read a call written before
    // call documents existed: its history is in the events index.
    const legacy = await this.legacyEvents([...openAt.keys()].filter((callId) => !stored.has(callDocumentId(callId))
      && (batch.eventCounts?.get(callId) ?? 0) > new Set((added.get(callId) ?? []).map((e) => e.id)).size));
    const stale = new Map<string, StoredCallState>();
    const callWrites: BulkAction[] = [];
    for (const [callId, deadlineUs] of openAt) {
      const doc = stored.get(callDocumentId(callId));
      const events = unionEvents(doc ? eventsOf(doc.source) : legacy.get(callId) ?? [], added.get(callId) ?? []);
      const folded = batch.eventCounts?.get(callId);
      // The writer's events are always among these; as many means the same ones.
      if (folded !== undefined && folded !== events.length) {
        stale.set(callId, doc ? stateOf(doc) : { events: legacy.get(callId) ?? [], open: false });
        continue;
      }
      callWrites.push({
        index: this.calls, id: callDocumentId(callId), document: { ...callDocument(callId, events, deadlineUs !== null, deadlineUs, nowUs) },
        ...(doc === undefined ? { op: 'create' as const } : { ifSeqNo: doc.seqNo, ifPrimaryTerm: doc.primaryTerm }),
      });
    }

    // Raw events and CDRs first: a crash before the call documents are written leaves the batch
    // unacked and the stored state without its events, so the redelivery folds and writes them again.
    const cdrIdOf = batchCdrIds();
    const eventActions = dedupeActions(batch.events.map((s) => eventAction(prefix, s, cdrIdOf)));
    const cdrWrites = dedupeActions(batch.cdrs
      .filter((record) => !stale.has(record.cdr.call_id))
      .flatMap((record) => {
        const folded = batch.eventCounts?.get(record.cdr.call_id);
        return cdrActions(prefix, record, nowUs).map((action) => (folded === undefined ? action : { ...action, version: cdrVersion(folded) }));
      }));
    const outcomes = await this.writer.write([...eventActions, ...cdrWrites]);
    const rejectedEvents = new Map<string, string>();
    outcomes.forEach((outcome, position) => {
      if (outcome.accepted) {
        if (outcome.superseded) this.stats.supersededCdrs++;
        return;
      }
      const reason = `${this.engine.kind} rejected the document (HTTP ${outcome.status}): ${outcome.reason}`;
      if (position < eventActions.length) {
        rejectedEvents.set(eventActions[position]!.id, reason);
        return;
      }
      const action = cdrWrites[position - eventActions.length]!;
      this.stats.rejectedCdrs++;
      this.options.logger?.error({ cdr_id: action.id, call_id: action.document.call_id, index: action.index, reason },
        'CDR document rejected by the search engine');
    });
    this.stats.rejectedEvents += rejectedEvents.size;

    const callOutcomes = await this.writer.write(callWrites);
    const conflicts: string[] = [];
    const refused: string[] = [];
    callOutcomes.forEach((outcome, position) => {
      if (outcome.accepted) return;
      const action = callWrites[position]!;
      const callId = String(action.document.call_id);
      if (outcome.status === 409) {
        conflicts.push(callId);
        return;
      }
      this.options.logger?.error({ call_id: callId, reason: outcome.reason, status: outcome.status }, 'call document rejected by the search engine');
      refused.push(`${callId} (HTTP ${outcome.status}: ${outcome.reason})`);
    });
    // The shared state must hold every event any writer folded (docs/scaling.md, fencing): a call
    // document the engine refuses (a write block, a size limit) leaves the batch unacked, to be
    // written again once the engine takes it. Events and CDRs already written are idempotent.
    if (refused.length > 0) {
      throw new StoreUnavailableError(`${this.engine.kind} refused ${refused.length} call document(s): ${refused.slice(0, 3).join('; ')}`);
    }
    if (conflicts.length > 0) {
      const fresh = await this.readCalls(conflicts);
      // A document deleted meanwhile (the calls index's retention takes closed calls only): the
      // call's history is in the events index, as for a call without a document.
      const gone = await this.legacyEvents(conflicts.filter((callId) => !fresh.has(callDocumentId(callId))));
      for (const callId of conflicts) {
        const doc = fresh.get(callDocumentId(callId));
        stale.set(callId, doc ? stateOf(doc) : { events: gone.get(callId) ?? [], open: false });
      }
    }
    this.stats.staleCalls += stale.size;
    if (stale.size > 0) this.options.logger?.warn({ calls: stale.size }, 'the shared store held newer state for some calls; folding them again');
    this.stats.commits++;
    return stale.size === 0 ? { rejectedEvents } : { rejectedEvents, staleCalls: stale };
  }

  /** Call documents by call id, real-time. */
  private async readCalls(callIds: readonly string[]): Promise<Map<string, StoredDocument>> {
    const out = new Map<string, StoredDocument>();
    for (let i = 0; i < callIds.length; i += MGET_CHUNK) {
      const ids = callIds.slice(i, i + MGET_CHUNK).map(callDocumentId);
      for (const [id, doc] of await this.request(() => this.engine.mget(this.calls, ids))) out.set(id, doc);
    }
    return out;
  }

  async eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    const out = new Map<string, CallEvent[]>();
    for (const [callId, state] of await this.callStates(callIds)) out.set(callId, [...state.events]);
    return out;
  }

  /** Each call's stored events (real-time, by id) and whether its document says it is open; calls with no event are absent. */
  async callStates(callIds: readonly string[]): Promise<Map<string, StoredCallState>> {
    const docs = await this.readCalls(callIds);
    const legacy = await this.legacyEvents(callIds.filter((callId) => !docs.has(callDocumentId(callId))));
    const out = new Map<string, StoredCallState>();
    for (const callId of callIds) {
      const doc = docs.get(callDocumentId(callId));
      const state = doc ? stateOf(doc) : { events: legacy.get(callId) ?? [], open: false };
      if (state.events.length > 0) out.set(callId, state);
    }
    return out;
  }

  /**
   * Calls without a call document whose raw events are in the events index: written by a version
   * before call documents (docs/scaling.md, upgrading). Searched, so near-real-time: such events
   * are old. A call written by this version always has its document.
   */
  private async legacyEvents(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    const out = new Map<string, CallEvent[]>();
    for (let i = 0; i < callIds.length; i += LEGACY_CHUNK) {
      const ids = callIds.slice(i, i + LEGACY_CHUNK);
      let after: readonly unknown[] | undefined;
      for (;;) {
        const hits = await this.request(() => this.engine.search(indexPattern(this.options.indexPrefix, 'events'), {
          query: { terms: { call_id: ids } }, sort: [{ id: 'asc' }], size: MAX_SEARCH_SIZE,
          ...(after === undefined ? {} : { search_after: after }),
        }));
        for (const hit of hits) {
          const event = callEventFromSource(hit.source);
          const list = out.get(event.callId);
          if (list) list.push(event);
          else out.set(event.callId, [event]);
        }
        if (hits.length < MAX_SEARCH_SIZE) break;
        after = hits[hits.length - 1]!.sort;
      }
    }
    return out;
  }

  /**
   * A refresh makes every write acknowledged so far searchable, then every open call is read in
   * pages. A write not acknowledged yet belongs to a batch not acked yet: the broker redelivers it.
   */
  async openCalls(): Promise<OpenCall[]> {
    await this.schemaReady();
    await this.request(() => this.engine.refresh(this.calls));
    const open: OpenCall[] = [];
    let after: readonly unknown[] | undefined;
    for (;;) {
      const hits = await this.request(() => this.engine.search(this.calls, {
        query: { term: { open: true } }, sort: [{ call_id: 'asc' }], size: OPEN_CALLS_PAGE,
        source: ['call_id', 'deadline_us'], ...(after === undefined ? {} : { search_after: after }),
      }));
      for (const hit of hits) open.push({ callId: String(hit.source.call_id), deadlineUs: Number(hit.source.deadline_us) });
      if (hits.length < OPEN_CALLS_PAGE) return open;
      after = hits[hits.length - 1]!.sort;
    }
  }

  async ping(): Promise<void> {
    await this.request(() => this.engine.ping());
  }

  /** A failed read or probe: StoreUnavailableError when it may work later. */
  private async request<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof SearchRequestError) || !error.transient) throw error;
      throw new StoreUnavailableError(`search engine not reachable: ${error.message}`, { cause: error });
    }
  }

  /** Writer (in-flight documents), then the engine client: each step runs even if one fails. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const steps: Array<[string, () => Promise<void>]> = [
        ['calls retention', async () => this.retention?.close()],
        ['bulk writer', () => this.writer.close()],
        ['search engine', () => this.engine.close()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          this.options.logger?.error({ err: error, step: name }, 'search store close step failed');
        }
      }
    })();
    return this.closing;
  }
}

/** Every call a commit changes, with its deadline while open and null once closed: the call documents it writes. */
export function changedCalls(batch: Pick<CommitBatch, 'openCalls' | 'closedCallIds' | 'cdrs'>): Map<string, number | null> {
  const openAt = new Map<string, number | null>();
  for (const call of batch.openCalls) openAt.set(call.callId, call.deadlineUs);
  for (const callId of batch.closedCallIds) openAt.set(callId, null);
  for (const record of batch.cdrs) if (!openAt.has(record.cdr.call_id)) openAt.set(record.cdr.call_id, null);
  return openAt;
}

function stateOf(doc: StoredDocument): StoredCallState {
  return { events: eventsOf(doc.source), open: doc.source.open === true };
}
