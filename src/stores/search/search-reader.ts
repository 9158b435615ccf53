/**
 * CdrReader on a search engine: the same filters, order and output as the SQLite reader.
 * The query bodies are pure functions so tests (and the OpenSearch engine) share them.
 */
import { formatUs } from '../../../correlators/cdr';
import type { CdrQuery, CdrRange, CdrReader, EventRow, StoredCdr, StreamedCdr } from '../store';
import { eventRowFromSource, indexPattern, MAX_SEARCH_SIZE, storedCdrFromSource } from './documents';
import type { SearchBody, SearchEngine } from './engine';
import { searchCdrPages, searchEventRowsForCalls } from './search-stream';

// Defined with the documents (the stream module reads them too); exported here as before.
export { eventRowFromSource, MAX_SEARCH_SIZE, storedCdrFromSource };

const NUMBER_FIELDS = ['caller', 'callee', 'caller_e164', 'callee_e164'] as const;

/** Filters as in the SQLite reader: since inclusive, until exclusive, on the call's start. */
export function cdrSearchBody(query: CdrQuery): SearchBody {
  const filter: Array<Record<string, unknown>> = [];
  if (query.callId !== undefined) filter.push({ term: { call_id: query.callId } });
  if (query.numbers !== undefined) {
    filter.push({
      bool: {
        should: NUMBER_FIELDS.map((field) => ({ terms: { [field]: [...query.numbers!] } })),
        minimum_should_match: 1,
      },
    });
  }
  if (query.sinceUs !== undefined || query.untilUs !== undefined) {
    const range: Record<string, string> = {};
    if (query.sinceUs !== undefined) range.gte = formatUs(query.sinceUs);
    if (query.untilUs !== undefined) range.lt = formatUs(query.untilUs);
    filter.push({ range: { start_at: range } });
  }
  if (query.disposition !== undefined) filter.push({ term: { disposition: query.disposition } });
  return {
    query: { bool: { filter } },
    sort: [{ start_at: { order: 'desc' } }, { cdr_id: { order: 'desc' } }],
    size: Math.min(query.limit, MAX_SEARCH_SIZE),
  };
}

/** A call's raw events in event-time order (ties by id, as SQLite orders them). */
export function eventsForCallBody(callId: string): SearchBody {
  return {
    query: { bool: { filter: [{ term: { call_id: callId } }] } },
    sort: [{ time: { order: 'asc' } }, { id: { order: 'asc' } }],
    size: MAX_SEARCH_SIZE,
  };
}

export class SearchReader implements CdrReader {
  constructor(private readonly engine: SearchEngine, private readonly indexPrefix: string) {}

  async searchCdrs(query: CdrQuery): Promise<StoredCdr[]> {
    const hits = await this.engine.search(indexPattern(this.indexPrefix, 'cdrs'), cdrSearchBody(query));
    return hits.map((hit) => storedCdrFromSource(hit.source));
  }

  streamCdrs(range: CdrRange): AsyncIterable<readonly StreamedCdr[]> {
    return searchCdrPages(this.engine, this.indexPrefix, range);
  }

  eventRowsForCalls(callIds: readonly string[]): Promise<Map<string, EventRow[]>> {
    return searchEventRowsForCalls(this.engine, this.indexPrefix, callIds);
  }

  async eventsForCall(callId: string): Promise<EventRow[]> {
    const hits = await this.engine.search(indexPattern(this.indexPrefix, 'events'), eventsForCallBody(callId));
    return hits.map((hit) => eventRowFromSource(hit.source));
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
