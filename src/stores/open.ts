/** Picks the store engine from the configuration: the one place that knows every engine. */
import type { Config } from '../config/config';
import type { Logger } from '../observability/logger';
import type { CallStore, CdrReader } from './store';
import type { LookupStore } from './lookup-store';
import { SqliteStore } from './sqlite/sqlite-store';
import { openSearchReader, openSearchStore } from './search/open-search';

/** For `qbl cdrs` / `qbl events`: read-only, never creates a database. */
export async function openCdrReader(config: Config): Promise<CdrReader> {
  if (config.search) return openSearchReader(config.search);
  return SqliteStore.open(config.sqlitePath, { readonly: true });
}

/** For the service: the writer the pipeline commits each batch to. */
export async function openCallStore(config: Config, logger: Logger): Promise<CallStore> {
  if (config.search) return openSearchStore(config.search, await SqliteStore.open(config.sqlitePath, { logger }), logger);
  return SqliteStore.open(config.sqlitePath, { logger });
}

/** For the number lookup and `qbl blocklist`: the block list and the CDRs, wherever the configuration keeps them. */
export async function openLookupStore(config: Config): Promise<LookupStore> {
  if (config.search) {
    const { SearchLookupStore } = await import('./search/lookup-store');
    return SearchLookupStore.open(config.search);
  }
  const { SqliteLookupStore } = await import('./sqlite/lookup-store');
  return SqliteLookupStore.open(config.sqlitePath);
}
