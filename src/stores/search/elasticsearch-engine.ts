/**
 * SearchEngine on the `@elastic/elasticsearch` 8.x client (talks to 8.x and 9.x servers).
 * Retention uses ILM; a cluster without it (serverless, or a key lacking `manage_ilm`) reports
 * `unsupported` instead of failing.
 */
import { readFileSync } from 'node:fs';
import { Client, errors, type ClientOptions } from '@elastic/elasticsearch';
import type { SearchConfig } from './options';
import {
  type BulkAction, type BulkItemResult, type IndexTemplateSpec, type LifecycleInstall, type LifecyclePolicySpec, type DeleteByQueryResult, type SearchBody, type SearchEngine, creationDateMs, type SearchHit, SearchRequestError, describeEngineError, isTransientStatus, bulkOperations, bulkItemResults, storedDocuments, type StoredDocument, toSearchHits, type RawBulkItem,
} from './engine';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Client options from the validated config; the writer does its own retries, so the client does none. */
export function elasticsearchClientOptions(config: SearchConfig, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): ClientOptions {
  const auth = config.apiKey !== undefined
    ? { apiKey: config.apiKey }
    : config.username !== undefined ? { username: config.username, password: config.password ?? '' } : undefined;
  return {
    node: config.url,
    auth,
    tls: config.caFile !== undefined ? { ca: readFileSync(config.caFile) } : undefined,
    maxRetries: 0,
    requestTimeout: requestTimeoutMs,
    name: 'opensips-qbl',
  };
}

/**
 * Turns a client error into a SearchRequestError. Only the message and status survive: the
 * client's `meta` holds the request, headers included, and must never reach a log.
 */
export function toRequestError(error: unknown, what: string, urlForLogs: string): SearchRequestError {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const body = error.body as { error?: unknown } | undefined;
    const detail = body && typeof body === 'object' && body.error !== undefined ? describeEngineError(body.error) : error.message;
    return new SearchRequestError(`${what} at ${urlForLogs} failed with HTTP ${status}: ${detail}`, isTransientStatus(status), status);
  }
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError
    || error instanceof errors.NoLivingConnectionsError || error instanceof errors.RequestAbortedError) {
    return new SearchRequestError(`${what} at ${urlForLogs} failed: ${error.name}: ${error.message}`, true);
  }
  if (error instanceof errors.ProductNotSupportedError) {
    return new SearchRequestError(`${urlForLogs} is not Elasticsearch (use OPENSEARCH_URL for OpenSearch)`, false);
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new SearchRequestError(`${what} at ${urlForLogs} failed: ${message}`, false);
}

export class ElasticsearchEngine implements SearchEngine {
  readonly kind = 'elasticsearch' as const;

  constructor(private readonly client: Client, private readonly urlForLogs: string) {}

  static fromConfig(config: SearchConfig, overrides: Partial<ClientOptions> = {}): ElasticsearchEngine {
    return new ElasticsearchEngine(new Client({ ...elasticsearchClientOptions(config), ...overrides }), config.urlForLogs);
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toRequestError(error, what, this.urlForLogs);
    }
  }

  async bulk(actions: readonly BulkAction[]): Promise<BulkItemResult[]> {
    const response = await this.call('bulk', () => this.client.bulk({ operations: bulkOperations(actions) }));
    return bulkItemResults(response.items as Array<Record<string, RawBulkItem>>, actions, this.urlForLogs);
  }

  async putIndexTemplate(spec: IndexTemplateSpec): Promise<void> {
    const settings = spec.lifecyclePolicy === undefined
      ? spec.settings
      : { ...spec.settings, 'index.lifecycle.name': spec.lifecyclePolicy };
    await this.call('put index template', () => this.client.indices.putIndexTemplate({
      name: spec.name,
      index_patterns: [...spec.indexPatterns],
      priority: spec.priority,
      template: { settings: settings as never, mappings: spec.mappings as never },
      _meta: spec.meta as Record<string, never> | undefined,
    }));
  }

  async putLifecyclePolicy(spec: LifecyclePolicySpec): Promise<LifecycleInstall> {
    try {
      await this.client.ilm.putLifecycle({
        name: spec.name,
        policy: {
          _meta: { managed_by: 'opensips-qbl' },
          phases: { delete: { min_age: `${spec.deleteAfterDays}d`, actions: { delete: {} } } },
        },
      });
      return { status: 'installed' };
    } catch (error) {
      const requestError = toRequestError(error, 'put ILM policy', this.urlForLogs);
      // Serverless answers 410/400 (api_not_available), a missing privilege 403, an old proxy 404/405.
      const status = requestError.statusCode ?? -1;
      const notAvailable = [403, 404, 405, 410].includes(status)
        || (status === 400 && /api_not_available|no handler found/i.test(requestError.message));
      if (notAvailable) {
        return { status: 'unsupported', reason: requestError.message };
      }
      throw requestError;
    }
  }

  async putMapping(index: string, properties: Readonly<Record<string, unknown>>): Promise<void> {
    await this.call('put mapping', () => this.client.indices.putMapping({
      index, properties: properties as never, ignore_unavailable: true, allow_no_indices: true,
    }));
  }

  async mget(index: string, ids: readonly string[]): Promise<Map<string, StoredDocument>> {
    if (ids.length === 0) return new Map();
    const response = await this.call('mget', () => this.client.mget({ index, ids: [...ids], realtime: true }));
    return storedDocuments(response.docs as unknown as Parameters<typeof storedDocuments>[0]);
  }

  async search(index: string, body: SearchBody): Promise<SearchHit[]> {
    const response = await this.call('search', () => this.client.search({
      index,
      query: body.query as never,
      sort: body.sort as never,
      size: body.size,
      search_after: body.search_after as never,
      ...(body.source === undefined ? {} : { _source: [...body.source] }),
      track_total_hits: false,
      ignore_unavailable: true,
      allow_no_indices: true,
    }));
    return toSearchHits(response.hits.hits);
  }

  async count(index: string, query?: Readonly<Record<string, unknown>>): Promise<number> {
    const response = await this.call('count', () => this.client.count({
      index, ...(query === undefined ? {} : { query: query as never }), ignore_unavailable: true, allow_no_indices: true,
    }));
    return response.count;
  }

  async deleteByQuery(index: string, query: Readonly<Record<string, unknown>>, maxDocs: number): Promise<DeleteByQueryResult> {
    const response = await this.call('delete by query', () => this.client.deleteByQuery({
      index, query: query as never, max_docs: maxDocs, conflicts: 'proceed', refresh: true, ignore_unavailable: true, allow_no_indices: true,
    }));
    return { deleted: response.deleted ?? 0, conflicts: response.version_conflicts ?? 0 };
  }

  async indexCreatedAtMs(index: string): Promise<number | undefined> {
    const response = await this.call('get index settings', () => this.client.indices.getSettings({
      index, name: 'index.creation_date', ignore_unavailable: true, allow_no_indices: true,
    }));
    return creationDateMs(response, index);
  }

  async refresh(index: string): Promise<void> {
    await this.call('refresh', () => this.client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true }));
  }

  async ping(): Promise<void> {
    const alive = await this.call('ping', () => this.client.ping());
    if (!alive) throw new SearchRequestError(`ping at ${this.urlForLogs} failed`, true);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
