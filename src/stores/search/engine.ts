/**
 * The few calls the search store makes to a search engine. Everything engine-specific (client,
 * response shapes, ILM vs ISM) lives behind this interface, in one file per engine.
 */

/** One `index` operation: the document replaces whatever is stored under `id` in `index`. */
export interface BulkAction {
  readonly index: string;
  readonly id: string;
  readonly document: Readonly<Record<string, unknown>>;
  /**
   * `delete` removes the document (a CDR whose call start moved to another index); `create`
   * writes only if no document has the id (409 otherwise); default `index`.
   */
  readonly op?: 'index' | 'delete' | 'create';
  /**
   * External version (`version_type: external_gte`): the write applies only if the stored
   * version is not higher. A 409 then means a newer version is stored: success without effect.
   */
  readonly version?: number;
  /** Optimistic concurrency: the write applies only if the document is still this one (409 otherwise). */
  readonly ifSeqNo?: number;
  readonly ifPrimaryTerm?: number;
}

/** Per-item outcome of a bulk request, in the order of the actions sent. */
export type BulkItemResult =
  | { readonly ok: true; readonly superseded?: true }
  | { readonly ok: false; readonly status: number; readonly reason: string };

/** Engine-neutral composable index template; the engine adds its own lifecycle settings. */
export interface IndexTemplateSpec {
  readonly name: string;
  readonly indexPatterns: readonly string[];
  readonly priority: number;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly mappings: Readonly<Record<string, unknown>>;
  /** Lifecycle policy to attach to new indices (only when the policy was installed). */
  readonly lifecyclePolicy?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** Delete indices matching `indexPatterns` once they are `deleteAfterDays` old. */
export interface LifecyclePolicySpec {
  readonly name: string;
  readonly indexPatterns: readonly string[];
  readonly deleteAfterDays: number;
}

export type LifecycleInstall =
  | { readonly status: 'installed' }
  | { readonly status: 'unsupported'; readonly reason: string };

export interface SearchBody {
  readonly query: Readonly<Record<string, unknown>>;
  readonly sort?: readonly unknown[];
  readonly size: number;
  /** Only these `_source` fields (default: all). */
  readonly source?: readonly string[];
  /** The `sort` values of the previous page's last hit: the next page starts after it. */
  readonly search_after?: readonly unknown[];
}

export interface SearchHit {
  readonly index: string;
  readonly id: string;
  readonly source: Readonly<Record<string, unknown>>;
  /** The hit's sort values, when the search was sorted (what `search_after` takes). */
  readonly sort?: readonly unknown[];
}

/** A document read by id (real-time), with what a conditional write needs. */
export interface StoredDocument {
  readonly source: Readonly<Record<string, unknown>>;
  readonly seqNo: number;
  readonly primaryTerm: number;
}

export interface DeleteByQueryResult {
  readonly deleted: number;
  /** Matching documents written after the query found them: kept. */
  readonly conflicts: number;
}

export interface SearchEngine {
  readonly kind: 'elasticsearch' | 'opensearch';
  /** Throws SearchRequestError when the request as a whole failed. */
  bulk(actions: readonly BulkAction[]): Promise<BulkItemResult[]>;
  putIndexTemplate(spec: IndexTemplateSpec): Promise<void>;
  putLifecyclePolicy(spec: LifecyclePolicySpec): Promise<LifecycleInstall>;
  /** Adds fields to the mappings of the existing indices matching `index` (a template only reaches new ones). */
  putMapping(index: string, properties: Readonly<Record<string, unknown>>): Promise<void>;
  /** Real-time reads by id from one index; ids not found (or a missing index) are absent. */
  mget(index: string, ids: readonly string[]): Promise<Map<string, StoredDocument>>;
  /** `index` may be a pattern; no matching index means no hits. */
  search(index: string, body: SearchBody): Promise<SearchHit[]>;
  /** Documents matching `query` in `index` (a pattern; none matching: 0). Near-real-time. */
  count(index: string, query?: Readonly<Record<string, unknown>>): Promise<number>;
  /**
   * Deletes documents matching `query` from `index`, each only if it is still the version the
   * query found (a document written meanwhile is a conflict, skipped, not deleted); at most
   * `maxDocs` processed, conflicts included. Refreshes after, so the next call does not find the
   * deleted ones again (a search would otherwise still see them, as conflicts).
   */
  deleteByQuery(index: string, query: Readonly<Record<string, unknown>>, maxDocs: number): Promise<DeleteByQueryResult>;
  /** When `index` was created, in ms since the epoch; undefined when it does not exist. */
  indexCreatedAtMs(index: string): Promise<number | undefined>;
  /** Makes recent writes searchable (tests and tools; the writer never needs it). */
  refresh(index: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A whole request failed. `transient` (connection lost, timeout, 429, 5xx) means the same
 * request may succeed later. The message never holds credentials or the client's request dump.
 */
export class SearchRequestError extends Error {
  constructor(message: string, readonly transient: boolean, readonly statusCode?: number) {
    super(message);
    this.name = 'SearchRequestError';
  }
}

/** Per-item statuses worth retrying: throttled or a failing node. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `type: reason (caused by: type: reason)` from an engine error object, as both engines shape it. */
export function describeEngineError(error: unknown): string {
  if (error === null || error === undefined) return 'unknown error';
  if (typeof error === 'string') return error;
  const e = error as { type?: unknown; reason?: unknown; caused_by?: unknown };
  const head = [e.type, e.reason].filter((part) => typeof part === 'string' && part !== '').join(': ') || JSON.stringify(error);
  return e.caused_by ? `${head} (caused by: ${describeEngineError(e.caused_by)})` : head;
}

/** The bulk body both engines take: an `index` action and its document per BulkAction. */
export function bulkOperations(actions: readonly BulkAction[]): unknown[] {
  const operations: unknown[] = [];
  for (const action of actions) {
    const meta: Record<string, unknown> = { _index: action.index, _id: action.id };
    if (action.version !== undefined) Object.assign(meta, { version: action.version, version_type: 'external_gte' });
    if (action.ifSeqNo !== undefined) Object.assign(meta, { if_seq_no: action.ifSeqNo, if_primary_term: action.ifPrimaryTerm });
    if (action.op === 'delete') operations.push({ delete: meta });
    else operations.push({ [action.op ?? 'index']: meta }, action.document);
  }
  return operations;
}

/** mget's `docs` as both engines shape them. */
export function storedDocuments(docs: ReadonlyArray<{ _id?: string; found?: boolean; _source?: unknown; _seq_no?: number; _primary_term?: number }>): Map<string, StoredDocument> {
  const out = new Map<string, StoredDocument>();
  for (const doc of docs) {
    if (doc.found !== true || doc._id === undefined) continue;
    out.set(doc._id, { source: (doc._source ?? {}) as Record<string, unknown>, seqNo: doc._seq_no ?? 0, primaryTerm: doc._primary_term ?? 0 });
  }
  return out;
}

/** One item of a bulk response, as both engines report it. */
export interface RawBulkItem {
  status: number;
  error?: unknown;
}

/** Per-action outcomes of a bulk response, in action order. */
export function bulkItemResults(items: ReadonlyArray<Record<string, RawBulkItem>>, actions: readonly BulkAction[], urlForLogs: string): BulkItemResult[] {
  if (items.length !== actions.length) {
    throw new SearchRequestError(`bulk at ${urlForLogs} answered ${items.length} items for ${actions.length} actions`, true);
  }
  return items.map((item, position): BulkItemResult => {
    const result = item.index ?? item.delete ?? item.create ?? Object.values(item)[0];
    if (result === undefined) return { ok: false, status: 0, reason: 'empty bulk item' };
    if (result.status >= 200 && result.status < 300 && result.error === undefined) return { ok: true };
    const action = actions[position]!;
    // Deleting what is already gone is done.
    if (action.op === 'delete' && result.status === 404) return { ok: true };
    // An externally versioned write that found a newer version: that newer one stays (fencing).
    if (action.version !== undefined && result.status === 409) return { ok: true, superseded: true };
    return { ok: false, status: result.status, reason: describeEngineError(result.error) };
  });
}

export function toSearchHits(hits: ReadonlyArray<{ _index: string; _id?: string | null; _source?: unknown; sort?: unknown }>): SearchHit[] {
  return hits.map((hit) => {
    const out = { index: hit._index, id: hit._id ?? '', source: (hit._source ?? {}) as Record<string, unknown> };
    return Array.isArray(hit.sort) ? { ...out, sort: hit.sort as unknown[] } : out;
  });
}

/** `index.creation_date` of `index` from a get-settings answer (both engines shape it alike). */
export function creationDateMs(body: unknown, index: string): number | undefined {
  const settings = (body as Record<string, { settings?: { index?: { creation_date?: unknown } } }> | undefined)?.[index]?.settings;
  const value = Number(settings?.index?.creation_date);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
