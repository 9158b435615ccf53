/**
 * SearchEngine on the `@opensearch-project/opensearch` 3.x client (OpenSearch 2.x and 3.x,
 * Amazon OpenSearch Service with SigV4). Documents, ids, index names, templates, query bodies,
 * batching and retries are shared with Elasticsearch; the differences live here:
 * - retention is an ISM policy (`_plugins/_ism`), attached to new indices by its own
 *   `ism_template`, not by an index setting as ILM is;
 * - ISM refuses to overwrite a policy without its seq_no/primary_term, so installing reads first
 *   and writes only when the stored policy differs;
 * - a node without the index-management plugin answers 400 "no handler found": `unsupported`.
 * See docs/opensearch.md.
 */
import { readFileSync } from 'node:fs';
import { Client, errors, type ClientOptions } from '@opensearch-project/opensearch';
import type { SearchConfig } from './options';
import { ConfigError } from '../../errors';
import {
  type BulkAction, type BulkItemResult, type IndexTemplateSpec, type LifecycleInstall, type LifecyclePolicySpec, type DeleteByQueryResult, type SearchBody, creationDateMs, type SearchEngine, type SearchHit, SearchRequestError, describeEngineError, isTransientStatus, bulkOperations, bulkItemResults, storedDocuments, type StoredDocument, toSearchHits, type RawBulkItem,
} from './engine';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Above ISM templates of lower priority, so our patterns get our policy. */
const ISM_TEMPLATE_PRIORITY = 100;

/** Tries to install the ISM policy when another instance writes it at the same moment (409). */
const ISM_INSTALL_ATTEMPTS = 3;

/** `es` for managed domains, `aoss` for OpenSearch Serverless collections (`*.aoss.amazonaws.com`). */
export function awsServiceFor(url: string): 'es' | 'aoss' {
  return /\.aoss\.amazonaws\.com$/i.test(new URL(url).hostname) ? 'aoss' : 'es';
}

/**
 * Client options from the validated config; the writer does its own retries, so the client
 * does none. With `awsRegion`, requests are SigV4-signed with credentials from the AWS default
 * provider chain (env, shared files, SSO, web identity, ECS, EC2 instance metadata).
 */
export function openSearchClientOptions(config: SearchConfig, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): ClientOptions {
  const options: ClientOptions = {
    node: config.url,
    auth: config.username !== undefined ? { username: config.username, password: config.password ?? '' } : undefined,
    ssl: config.caFile !== undefined ? { ca: readFileSync(config.caFile) } : undefined,
    maxRetries: 0,
    requestTimeout: requestTimeoutMs,
    name: 'opensips-qbl',
  };
  if (config.awsRegion === undefined) return options;
  // Loaded only for AWS, so a plain node needs neither the signer nor the AWS SDK.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { AwsSigv4Signer } = require('@opensearch-project/opensearch/aws') as typeof import('@opensearch-project/opensearch/aws');
  const { defaultProvider } = requireAwsCredentials();
  /* eslint-enable @typescript-eslint/no-require-imports */
  // One memoized provider: it refreshes temporary credentials itself before they expire.
  const credentials = defaultProvider();
  return {
    ...options,
    ...AwsSigv4Signer({ region: config.awsRegion, service: awsServiceFor(config.url), getCredentials: () => credentials() }),
  };
}

/** The AWS SDK's credential chain is an optional dependency (about 20 packages): installed only for Amazon OpenSearch. */
export const AWS_CREDENTIALS_PACKAGE = '@aws-sdk/credential-provider-node';

function requireAwsCredentials(): typeof import('@aws-sdk/credential-provider-node') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(AWS_CREDENTIALS_PACKAGE) as typeof import('@aws-sdk/credential-provider-node');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code !== 'MODULE_NOT_FOUND' || !message.includes(AWS_CREDENTIALS_PACKAGE)) throw error;
    throw new ConfigError('OPENSEARCH_AWS_REGION',
      `the optional package ${AWS_CREDENTIALS_PACKAGE} for SigV4 signing: install it next to qbl `
      + `(npm install --no-save ${AWS_CREDENTIALS_PACKAGE}@3), or build the image with --build-arg WITH_AWS_SIGV4=1`);
  }
}

/**
 * Turns a client error into a SearchRequestError. Only the message and status survive: the
 * client's `meta` holds the request, headers included, and must never reach a log.
 */
export function toOpenSearchRequestError(error: unknown, what: string, urlForLogs: string): SearchRequestError {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const body = error.body as { error?: unknown } | string | undefined;
    const detail = body && typeof body === 'object' && body.error !== undefined
      ? describeEngineError(body.error)
      : typeof body === 'string' && body !== '' ? body : error.message;
    return new SearchRequestError(`${what} at ${urlForLogs} failed with HTTP ${status}: ${detail}`, isTransientStatus(status), status);
  }
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError
    || error instanceof errors.NoLivingConnectionsError || error instanceof errors.RequestAbortedError) {
    return new SearchRequestError(`${what} at ${urlForLogs} failed: ${error.name}: ${error.message}`, true);
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new SearchRequestError(`${what} at ${urlForLogs} failed: ${message}`, false);
}

/** The ISM body for a retention spec: keep in `hot`, delete `deleteAfterDays` after creation. */
export function ismPolicyBody(spec: LifecyclePolicySpec): { policy: Record<string, unknown> } {
  return {
    policy: {
      description: `opensips-qbl retention: delete ${spec.deleteAfterDays} days after index creation`,
      default_state: 'hot',
      states: [
        { name: 'hot', actions: [], transitions: [{ state_name: 'delete', conditions: { min_index_age: `${spec.deleteAfterDays}d` } }] },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      ism_template: [{ index_patterns: [...spec.indexPatterns], priority: ISM_TEMPLATE_PRIORITY }],
    },
  };
}

interface IsmState {
  name?: unknown;
  actions?: Array<Record<string, unknown>>;
  transitions?: Array<{ state_name?: unknown; conditions?: unknown }>;
}

/**
 * What we set in a policy, without what ISM adds on its own (ids, timestamps, default retry
 * settings), so a stored policy compares equal to the one we would write.
 */
export function ismPolicyFingerprint(policy: Readonly<Record<string, unknown>>): string {
  const states = (policy.states as IsmState[] | undefined) ?? [];
  const templates = policy.ism_template === undefined || policy.ism_template === null ? []
    : ([] as Array<{ index_patterns?: unknown; priority?: unknown }>).concat(policy.ism_template as never);
  return JSON.stringify({
    description: policy.description ?? null,
    default_state: policy.default_state ?? null,
    states: states.map((state) => ({
      name: state.name,
      actions: (state.actions ?? []).map((action) => Object.keys(action).filter((key) => key !== 'retry' && key !== 'timeout').sort()),
      transitions: (state.transitions ?? []).map((t) => ({ state_name: t.state_name, conditions: t.conditions ?? null })),
    })),
    ism_template: templates.map((t) => ({ index_patterns: t.index_patterns, priority: t.priority })),
  });
}

/** Statuses by which a cluster says it has no ISM for us (plugin missing, serverless, no privilege). */
function ismUnavailable(error: SearchRequestError): boolean {
  const status = error.statusCode ?? -1;
  if ([403, 405, 410].includes(status)) return true;
  if (status === 404) return !/policy not found/i.test(error.message);
  return status === 400 && /no handler found|api_not_available/i.test(error.message);
}

interface StoredPolicy {
  readonly policy: Record<string, unknown>;
  readonly seqNo: number;
  readonly primaryTerm: number;
}

export class OpenSearchEngine implements SearchEngine {
  readonly kind = 'opensearch' as const;

  constructor(private readonly client: Client, private readonly urlForLogs: string) {}

  static fromConfig(config: SearchConfig, overrides: Partial<ClientOptions> = {}): OpenSearchEngine {
    return new OpenSearchEngine(new Client({ ...openSearchClientOptions(config), ...overrides }), config.urlForLogs);
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toOpenSearchRequestError(error, what, this.urlForLogs);
    }
  }

  async bulk(actions: readonly BulkAction[]): Promise<BulkItemResult[]> {
    const response = await this.call('bulk', () => this.client.bulk({ body: bulkOperations(actions) as never }));
    const items = (response.body as { items?: Array<Record<string, RawBulkItem>> }).items ?? [];
    return bulkItemResults(items, actions, this.urlForLogs);
  }

  /** `spec.lifecyclePolicy` is not a setting here: the ISM policy's `ism_template` attaches it. */
  async putIndexTemplate(spec: IndexTemplateSpec): Promise<void> {
    await this.call('put index template', () => this.client.indices.putIndexTemplate({
      name: spec.name,
      body: {
        index_patterns: [...spec.indexPatterns],
        priority: spec.priority,
        template: { settings: spec.settings as never, mappings: spec.mappings as never },
        _meta: spec.meta as never,
      },
    }));
  }

  async putLifecyclePolicy(spec: LifecyclePolicySpec): Promise<LifecycleInstall> {
    const wanted = ismPolicyBody(spec);
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await this.getPolicy(spec.name);
        if (stored !== undefined && ismPolicyFingerprint(stored.policy) === ismPolicyFingerprint(wanted.policy)) {
          return { status: 'installed' };
        }
        await this.call('put ISM policy', () => this.client.ism.putPolicy({
          policy_id: spec.name,
          body: wanted as never,
          ...(stored === undefined ? {} : { if_seq_no: stored.seqNo, if_primary_term: stored.primaryTerm }),
        }));
        return { status: 'installed' };
      } catch (error) {
        if (!(error instanceof SearchRequestError)) throw error;
        if (ismUnavailable(error)) return { status: 'unsupported', reason: error.message };
        // Another instance wrote the policy between our read and write: read again.
        if (error.statusCode === 409 && attempt < ISM_INSTALL_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  private async getPolicy(policyId: string): Promise<StoredPolicy | undefined> {
    try {
      const response = await this.call('get ISM policy', () => this.client.ism.getPolicy({ policy_id: policyId }));
      const body = response.body as { policy?: Record<string, unknown>; _seq_no?: number; _primary_term?: number };
      if (body.policy === undefined) return undefined;
      return { policy: body.policy, seqNo: body._seq_no ?? 0, primaryTerm: body._primary_term ?? 0 };
    } catch (error) {
      if (error instanceof SearchRequestError && error.statusCode === 404 && /policy not found/i.test(error.message)) {
        return undefined;
      }
      throw error;
    }
  }

  async putMapping(index: string, properties: Readonly<Record<string, unknown>>): Promise<void> {
    await this.call('put mapping', () => this.client.indices.putMapping({
      index, body: { properties } as never, ignore_unavailable: true, allow_no_indices: true,
    }));
  }

  async mget(index: string, ids: readonly string[]): Promise<Map<string, StoredDocument>> {
    if (ids.length === 0) return new Map();
    const response = await this.call('mget', () => this.client.mget({ index, body: { ids: [...ids] }, realtime: true } as never));
    return storedDocuments(((response.body as unknown as { docs?: Parameters<typeof storedDocuments>[0] }).docs) ?? []);
  }

  async search(index: string, body: SearchBody): Promise<SearchHit[]> {
    const response = await this.call('search', () => this.client.search({
      index,
      body: {
        query: body.query, sort: body.sort, size: body.size, search_after: body.search_after, track_total_hits: false,
        ...(body.source === undefined ? {} : { _source: [...body.source] }),
      } as never,
      ignore_unavailable: true,
      allow_no_indices: true,
    }));
    const hits = ((response.body as { hits?: { hits?: Array<{ _index: string; _id?: string; _source?: unknown; sort?: unknown }> } }).hits?.hits) ?? [];
    return toSearchHits(hits);
  }

  async count(index: string, query?: Readonly<Record<string, unknown>>): Promise<number> {
    const response = await this.call('count', () => this.client.count({
      index, body: (query === undefined ? {} : { query }) as never, ignore_unavailable: true, allow_no_indices: true,
    }));
    return Number((response.body as { count?: unknown }).count ?? 0);
  }

  async deleteByQuery(index: string, query: Readonly<Record<string, unknown>>, maxDocs: number): Promise<DeleteByQueryResult> {
    const response = await this.call('delete by query', () => this.client.deleteByQuery({
      index, body: { query } as never, max_docs: maxDocs, conflicts: 'proceed', refresh: true, ignore_unavailable: true, allow_no_indices: true,
    }));
    const body = response.body as { deleted?: unknown; version_conflicts?: unknown };
    return { deleted: Number(body.deleted ?? 0), conflicts: Number(body.version_conflicts ?? 0) };
  }

  async indexCreatedAtMs(index: string): Promise<number | undefined> {
    const response = await this.call('get index settings', () => this.client.indices.getSettings({
      index, name: 'index.creation_date', ignore_unavailable: true, allow_no_indices: true,
    }));
    return creationDateMs(response.body, index);
  }

  async refresh(index: string): Promise<void> {
    await this.call('refresh', () => this.client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true }));
  }

  async ping(): Promise<void> {
    const response = await this.call('ping', () => this.client.ping());
    if (response.statusCode !== 200) throw new SearchRequestError(`ping at ${this.urlForLogs} failed with HTTP ${response.statusCode}`, true);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
