/**
 * CallStore on a search engine plus a local store. The engine holds what users query (CDRs and
 * raw events); the local store (SQLite) keeps the correlator's history and the open calls.
 *
 * commit(): the engine first (retrying transient failures; StoreUnavailableError if it stays
 * down, so nothing is acked and intake pauses), then the local store. Event documents the engine
 * rejects for good come back as `rejectedEvents` (the pipeline dead-letters those messages). A
 * rejected CDR document cannot be traced to one message: it is logged with the reason and counted.
 */
import { StoreUnavailableError } from '../../errors';
import type { SearchConfig } from './options';
import type { Logger } from '../../observability/logger';
import type { CallEvent } from '../../../correlators/events';
import type { CallStore, CommitBatch, CommitResult, OpenCall } from '../store';
import { BulkWriter, type BulkWriterOptions } from './bulk-writer';
import { cdrActions, dedupeActions, eventAction } from './documents';
import { SearchRequestError, type SearchEngine } from './engine';
import { installSchema } from './install';

export interface SearchStoreStats {
  commits: number;
  rejectedEvents: number;
  rejectedCdrs: number;
}

export interface SearchStoreOptions {
  readonly indexPrefix: string;
  readonly retentionDays: number;
  readonly logger?: Logger;
}

/** The engine for a config; loaded lazily so only the configured client is required. */
export async function createSearchEngine(config: SearchConfig): Promise<SearchEngine> {
  if (config.engine === 'elasticsearch') {
    const { ElasticsearchEngine } = await import('./elasticsearch-engine');
    return ElasticsearchEngine.fromConfig(config);
  }
  const { OpenSearchEngine } = await import('./opensearch-engine');
  return OpenSearchEngine.fromConfig(config);
}

export function writerOptions(config: SearchConfig, logger?: Logger): BulkWriterOptions {
  return { maxDocs: config.bulkMaxDocs, concurrency: config.bulkConcurrency, logger };
}

export class SearchStore implements CallStore {
  readonly stats: SearchStoreStats = { commits: 0, rejectedEvents: 0, rejectedCdrs: 0 };
  private schema: Promise<unknown> | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly local: CallStore,
    private readonly engine: SearchEngine,
    readonly writer: BulkWriter,
    private readonly options: SearchStoreOptions,
  ) {}

  /** Opens the engine and installs the schema; an engine down at start only delays the first commit. */
  static async open(config: SearchConfig, local: CallStore, logger?: Logger, engine?: SearchEngine): Promise<SearchStore> {
    const searchEngine = engine ?? await createSearchEngine(config);
    const store = new SearchStore(local, searchEngine, new BulkWriter(searchEngine, writerOptions(config, logger)), {
      indexPrefix: config.indexPrefix, retentionDays: config.retentionDays, logger,
    });
    try {
      await store.ensureSchema();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      logger?.warn({ engine: searchEngine.kind, reason: error.message }, 'search engine not reachable at start; will install templates before the first write');
    }
    return store;
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

  async commit(batch: CommitBatch): Promise<CommitResult> {
    await this.ensureSchema().catch((error: unknown) => {
      // No message is to blame for templates the engine refuses (a role without the right, a block):
      // pause intake until it accepts them, rather than dead-letter every message one by one.
      if (error instanceof StoreUnavailableError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`cannot install index templates: ${message}`, { cause: error });
    });
    const prefix = this.options.indexPrefix;
    const eventActions = dedupeActions(batch.events.map((stored) => eventAction(prefix, stored)));
    const writtenAtUs = Date.now() * 1000;
    const cdrWrites = dedupeActions(batch.cdrs.flatMap((record) => cdrActions(prefix, record, writtenAtUs)));
    const outcomes = await this.writer.write([...eventActions, ...cdrWrites]);

    const rejectedEvents = new Map<string, string>();
    outcomes.forEach((outcome, position) => {
      if (outcome.accepted) return;
      const reason = `${this.engine.kind} rejected the document (HTTP ${outcome.status}): ${outcome.reason}`;
      if (position < eventActions.length) {
        rejectedEvents.set(eventActions[position]!.id, reason);
        return;
      }
      const action = cdrWrites[position - eventActions.length]!;
      this.stats.rejectedCdrs++;
      this.options.logger?.error({ cdr_id: action.id, call_id: action.document.call_id, index: action.index, reason },
        'CDR document rejected by the search engine; it stays in the local store');
    });
    this.stats.rejectedEvents += rejectedEvents.size;

    const local = await this.local.commit(batch);
    for (const [id, reason] of local.rejectedEvents) if (!rejectedEvents.has(id)) rejectedEvents.set(id, reason);
    this.stats.commits++;
    return { rejectedEvents };
  }

  eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    return this.local.eventsForCalls(callIds);
  }

  openCalls(): Promise<OpenCall[]> {
    return this.local.openCalls();
  }

  async ping(): Promise<void> {
    try {
      await this.engine.ping();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`search engine not reachable: ${message}`, { cause: error instanceof SearchRequestError ? error : undefined });
    }
    await this.local.ping();
  }

  /** Writer (in-flight documents), engine client, local store: each step runs even if one fails. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const steps: Array<[string, () => Promise<void>]> = [
        ['bulk writer', () => this.writer.close()],
        ['search engine', () => this.engine.close()],
        ['local store', () => this.local.close()],
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
