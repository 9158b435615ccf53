/**
 * `qbl reconcile` and `qbl evidence` on the real OpenSearch node read exactly what they read from
 * SQLite: the same simulated calls written to both (through SearchStore, as the service writes),
 * then the same carrier file reconciled against each store must give byte-identical records,
 * disputes and evidence. The stream pages with search_after across monthly indices.
 * Skipped, with a message, when no node answers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { parseIncrement } from '../../src/disputes/increment';
import { buildCarrierFile } from '../../src/simulator/carrier-file';
import { SearchReader } from '../../src/stores/search/search-reader';
import { OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { SearchStore } from '../../src/stores/search/search-store';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { integrationFixture } from '../support/fixture';
import { qbl } from '../support/run-cli';
import { commitCalls, simulatedCalls } from '../support/simulated-store';
import { TeeStore } from '../support/tee-store';
import { cleanUp, describeOnNode, NODE_URL, nodeConfig, rawClient, uniquePrefix } from './node';

describeOnNode('qbl reconcile on the real OpenSearch node', () => {
  const f = integrationFixture('os-reconcile', { broker: false });
  let dir: string;
  let prefix: string;
  let raw: Client;
  const saved = { ...process.env };
  let calls: ReturnType<typeof simulatedCalls>;

  beforeAll(async () => {
    dir = f.dir;
    prefix = uniquePrefix();
    raw = rawClient();
    // Across a month end: two monthly indices on each side.
    calls = simulatedCalls({ calls: 300, seed: 5, cps: 0.005, startTimeUs: Date.UTC(2026, 10, 30, 12) * 1000, concurrency: 100_000 });
    // The same calls in the node and in a SQLite file: the two runs below must agree.
    const store = new TeeStore(await SearchStore.open(nodeConfig(prefix)), SqliteStore.open(join(dir, 'qbl.db')));
    await commitCalls(store, calls);
    await store.close();
    await raw.indices.refresh({ index: `${prefix}-*` });
    for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL']) delete process.env[name];
    Object.assign(process.env, { QBL_DEFAULT_COUNTRY: 'BR', SQLITE_PATH: join(dir, 'qbl.db') });
  });

  afterAll(async () => {
    process.env = saved;
    await cleanUp(raw, prefix);
    await raw.close();
  });

  it('streams every CDR once, oldest first, in search_after pages across months', async () => {
    const reader = new SearchReader(OpenSearchEngine.fromConfig(nodeConfig(prefix)), prefix);
    const ids: string[] = [];
    let pages = 0;
    let last = -1;
    for await (const page of reader.streamCdrs({ pageSize: 37 })) {
      pages += 1;
      for (const cdr of page) {
        expect(cdr.startUs).toBeGreaterThanOrEqual(last);
        last = cdr.startUs;
        ids.push(cdr.cdr.cdr_id);
      }
    }
    await reader.close();
    expect(ids.sort()).toEqual(calls.records.map((r) => r.cdr.cdr_id).sort());
    expect(pages).toBe(Math.ceil(calls.records.length / 37));
  });

  it('the same records, disputes and evidence as from SQLite', async () => {
    const file = buildCarrierFile(calls.records, {
      headers: { start: ['Call Start'], caller: 'Calling Number', callee: 'Called Number', duration: 'Call Duration', billed: 'Billed Duration', cost: 'Charge' },
      separator: ';', startFormats: ['dd/MM/yyyy HH:mm:ss'], zone: 'Asia/Kolkata', durationStyle: 'decimal-comma',
      increment: parseIncrement('30/6')!, numberStyle: 'mixed', rateMicro: 15_000,
    });
    writeFileSync(join(dir, 'carrier.csv'), file.text);
    const run = async (env: Record<string, string>, out: string) => {
      Object.assign(process.env, env);
      try {
        return await qbl('reconcile', join(dir, 'carrier.csv'), '--out', join(dir, out), '--increment', '30/6');
      } finally {
        for (const name of Object.keys(env)) delete process.env[name];
      }
    };
    const fromSearch = await run({ OPENSEARCH_URL: NODE_URL, QBL_INDEX_PREFIX: prefix }, 'search');
    const fromSqlite = await run({}, 'sqlite');
    expect(fromSearch.code).toBe(3);
    expect(fromSqlite.code).toBe(3);
    for (const name of ['records.ndjson', 'disputes.csv', 'bad-rows.csv']) {
      expect(readFileSync(join(dir, 'search', name), 'utf8')).toBe(readFileSync(join(dir, 'sqlite', name), 'utf8'));
    }
    const summary = (side: string) => {
      const s = JSON.parse(readFileSync(join(dir, side, 'summary.json'), 'utf8'));
      delete s.store;
      return s;
    };
    expect(summary('search')).toEqual(summary('sqlite'));
    expect(summary('search').time_zone.used).toBe('+05:30');
    const records = readFileSync(join(dir, 'search', 'records.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const [row, want] of file.expected) expect([row, records.find((r) => r.row === row)?.class]).toEqual([row, want.class]);

    const callId = calls.records.find((r) => r.cdr.disposition === 'answered')!.cdr.call_id;
    process.env.OPENSEARCH_URL = NODE_URL;
    process.env.QBL_INDEX_PREFIX = prefix;
    const evidenceSearch = await qbl('evidence', '--call-id', callId);
    delete process.env.OPENSEARCH_URL;
    const evidenceSqlite = await qbl('evidence', '--call-id', callId);
    expect(evidenceSearch).toEqual(evidenceSqlite);
    expect(evidenceSearch.out).toMatch(/INVITE/);
  });
});
