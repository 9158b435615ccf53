/**
 * The lookup's side of Elasticsearch / OpenSearch, shared by every instance: the block list in its
 * own index (`<prefix>-blocklist`, one document per entry, removals kept as tombstones), and reads
 * of the CDR indices — by start for the rebuild, by `written_at` for the poll that keeps each
 * instance's figures up to date with every instance's CDRs (docs/lookup.md).
 */
import { formatUs, parseUs } from '../../../correlators/cdr';
import type { SearchConfig } from './options';
import type { BlockEntry, LookupStore, StoredCall } from '../lookup-store';
import { indexPattern, MAX_SEARCH_SIZE } from './documents';
import { type BulkAction, type IndexTemplateSpec, type SearchEngine, type SearchHit } from './engine';
import { createSearchEngine } from './search-store';
import { StoreUnavailableError } from '../../errors';


const KEYWORD = { type: 'keyword' } as const;
const TIMESTAMP = { type: 'date_nanos', format: 'strict_date_optional_time_nanos' } as const;

export function blocklistIndex(prefix: string): string {
  return `${prefix}-blocklist`;
}

export function blocklistTemplate(prefix: string): IndexTemplateSpec {
  return {
    name: blocklistIndex(prefix),
    indexPatterns: [blocklistIndex(prefix)],
    priority: 500,
    settings: { 'index.number_of_shards': 1, 'index.auto_expand_replicas': '0-1' },
    mappings: {
      dynamic: false,
      properties: {
        entry: KEYWORD, reason: KEYWORD, created_at: TIMESTAMP, expires_at: TIMESTAMP, updated_at: TIMESTAMP, removed: { type: 'boolean' },
      },
    },
    meta: { managed_by: 'opensips-qbl' },
  };
}

export function blockDocument(entry: BlockEntry): Record<string, unknown> {
  return {
    entry: entry.entry,
    reason: entry.reason,
    created_at: formatUs(entry.createdAtUs),
    expires_at: entry.expiresAtUs === null ? null : formatUs(entry.expiresAtUs),
    updated_at: formatUs(entry.updatedAtUs),
    removed: entry.removed,
  };
}

function usOf(value: unknown): number | null {
  return typeof value === 'string' ? parseUs(value) : null;
}

export function blockEntryOf(source: Readonly<Record<string, unknown>>): BlockEntry | null {
  const createdAtUs = usOf(source.created_at);
  const updatedAtUs = usOf(source.updated_at);
  if (typeof source.entry !== 'string' || typeof source.reason !== 'string' || createdAtUs === null || updatedAtUs === null) return null;
  return {
    entry: source.entry, reason: source.reason, createdAtUs, expiresAtUs: usOf(source.expires_at), updatedAtUs, removed: source.removed === true,
  };
}

const CALL_FIELDS = ['cdr_id', 'caller', 'callee', 'caller_e164', 'callee_e164', 'disposition', 'final_code', 'talk_us', 'start_at', 'written_at'];

/** A CDR document → the fields the lookup needs; null when it lacks an id or a start. */
export function storedCallOf(source: Readonly<Record<string, unknown>>): StoredCall | null {
  const startUs = usOf(source.start_at);
  if (typeof source.cdr_id !== 'string' || startUs === null) return null;
  const text = (name: string) => (typeof source[name] === 'string' ? source[name] as string : null);
  const integer = (name: string) => (typeof source[name] === 'number' ? source[name] as number : null);
  return {
    cdrId: source.cdr_id, caller: text('caller'), callee: text('callee'), callerE164: text('caller_e164'), calleeE164: text('callee_e164'),
    startUs, finalCode: integer('final_code'), disposition: text('disposition') ?? 'unknown', talkUs: integer('talk_us'),
    // 0 for a CDR written before `written_at` existed.
    writtenAtUs: usOf(source.written_at) ?? 0,
  };
}

function storedCalls(hits: readonly SearchHit[]): StoredCall[] {
  return hits.flatMap((hit) => storedCallOf(hit.source) ?? []);
}

/**
 * Every document with `field` at or after `sinceUs`, in (`field`, `key`) order, a page at a time,
 * with `search_after` on that unique sort (as search-stream.ts reads CDRs): ties at one instant
 * (an import writes thousands of entries at once) are neither skipped nor read twice. `key` is a
 * unique keyword field.
 */
export async function scanByTime(
  engine: SearchEngine, index: string, field: string, key: string, sinceUs: number, source: readonly string[] | undefined,
  onPage: (hits: SearchHit[]) => void,
): Promise<void> {
  let after: readonly unknown[] | undefined;
  for (;;) {
    const hits = await engine.search(index, {
      query: { bool: { filter: [{ range: { [field]: { gte: formatUs(sinceUs) } } }] } },
      // unmapped_type: an index created before the field existed sorts as empty instead of failing the search.
      sort: [{ [field]: { order: 'asc', unmapped_type: 'date_nanos' } }, { [key]: { order: 'asc', unmapped_type: 'keyword' } }],
      size: MAX_SEARCH_SIZE,
      source: source === undefined ? undefined : [...new Set([...source, field, key])],
      ...(after === undefined ? {} : { search_after: after }),
    });
    if (hits.length > 0) onPage(hits);
    const last = hits[hits.length - 1];
    if (hits.length < MAX_SEARCH_SIZE || last?.sort === undefined) return;
    after = last.sort;
  }
}

export class SearchLookupStore implements LookupStore {
  private template: Promise<void> | null = null;

  constructor(private readonly engine: SearchEngine, private readonly prefix: string, readonly description: string) {}

  static async open(config: SearchConfig): Promise<SearchLookupStore> {
    return new SearchLookupStore(await createSearchEngine(config), config.indexPrefix, `${config.engine} ${config.urlForLogs}`);
  }

  private ensureTemplate(): Promise<void> {
    this.template ??= this.engine.putIndexTemplate(blocklistTemplate(this.prefix)).catch((error: unknown) => {
      this.template = null;
      throw error;
    });
    return this.template;
  }

  async putBlockEntries(entries: readonly BlockEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.ensureTemplate();
    const index = blocklistIndex(this.prefix);
    const actions: BulkAction[] = entries.map((entry) => ({ index, id: entry.entry, document: blockDocument(entry) }));
    const results = await this.engine.bulk(actions);
    const failed = results.flatMap((result, i) => (result.ok ? [] : [`${entries[i]!.entry}: HTTP ${result.status} ${result.reason}`]));
    if (failed.length > 0) throw new StoreUnavailableError(`block list write refused for ${failed.length} entries (${failed.slice(0, 3).join('; ')})`);
    // Visible to `qbl blocklist list` at once; the instances' polls would see it after the next refresh anyway.
    await this.engine.refresh(index);
  }

  async blockEntry(entry: string): Promise<BlockEntry | null> {
    const hits = await this.engine.search(blocklistIndex(this.prefix), { query: { bool: { filter: [{ term: { entry } }] } }, size: 1 });
    return hits.length === 0 ? null : blockEntryOf(hits[0]!.source);
  }

  async blockEntriesSince(sinceUs: number): Promise<BlockEntry[]> {
    const entries: BlockEntry[] = [];
    await scanByTime(this.engine, blocklistIndex(this.prefix), 'updated_at', 'entry', sinceUs, undefined, (hits) => {
      for (const hit of hits) {
        const entry = blockEntryOf(hit.source);
        if (entry !== null) entries.push(entry);
      }
    });
    return entries;
  }

  async callsSince(sinceUs: number, onChunk: (calls: StoredCall[]) => void): Promise<number> {
    let total = 0;
    await scanByTime(this.engine, indexPattern(this.prefix, 'cdrs'), 'start_at', 'cdr_id', sinceUs, CALL_FIELDS, (hits) => {
      const calls = storedCalls(hits);
      total += calls.length;
      onChunk(calls);
    });
    return total;
  }

  async writtenSince(sinceUs: number): Promise<StoredCall[]> {
    const written: StoredCall[] = [];
    await scanByTime(this.engine, indexPattern(this.prefix, 'cdrs'), 'written_at', 'cdr_id', sinceUs, CALL_FIELDS, (hits) => {
      for (const call of storedCalls(hits)) written.push(call);
    });
    return written;
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
