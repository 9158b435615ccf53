/**
 * The bench's search-store figures at a small N against the real node (not a timing test): the
 * service on the search store drains every event and the engine holds exactly the expected CDRs,
 * the bare client indexes every document of the same stream, the ratio is the two rates divided,
 * and the bench's indices are gone afterwards.
 */
import { benchTraffic } from '../../bench/traffic';
import { measureSearchPath } from '../../bench/run';
import { benchSearchConfig, searchActions, searchSkipReason } from '../../bench/search';
import { describeOnNode, NODE_URL, rawClient } from './node';

const EVENTS = 1500;
const INTAKE = { prefetch: 200, batchSize: 100, batchWaitMs: 5 };

describeOnNode('bench: the search-store path (OpenSearch)', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.OPENSEARCH_URL = NODE_URL;
    delete process.env.ELASTICSEARCH_URL;
  });
  afterAll(() => {
    process.env = saved;
  });

  test('the documents are the service\'s: one per distinct event, a CDR per call', () => {
    const traffic = benchTraffic(EVENTS, 7, Date.now() * 1000);
    const { actions, events } = searchActions(traffic.messages, INTAKE.batchSize, 'qbl-x');
    expect(events).toBe(traffic.messages.length);
    const cdrIds = new Set(actions.filter((a) => a.index.startsWith('qbl-x-cdrs-')).map((a) => a.id));
    expect(cdrIds.size).toBe(traffic.expected.length);
    expect(actions.every((a) => a.index.startsWith('qbl-x-cdrs-') || a.index.startsWith('qbl-x-events-'))).toBe(true);
  });

  test('pipeline and bare client both measured; CDRs exact; ratio = pipeline / limit; nothing left behind', async () => {
    expect(searchSkipReason()).toBeNull();
    const traffic = benchTraffic(EVENTS, 7, Date.now() * 1000);
    const figures = await measureSearchPath(traffic.messages, traffic.expected, { ...INTAKE, queueType: 'classic' }, () => undefined);
    expect(figures.search_skipped).toBeNull();
    expect(figures.search_engine).toBe('opensearch');
    expect(figures.search_cdrs_ok).toBe(traffic.expected.length);
    expect(figures.search_pipeline_per_s).toBeGreaterThan(0);
    expect(figures.search_limit_per_s).toBeGreaterThan(0);
    expect(figures.search_ratio).toBeCloseTo(figures.search_pipeline_per_s! / figures.search_limit_per_s!, 2);
    expect(figures.search_bulk_max_docs).toBe(benchSearchConfig('qbl-x').bulkMaxDocs);
    const left = await rawClient().cat.indices({ index: 'qbl-bench-*', format: 'json' }).catch(() => ({ body: [] }));
    expect(left.body).toEqual([]);
  }, 180_000);
});
