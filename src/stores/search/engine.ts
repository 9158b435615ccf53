/**
 * The few calls the search store makes to a search engine. Everything engine-specific (client,
 * response shapes, ILM vs ISM) lives behind this interface, in one file per engine.
 */

/** One `index` operation: the document replaces whatever is stored under `id` in `index`. */
export interface BulkAction {
  readonly index: string;
  readonly id: string;
  readonly document: Readonly<Record<string, unknown>>;
  /** `delete` removes the document (a CDR whose call start moved to another index); default `index`. */
  readonly op?: 'index' | 'delete';
}

/** Per-item outcome of a bulk request, in the order of the actions sent. */
export type BulkItemResult =
  | { readonly ok: true }
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

export interface SearchEngine {
  readonly kind: 'elasticsearch' | 'opensearch';
  /** Throws SearchRequestError when the request as a whole failed. */
  bulk(actions: readonly BulkAction[]): Promise<BulkItemResult[]>;
  putIndexTemplate(spec: IndexTemplateSpec): Promise<void>;
  putLifecyclePolicy(spec: LifecyclePolicySpec): Promise<LifecycleInstall>;
  /** Adds fields to the mappings of the existing indices matching `index` (a template only reaches new ones). */
  putMapping(index: string, properties: Readonly<Record<string, unknown>>): Promise<void>;
  /** `index` may be a pattern; no matching index means no hits. */
  search(index: string, body: SearchBody): Promise<SearchHit[]>;
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
    if (action.op === 'delete') operations.push({ delete: { _index: action.index, _id: action.id } });
    else operations.push({ index: { _index: action.index, _id: action.id } }, action.document);
  }
  return operations;
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
    const result = item.index ?? item.delete ?? Object.values(item)[0];
    if (result === undefined) return { ok: false, status: 0, reason: 'empty bulk item' };
    if (result.status >= 200 && result.status < 300 && result.error === undefined) return { ok: true };
    // Deleting what is already gone is done.
    if (actions[position]!.op === 'delete' && result.status === 404) return { ok: true };
    return { ok: false, status: result.status, reason: describeEngineError(result.error) };
  });
}

export function toSearchHits(hits: ReadonlyArray<{ _index: string; _id?: string | null; _source?: unknown; sort?: unknown }>): SearchHit[] {
  return hits.map((hit) => {
    const out = { index: hit._index, id: hit._id ?? '', source: (hit._source ?? {}) as Record<string, unknown> };
    return Array.isArray(hit.sort) ? { ...out, sort: hit.sort as unknown[] } : out;
  });
}
