/** Entry points for src/stores/open.ts: the search engine as reader, or as store over a local one. */
import type { SearchConfig } from './options';
import type { Logger } from '../../observability/logger';
import type { CallStore, CdrReader } from '../store';
import { SearchReader } from './search-reader';
import { SearchStore, createSearchEngine } from './search-store';

export async function openSearchReader(config: SearchConfig): Promise<CdrReader> {
  return new SearchReader(await createSearchEngine(config), config.indexPrefix);
}

/** `local` keeps the correlator's history; closing the search store closes it too. */
export async function openSearchStore(config: SearchConfig, local: CallStore, logger?: Logger): Promise<CallStore> {
  return SearchStore.open(config, local, logger);
}
