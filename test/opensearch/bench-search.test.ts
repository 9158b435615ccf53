/**
 * The bench's search-store figures at a small N against the real node (not a timing test): the
 * service on the search store drains every event and the engine holds exactly the expected CDRs,
 * the bare client indexes every document of the same stream, the ratio is the two rates divided,
 * and the bench's indices are gone afterwards.
 */
import { benchTraffic } from '../../bench/traffic';
import { measureSearchPath } from '../../bench/run';
import { benchSearchConfig, searchActions, searchSkipReason } from '../../bench/search';
import { commitBatches } from '../../bench/store-alone';
import { benchOnNode, describeOnNode, rawClient } from './node';

const EVENTS = 1500;
const INTAKE = { prefetch: 200, batchSize: 100, batchWaitMs: 5 };

describeOnNode('bench: the search-store path (OpenSearch)', () => {
  benchOnNode();

  test('the documents are the service\'s: one per distinct event, a CDR per call', () => {
    const traffic = benchTraffic(EVENTS, 7, Date.now() * 1000);
    const { actions, events } = searchActions(traffic.messages, INTAKE.batchSize, 'qbl-x');
    expect(events).toBe(traffic.messages.length);
    const cdrIds = new Set(actions.filter((a) => a.index.startsWith('qbl-x-cdrs-')).map((a) => a.id));
    expect(cdrIds.size).toBe(traffic.expected.length);
    expect(actions.every((a) => a.index.startsWith('qbl-x-cdrs-') || a.index.startsWith('qbl-x-events-'))).toBe(true);
    // With the join state: after each commit's events and CDRs, a call document per call it
    // changed, and the last one of each call holds all its distinct events.
    const withState = searchActions(traffic.messages, INTAKE.batchSize, 'qbl-x', true).actions;
    const calls = withState.filter((a) => a.index === 'qbl-x-calls');
    expect(withState.length - calls.length).toBe(actions.length);
    const last = new Map(calls.map((a) => [String(a.document.call_id), a.document]));
    expect(last.size).toBe(traffic.expected.length);
    const distinct = new Map<string, Set<string>>();
    for (const { event } of commitBatches(traffic.messages, INTAKE.batchSize).flatMap((b) => b.events)) {
      distinct.set(event.callId, (distinct.get(event.callId) ?? new Set()).add(event.id));
    }
    for (const [callId, document] of last) {
      expect(document.event_count).toBe(distinct.get(callId)!.size);
      expect(document.open).toBe(false);
    }
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
    expect(figures.search_limit_with_state_per_s).toBeGreaterThan(0);
    expect(figures.search_ratio_with_state).toBeCloseTo(figures.search_pipeline_per_s! / figures.search_limit_with_state_per_s!, 2);
    // The node runs on this host: its CPU is accounted, and the call documents cost it work.
    expect(figures.search_engine_cpu_us_pipeline).toBeGreaterThan(0);
    expect(figures.search_engine_cpu_us_limit).toBeGreaterThan(0);
    expect(figures.search_engine_cpu_us_limit_with_state).toBeGreaterThan(0);
    expect(figures.search_bulk_max_docs).toBe(benchSearchConfig('qbl-x').bulkMaxDocs);
    const left = await rawClient().cat.indices({ index: 'qbl-bench-*', format: 'json' }).catch(() => ({ body: [] }));
    expect(left.body).toEqual([]);
  }, 180_000);
});
