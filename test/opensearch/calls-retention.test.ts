/**
 * The calls index's retention on the real OpenSearch node: `qbl prune` in search mode and the
 * service's timer delete the documents of closed calls not written for N days, never an open
 * call's, and a deleted call's history is still read back from the events index.
 */
import { callDocumentId, callsIndex } from '../../src/stores/search/calls';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { SearchStore, writerOptions } from '../../src/stores/search/search-store';
import { callsCutoffUs, countPrunableCalls, pruneCalls } from '../../src/stores/search/calls-retention';
import { answeredCall, storedEvent, T0_US } from '../unit/search-fixtures';
import { silentLogger, waitUntil } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';
import { qblWithEnv } from '../support/run-cli';
import { NODE_URL, describeOnNode, nodeConfig, nodeFixture } from './node';

const DAY_US = 86_400_000_000;

describeOnNode('the calls index retention on the real OpenSearch node', () => {
  const f = integrationFixture('os-calls-retention');
  const node = nodeFixture(f);

  /** A store whose call documents say they were written `daysAgo` days ago. */
  function storeWrittenAgo(daysAgo: number, callsRetentionDays = 0): SearchStore {
    const config = nodeConfig(node.prefix, { callsRetentionDays });
    const engine = OpenSearchEngine.fromConfig(config);
    return new SearchStore(engine, new BulkWriter(engine, writerOptions(config)), {
      indexPrefix: node.prefix, retentionDays: 30, callsRetentionDays, logger: silentLogger(), nowUs: () => Date.now() * 1000 - daysAgo * DAY_US,
    });
  }

  async function storedIds(store: SearchStore): Promise<string[]> {
    const engine = (store as unknown as { engine: OpenSearchEngine }).engine;
    const ids = ['old-closed@pbx', 'old-open@pbx', 'recent-closed@pbx'];
    const docs = await engine.mget(callsIndex(node.prefix), ids.map(callDocumentId));
    return ids.filter((id) => docs.has(callDocumentId(id)));
  }

  /** A closed call and an open one, both written 40 days ago by `old`. */
  async function writeOldCalls(old: SearchStore): Promise<void> {
    await old.ensureSchema();
    await old.commit(answeredCall('old-closed@pbx', T0_US));
    await old.commit({
      events: [storedEvent('old-open@pbx', 'invite_request', T0_US)], cdrs: [],
      openCalls: [{ callId: 'old-open@pbx', deadlineUs: T0_US + DAY_US }], closedCallIds: [],
    });
  }

  test('qbl prune deletes closed calls\' documents older than the retention, never an open call\'s; the history stays readable', async () => {
    const old = storeWrittenAgo(40);
    const recent = storeWrittenAgo(5);
    try {
      await writeOldCalls(old);
      await recent.commit(answeredCall('recent-closed@pbx', T0_US));
      await node.raw.indices.refresh({ index: `${node.prefix}-*` });
      const env = { OPENSEARCH_URL: NODE_URL, QBL_INDEX_PREFIX: node.prefix, QBL_CALLS_RETENTION_DAYS: '30' };

      const dry = await qblWithEnv(['prune', '--dry-run'], env);
      expect(dry.code).toBe(0);
      expect(dry.out).toMatch(new RegExp(`^calls index ${node.prefix}-calls: retention 30 days; cut-off \\S+Z .*\\nwould delete: 1 call documents\\n$`));
      expect(await storedIds(old)).toEqual(['old-closed@pbx', 'old-open@pbx', 'recent-closed@pbx']);

      const run = await qblWithEnv(['prune'], env);
      expect(run.code).toBe(0);
      expect(run.out).toBe('deleted 1 call documents\n');
      expect(await storedIds(old)).toEqual(['old-open@pbx', 'recent-closed@pbx']);
      // A late event of the deleted call still folds into all of its events: they are in the events index.
      expect((await recent.eventsForCalls(['old-closed@pbx'])).get('old-closed@pbx')).toHaveLength(4);

      // --days overrides the setting for one run; the open call stays however old.
      await node.raw.indices.refresh({ index: callsIndex(node.prefix) });
      const all = await qblWithEnv(['prune', '--days', '3'], { ...env, QBL_CALLS_RETENTION_DAYS: '0' });
      expect(all.out).toBe('deleted 1 call documents\n');
      expect(await storedIds(old)).toEqual(['old-open@pbx']);

      const off = await qblWithEnv(['prune'], { ...env, QBL_CALLS_RETENTION_DAYS: '0' });
      expect(off).toEqual({ code: 0, out: '', err: 'calls index retention is off (QBL_CALLS_RETENTION_DAYS=0): nothing to prune; --days N prunes once\n' });
      const vacuum = await qblWithEnv(['prune', '--vacuum'], env);
      expect(vacuum.code).toBe(2);
      expect(vacuum.err.split('\n')[0]).toBe('qbl prune: --vacuum rewrites the SQLite file; the search store has none');
    } finally {
      await old.close();
      await recent.close();
    }
  });

  test('a pass deletes in bounded steps until nothing old is left', async () => {
    const old = storeWrittenAgo(40);
    try {
      await old.ensureSchema();
      for (const k of [1, 2, 3, 4, 5]) await old.commit(answeredCall(`step-${k}@pbx`, T0_US));
      await node.raw.indices.refresh({ index: callsIndex(node.prefix) });
      const engine = (old as unknown as { engine: OpenSearchEngine }).engine;
      const steps: number[] = [];
      const cutoff = callsCutoffUs(Date.now(), 30);
      expect(await countPrunableCalls(engine, node.prefix, cutoff)).toBe(5);
      expect(await pruneCalls(engine, node.prefix, cutoff, (deleted) => steps.push(deleted), 2)).toEqual({ deleted: 5, conflicts: 0 });
      expect(steps).toEqual([2, 2, 1]);
    } finally {
      await old.close();
    }
  });

  test('the service\'s timer deletes them too, open calls excepted', async () => {
    const old = storeWrittenAgo(40);
    const service = storeWrittenAgo(0, 30);
    try {
      await writeOldCalls(old);
      await old.commit(answeredCall('recent-closed@pbx', T0_US));
      await node.raw.indices.refresh({ index: callsIndex(node.prefix) });
      // 'recent-closed' is 40 days old too, but written again a moment ago: kept.
      await service.commit({ ...answeredCall('recent-closed@pbx', T0_US), events: [] });
      service.startRetention({ firstDelayMs: 10, intervalMs: 100 });
      await waitUntil(async () => (await storedIds(service)).length === 2, 'the timer\'s pass');
      expect(await storedIds(service)).toEqual(['old-open@pbx', 'recent-closed@pbx']);
    } finally {
      await service.close();
      await old.close();
    }
  });
});
