/**
 * What the search engine holds, for `qbl status`: CDRs, raw events, call documents and how many
 * of those are open. Counts are near-real-time (the refresh interval, 1 s by default).
 */
import { callsIndex } from './calls';
import { indexPattern } from './documents';
import type { SearchEngine } from './engine';

export interface SearchCounts {
  readonly cdrs: number;
  readonly events: number;
  /** Documents of `<prefix>-calls`: one per call seen by this version. */
  readonly callDocuments: number;
  readonly openCalls: number;
}

export async function searchCounts(engine: SearchEngine, prefix: string): Promise<SearchCounts> {
  const calls = callsIndex(prefix);
  const [cdrs, events, callDocuments, openCalls] = await Promise.all([
    engine.count(indexPattern(prefix, 'cdrs')),
    engine.count(indexPattern(prefix, 'events')),
    engine.count(calls),
    engine.count(calls, { term: { open: true } }),
  ]);
  return { cdrs, events, callDocuments, openCalls };
}
