/**
 * Reading many CDRs and events from a search engine in bounded memory: `search_after` on a
 * unique sort (call start, then cdr_id; event time, then id), a page at a time. Query bodies are
 * pure so tests check them; SearchReader runs them.
 */
import { parseUs, formatUs } from '../../../correlators/cdr';
import { DEFAULT_CDR_PAGE_SIZE, type CdrRange, type EventRow, type StreamedCdr } from '../store';
import { eventRowFromSource, indexPattern, MAX_SEARCH_SIZE, storedCdrFromSource } from './documents';
import type { SearchBody, SearchEngine } from './engine';

/** Call ids per events search (a `terms` filter). */
const CALLS_PER_SEARCH = 500;

/** CDRs whose call started in the range, oldest first; `after` is the previous page's last sort values. */
export function cdrStreamBody(range: CdrRange, after?: readonly unknown[]): SearchBody {
  const filter: Array<Record<string, unknown>> = [];
  if (range.sinceUs !== undefined || range.untilUs !== undefined) {
    const bounds: Record<string, string> = {};
    if (range.sinceUs !== undefined) bounds.gte = formatUs(range.sinceUs);
    if (range.untilUs !== undefined) bounds.lt = formatUs(range.untilUs);
    filter.push({ range: { start_at: bounds } });
  }
  const body: SearchBody = {
    query: { bool: { filter } },
    sort: [{ start_at: { order: 'asc' } }, { cdr_id: { order: 'asc' } }],
    size: Math.min(range.pageSize ?? DEFAULT_CDR_PAGE_SIZE, MAX_SEARCH_SIZE),
  };
  return after === undefined ? body : { ...body, search_after: after };
}

/** The events of these calls, by call, then event time, then id. */
export function eventsForCallsBody(callIds: readonly string[], after?: readonly unknown[]): SearchBody {
  const body: SearchBody = {
    query: { bool: { filter: [{ terms: { call_id: [...callIds] } }] } },
    sort: [{ call_id: { order: 'asc' } }, { time: { order: 'asc' } }, { id: { order: 'asc' } }],
    size: MAX_SEARCH_SIZE,
  };
  return after === undefined ? body : { ...body, search_after: after };
}

export async function* searchCdrPages(engine: SearchEngine, indexPrefix: string, range: CdrRange): AsyncGenerator<readonly StreamedCdr[]> {
  const size = cdrStreamBody(range).size;
  let after: readonly unknown[] | undefined;
  for (;;) {
    const hits = await engine.search(indexPattern(indexPrefix, 'cdrs'), cdrStreamBody(range, after));
    const page = hits.map((hit): StreamedCdr => ({
      ...storedCdrFromSource(hit.source),
      startUs: parseUs(String(hit.source.start_at)) ?? 0,
    }));
    if (page.length > 0) yield page;
    const last = hits[hits.length - 1];
    if (hits.length < size || last?.sort === undefined) return;
    after = last.sort;
  }
}

export async function searchEventRowsForCalls(engine: SearchEngine, indexPrefix: string, callIds: readonly string[]): Promise<Map<string, EventRow[]>> {
  const result = new Map<string, EventRow[]>();
  for (let i = 0; i < callIds.length; i += CALLS_PER_SEARCH) {
    const chunk = callIds.slice(i, i + CALLS_PER_SEARCH);
    let after: readonly unknown[] | undefined;
    for (;;) {
      const hits = await engine.search(indexPattern(indexPrefix, 'events'), eventsForCallsBody(chunk, after));
      for (const hit of hits) {
        const row = eventRowFromSource(hit.source);
        const rows = result.get(row.call_id);
        if (rows === undefined) result.set(row.call_id, [row]);
        else rows.push(row);
      }
      const last = hits[hits.length - 1];
      if (hits.length < MAX_SEARCH_SIZE || last?.sort === undefined) break;
      after = last.sort;
    }
  }
  return result;
}
