/**
 * Streaming CDRs and events from a search engine: the query bodies, and `search_after` paging
 * through the Elasticsearch client on @elastic/elasticsearch-mock (no Elasticsearch server can run
 * on this machine; the OpenSearch suite runs the same code on a real node).
 */
import Mock from '@elastic/elasticsearch-mock';
import { SearchAfterCluster } from '../support/search-after-mock';
import { cdrDocument, eventDocument } from '../../src/stores/search/documents';
import { ElasticsearchEngine } from '../../src/stores/search/elasticsearch-engine';
import { SearchReader } from '../../src/stores/search/search-reader';
import { cdrStreamBody, eventsForCallsBody } from '../../src/stores/search/search-stream';
import { loadConfig } from '../../src/config/config';
import { answeredCdr, storedEvent, T0_US } from './search-fixtures';

describe('stream query bodies', () => {
  it('CDRs: the range on the call start, oldest first, ties by cdr_id, then after the last page', () => {
    expect(cdrStreamBody({ sinceUs: T0_US, untilUs: T0_US + 1, pageSize: 3 })).toEqual({
      query: { bool: { filter: [{ range: { start_at: { gte: '2026-11-30T00:53:20.912345Z', lt: '2026-11-30T00:53:20.912346Z' } } }] } },
      sort: [{ start_at: { order: 'asc' } }, { cdr_id: { order: 'asc' } }],
      size: 3,
    });
    expect(cdrStreamBody({ pageSize: 50_000 }, [1, 'x'])).toMatchObject({ size: 10_000, search_after: [1, 'x'] });
  });

  it('events of many calls: by call, then time, then id', () => {
    expect(eventsForCallsBody(['a', 'b'])).toMatchObject({ query: { bool: { filter: [{ terms: { call_id: ['a', 'b'] } }] } }, sort: [{ call_id: { order: 'asc' } }, { time: { order: 'asc' } }, { id: { order: 'asc' } }] });
  });
});

describe('SearchReader.streamCdrs on the Elasticsearch client', () => {
  it('pages with search_after until a short page, in bounded pages, every CDR once', async () => {
    const docs = Array.from({ length: 23 }, (_, i) => cdrDocument(answeredCdr(`call-${i}`, T0_US + Math.floor(i / 3) * 1_000_000)));
    const cluster = new SearchAfterCluster({ cdrs: docs, events: [] });
    const reader = new SearchReader(cluster.engine(), 'qbl');
    const pages: string[][] = [];
    for await (const page of reader.streamCdrs({ sinceUs: T0_US + 1_000_000, pageSize: 5 })) pages.push(page.map((cdr) => cdr.cdr.call_id));
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5]);
    expect(new Set(pages.flat()).size).toBe(20);
    const last = docs.find((d) => d.call_id === pages[0]![4])!;
    expect(cluster.requests[0]!.body.search_after).toBeUndefined();
    expect(cluster.requests[1]!.body.search_after).toEqual([last.start_at, last.cdr_id]);
    expect(cluster.requests).toHaveLength(5); // the fifth answers empty: done
    await reader.close();
  });

  it('eventRowsForCalls groups each call\'s events', async () => {
    const mock = new Mock();
    const events = [storedEvent('a', 'invite_request', T0_US), storedEvent('a', 'invite_reply', T0_US + 5), storedEvent('b', 'invite_request', T0_US + 7)];
    mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, () => ({
      took: 1, timed_out: false, hits: { hits: events.map((e, i) => ({ _index: 'qbl-events-2026.11', _id: e.event.id, _source: eventDocument(e), sort: ['x', i] })) },
    }));
    const MockConnection = mock.getConnection() as unknown as new (...args: never[]) => object;
    class ClosableConnection extends MockConnection { async close(): Promise<void> {} }
    const config = loadConfig({ ELASTICSEARCH_URL: 'http://localhost:9200' }).search!;
    const reader = new SearchReader(ElasticsearchEngine.fromConfig(config, { Connection: ClosableConnection as never }), 'qbl');
    const grouped = await reader.eventRowsForCalls(['a', 'b']);
    expect([...grouped.keys()]).toEqual(['a', 'b']);
    expect(grouped.get('a')!.map((e) => e.kind)).toEqual(['invite_request', 'invite_reply']);
    await reader.close();
  });
});
