/** Entry points for src/stores/open.ts: the search engine as reader, or as the store (CDRs, events and the join state). */
import type { SearchConfig } from './options';
import type { Logger } from '../../observability/logger';
import type { CallStore, CdrReader } from '../store';
import { SearchReader } from './search-reader';
import { SearchStore, createSearchEngine } from './search-store';
import { type SearchCounts, searchCounts } from './counts';

export async function openSearchReader(config: SearchConfig): Promise<CdrReader> {
  return new SearchReader(await createSearchEngine(config), config.indexPrefix);
}

/** The whole state on the engine: no local file (docs/scaling.md). */
export async function openSearchStore(config: SearchConfig, logger?: Logger): Promise<CallStore> {
  return SearchStore.open(config, logger);
}

/** What the engine holds (`qbl status`): CDRs, raw events, call documents, open calls; each request within `timeoutMs`. */
export async function openSearchCounts(config: SearchConfig, timeoutMs?: number): Promise<SearchCounts> {
  const engine = await createSearchEngine(config, timeoutMs);
  try {
    return await searchCounts(engine, config.indexPrefix);
  } finally {
    await engine.close();
  }
}
