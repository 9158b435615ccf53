/**
 * The Elasticsearch engine's count, bounded delete-by-query and index creation date (qbl status,
 * the calls index's retention, the upgrade's open calls), on @elastic/elasticsearch-mock: what
 * is sent and how the answers are read. The OpenSearch engine's are tested on the real node.
 */
import { MockCluster } from './search-es-mock';

describe('ElasticsearchEngine: count, delete by query, creation date', () => {
  test('count sends the query to the pattern, missing indices allowed, and reads the count', async () => {
    const cluster = new MockCluster();
    const seen: Array<{ path: string; body: unknown; query: unknown }> = [];
    cluster.mock.add({ method: ['GET', 'POST'], path: '/:index/_count' }, (params) => {
      seen.push({ path: String(params.path), body: params.body, query: params.querystring });
      return { count: 42, _shards: { total: 1, successful: 1, failed: 0 } };
    });
    const engine = cluster.engine();
    expect(await engine.count('qbl-calls', { term: { open: true } })).toBe(42);
    expect(await engine.count('qbl-cdrs-*')).toBe(42);
    expect(seen[0]).toMatchObject({ path: '/qbl-calls/_count', body: { query: { term: { open: true } } }, query: { ignore_unavailable: 'true', allow_no_indices: 'true' } });
    expect(seen[1]!.body ?? {}).toEqual({});
  });

  test('delete by query is bounded, skips conflicts, and reports deletions and conflicts', async () => {
    const cluster = new MockCluster();
    const seen: Array<{ path: string; body: unknown; query: unknown }> = [];
    cluster.mock.add({ method: 'POST', path: '/:index/_delete_by_query' }, (params) => {
      seen.push({ path: String(params.path), body: params.body, query: params.querystring });
      return { deleted: 7, version_conflicts: 2, total: 9, failures: [] };
    });
    const query = { bool: { filter: [{ term: { open: false } }] } };
    expect(await cluster.engine().deleteByQuery('qbl-calls', query, 5000)).toEqual({ deleted: 7, conflicts: 2 });
    // This client sends max_docs in the body (the API takes it there or in the URL).
    expect(seen[0]).toMatchObject({
      path: '/qbl-calls/_delete_by_query', body: { query, max_docs: 5000 },
      query: { conflicts: 'proceed', refresh: 'true', ignore_unavailable: 'true', allow_no_indices: 'true' },
    });
  });

  test('the creation date is the index setting, absent when the index is', async () => {
    const cluster = new MockCluster();
    cluster.mock.add({ method: 'GET', path: '/qbl-calls/_settings/index.creation_date' },
      () => ({ 'qbl-calls': { settings: { index: { creation_date: '1796653553232' } } } }));
    cluster.mock.add({ method: 'GET', path: '/other-calls/_settings/index.creation_date' }, () => ({}));
    const engine = cluster.engine();
    expect(await engine.indexCreatedAtMs('qbl-calls')).toBe(1_796_653_553_232);
    expect(await engine.indexCreatedAtMs('other-calls')).toBeUndefined();
  });
});
