/** Picks the store engine from the configuration: the one place that knows every engine. */
import type { Logger } from '../observability/logger';
import type { CallStore, CdrReader } from './store';
import type { LookupStore } from './lookup-store';
import { SqliteStore } from './sqlite/sqlite-store';
import { SqliteReader } from './sqlite/sqlite-reader';
import { openSearchCounts, openSearchReader, openSearchStore } from './search/open-search';
import type { SearchCounts } from './search/counts';
import type { SearchConfig } from './search/options';

/** Where the stores live: the SQLite file, or the search engine (everything, the join state included) when one is configured. */
export interface StoreConfig {
  readonly sqlitePath: string;
  /** Retention of the embedded store, in days (0 or absent: keep everything). */
  readonly sqliteRetentionDays?: number;
  readonly search?: SearchConfig;
}

/** For `qbl cdrs` / `qbl events`: where CDRs are searched (the search engine when configured); read-only, never creates a database. */
export async function openCdrReader(config: StoreConfig): Promise<CdrReader> {
  if (config.search) return openSearchReader(config.search);
  return openLocalReader(config);
}

/** What the search engine holds, for `qbl status` in search mode (counts, near-real-time). */
export function countSearchStore(config: SearchConfig, timeoutMs?: number): Promise<SearchCounts> {
  return openSearchCounts(config, timeoutMs);
}

/** The embedded store's reader (`qbl status` counts its rows when no search engine is configured); read-only. */
export function openLocalReader(config: StoreConfig): SqliteReader {
  return SqliteReader.open(config.sqlitePath);
}

/** For the service: the writer the pipeline commits each batch to. */
export async function openCallStore(config: StoreConfig, logger: Logger): Promise<CallStore> {
  if (config.search) return openSearchStore(config.search, logger);
  return SqliteStore.open(config.sqlitePath, { logger, retentionDays: config.sqliteRetentionDays });
}

/** For the number lookup and `qbl blocklist`: the block list and the CDRs, wherever the configuration keeps them. */
export async function openLookupStore(config: StoreConfig): Promise<LookupStore> {
  if (config.search) {
    const { SearchLookupStore } = await import('./search/lookup-store');
    return SearchLookupStore.open(config.search);
  }
  const { SqliteLookupStore } = await import('./sqlite/lookup-store');
  return SqliteLookupStore.open(config.sqlitePath);
}
