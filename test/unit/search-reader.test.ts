/**
 * Query bodies for every filter, and the reader's output shape. Searches run through the client
 * on @elastic/elasticsearch-mock (no Elasticsearch server can run on this machine).
 */
import { cdrDocument, eventDocument } from '../../src/stores/search/documents';
import { cdrSearchBody, eventsForCallBody, MAX_SEARCH_SIZE, SearchReader } from '../../src/stores/search/search-reader';
import { answeredCdr, storedEvent, T0_US } from './search-fixtures';
import { MockCluster } from './search-es-mock';

const SORT = [{ start_at: { order: 'desc' } }, { cdr_id: { order: 'desc' } }];

describe('CDR query bodies', () => {
  it('no filter: everything, newest call first, ties by cdr_id as in SQLite', () => {
    expect(cdrSearchBody({ limit: 20 })).toEqual({ query: { bool: { filter: [] } }, sort: SORT, size: 20 });
  });

  it('call id', () => {
    expect(cdrSearchBody({ callId: 'a@h', limit: 5 }).query).toEqual({ bool: { filter: [{ term: { call_id: 'a@h' } }] } });
  });

  it('numbers match caller or callee, raw or E.164', () => {
    expect(cdrSearchBody({ numbers: ['+5511', '0055'], limit: 5 }).query).toEqual({
      bool: {
        filter: [{
          bool: {
            should: [
              { terms: { caller: ['+5511', '0055'] } }, { terms: { callee: ['+5511', '0055'] } },
              { terms: { caller_e164: ['+5511', '0055'] } }, { terms: { callee_e164: ['+5511', '0055'] } },
            ],
            minimum_should_match: 1,
          },
        }],
      },
    });
  });

  it('time range on the call start: since inclusive, until exclusive, microseconds kept', () => {
    expect(cdrSearchBody({ sinceUs: T0_US, untilUs: T0_US + 1, limit: 5 }).query).toEqual({
      bool: { filter: [{ range: { start_at: { gte: '2026-11-30T00:53:20.912345Z', lt: '2026-11-30T00:53:20.912346Z' } } }] },
    });
    expect(cdrSearchBody({ sinceUs: T0_US, limit: 5 }).query).toEqual({
      bool: { filter: [{ range: { start_at: { gte: '2026-11-30T00:53:20.912345Z' } } }] },
    });
  });

  it('disposition, combined with the others', () => {
    const body = cdrSearchBody({ callId: 'a@h', disposition: 'busy', untilUs: T0_US, limit: 50_000 });
    expect(body.query).toEqual({
      bool: {
        filter: [
          { term: { call_id: 'a@h' } },
          { range: { start_at: { lt: '2026-11-30T00:53:20.912345Z' } } },
          { term: { disposition: 'busy' } },
        ],
      },
    });
    expect(body.size).toBe(MAX_SEARCH_SIZE);
  });

  it('events of a call in event-time order, ties by id', () => {
    expect(eventsForCallBody('a@h')).toEqual({
      query: { bool: { filter: [{ term: { call_id: 'a@h' } }] } },
      sort: [{ time: { order: 'asc' } }, { id: { order: 'asc' } }],
      size: MAX_SEARCH_SIZE,
    });
  });
});

describe('SearchReader', () => {
  it('returns stored CDRs and event rows in the same shape as the SQLite reader', async () => {
    const cluster = new MockCluster();
    const reader = new SearchReader(cluster.engine(), 'qbl');
    const record = answeredCdr('a@h', T0_US);
    cluster.searchHits = [{ _index: 'qbl-cdrs-2026.11', _id: record.cdr.cdr_id, _source: cdrDocument(record) }];
    expect(await reader.searchCdrs({ numbers: ['+5511987654321'], limit: 10 })).toEqual([{ cdr: record.cdr, extras: record.extras }]);
    expect(cluster.searches[0]!.path).toBe('/qbl-cdrs-*/_search');
    expect(cluster.searches[0]!.body).toMatchObject({ size: 10, sort: SORT });

    const stored = storedEvent('a@h', 'invite_reply', T0_US, { replyCode: 180, direction: 'upstream' });
    cluster.searchHits = [{ _index: 'qbl-events-2026.11', _id: stored.event.id, _source: eventDocument(stored) }];
    expect(await reader.eventsForCall('a@h')).toEqual([{
      id: stored.event.id, call_id: 'a@h', kind: 'invite_reply', event_name: 'E_QBL_INVITE_REPLY',
      time: '2026-11-30T00:53:20.912345Z', reply_code: 180, direction: 'upstream', caller: '+5511987654321',
      callee: '551133334444', exchange: 'opensips', routing_key: 'qbl', body: stored.body.toString('utf8'),
    }]);
    expect(cluster.searches[1]!.path).toBe('/qbl-events-*/_search');
    await reader.close();
  });
});
