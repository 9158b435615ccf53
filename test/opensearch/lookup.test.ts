/**
 * The number lookup on a search engine shared by several instances, on the real OpenSearch node:
 * the CDRs any instance writes reach every instance's figures through the poll (none counted
 * twice), a new instance rebuilds from all of them, the block list written by `qbl blocklist`
 * reaches every instance, and the whole service answers the lookup scenario exactly.
 * Skipped, with a message, when no node answers.
 */
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import type { BlockEntry } from '../../src/lookup/blocklist';
import { LookupService } from '../../src/lookup/lookup-service';
import { createLogger } from '../../src/observability/logger';
import { DEFAULT_DIAL_PLAN } from '../../src/numbers/dial-plan';
import { Service } from '../../src/pipeline/service';
import { generateTraffic } from '../../src/simulator/generator';
import { lookupScenario, FRAUD_PREFIX } from '../../src/simulator/lookup-scenario';
import { installSchema } from '../../src/stores/search/install';
import { SearchLookupStore } from '../../src/stores/search/lookup-store';
import { OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { SearchStore } from '../../src/stores/search/search-store';
import { CDR_PROPERTIES } from '../../src/stores/search/templates';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { qbl } from '../support/run-cli';
import { integrationFixture } from '../support/fixture';
import { freePort } from '../support/http';
import { cdrRecord, lookup, numberPath } from '../support/lookup';
import { publishAll, silentLogger, waitUntil } from '../support/rabbit';
import { describeOnNode, nodeConfig, nodeFixture, NODE_URL } from './node';
import { serviceEnv } from './service-harness';

const logger = createLogger('silent');
const MIN = 60_000_000;
const INVALID = '+5511912340001';

describeOnNode('the number lookup on a shared OpenSearch', () => {
  const f = integrationFixture('os-lookup', { dirPerTest: true });
  const node = nodeFixture(f);

  /** One instance's writer: a SearchStore over its own local SQLite, as `qbl start` opens it. */
  async function writer(name: string): Promise<SearchStore> {
    const store = await SearchStore.open(nodeConfig(node.prefix), logger);
    f.defer(() => store.close());
    return store;
  }

  async function instance(): Promise<LookupService> {
    const service = new LookupService({
      config: { ...loadConfig({}).lookup, port: 0, pollIntervalMs: 60_000 }, dialPlan: DEFAULT_DIAL_PLAN,
      store: await SearchLookupStore.open(nodeConfig(node.prefix)), logger,
    });
    await service.start();
    f.defer(() => service.close());
    return service;
  }

  const calls = async (service: LookupService, number: string) =>
    (await lookup(service.listeningPort!, numberPath(number))).json as { reasons: string[]; figures: { calls: number } };

  test('CDRs any instance writes reach every instance by the poll, once; a new instance rebuilds from all', async () => {
    const [a, b] = [await writer('a'), await writer('b')];
    const [lookupA, lookupB] = [await instance(), await instance()];
    expect(lookupA.shared).toBe(true);
    const nowUs = Date.now() * 1000;
    // Two instances each wrote a failed call to the number (their own share of the calls).
    await a.commit({ events: [], openCalls: [], closedCallIds: [], cdrs: [cdrRecord({ callId: 'x1', caller: 'alice', callee: INVALID, calleeE164: INVALID, startUs: nowUs - 3 * MIN, code: 404 })] });
    await b.commit({ events: [], openCalls: [], closedCallIds: [], cdrs: [
      cdrRecord({ callId: 'x2', caller: 'bob', callee: INVALID, calleeE164: INVALID, startUs: nowUs - 2 * MIN, code: 484 }),
      cdrRecord({ callId: 'x3', caller: 'bob', callee: INVALID, calleeE164: INVALID, startUs: nowUs - MIN, code: 404 }),
    ] });
    for (const service of [lookupA, lookupB]) {
      await waitUntil(async () => {
        await service.pollNow();
        return (await calls(service, INVALID)).figures.calls === 3;
      }, 'three calls in the figures');
      // Polls that read the same CDRs again (the overlap) count nothing twice.
      await service.pollNow();
      await service.pollNow();
      expect(await calls(service, INVALID)).toMatchObject({ reasons: ['invalid_number'], figures: { calls: 3 } });
    }
    // A rewrite of a CDR (a late event) replaces its call.
    await a.commit({ events: [], openCalls: [], closedCallIds: [], cdrs: [cdrRecord({ callId: 'x1', caller: 'alice', callee: INVALID, calleeE164: INVALID, startUs: nowUs - 3 * MIN, code: 200 })] });
    await waitUntil(async () => {
      await lookupB.pollNow();
      return (await calls(lookupB, INVALID)).reasons.length === 0;
    }, 'the rewritten call in B\'s figures');
    expect((await calls(lookupB, INVALID)).figures.calls).toBe(3);

    const lookupC = await instance();
    expect(await calls(lookupC, INVALID)).toMatchObject({ reasons: [], figures: { calls: 3 } });
  });

  test('the block list written by qbl blocklist reaches every instance, removals too', async () => {
    const [lookupA, lookupB] = [await instance(), await instance()];
    const env = { OPENSEARCH_URL: NODE_URL, QBL_INDEX_PREFIX: node.prefix };
    const saved = process.env;
    process.env = { ...saved, ...env };
    delete process.env.ELASTICSEARCH_URL;
    try {
      expect((await qbl('blocklist', 'add', '+3712*', '--reason', 'IRSF range', '--expires', '1d')).code).toBe(0);
      expect((await qbl('blocklist', 'add', '+37129123456', '--reason', 'wangiri')).code).toBe(0);
      const listed = await qbl('blocklist', 'list', '--format', 'ndjson');
      expect(listed.out.trim().split('\n').map((line) => (JSON.parse(line) as { entry: string }).entry)).toEqual(['+3712*', '+37129123456']);
      for (const service of [lookupA, lookupB]) {
        await service.pollNow();
        expect((await lookup(service.listeningPort!, numberPath('+37129123456'))).json).toMatchObject({ verdict: 'block', blocklist: { entry: '+37129123456' } });
        expect((await lookup(service.listeningPort!, numberPath('+37126000000'))).json).toMatchObject({ verdict: 'block', blocklist: { entry: '+3712*' } });
      }
      expect((await qbl('blocklist', 'remove', '+37129123456')).code).toBe(0);
      for (const service of [lookupA, lookupB]) {
        await service.pollNow();
        expect((await lookup(service.listeningPort!, numberPath('+37129123456'))).json).toMatchObject({ blocklist: { entry: '+3712*' } });
      }
    } finally {
      process.env = saved;
    }
  });

  test('the store pages through more entries than one search returns', async () => {
    const store = await SearchLookupStore.open(nodeConfig(node.prefix));
    f.defer(() => store.close());
    const nowUs = Date.now() * 1000;
    // 12,000 entries, 11,000 of them at one instant (an import): more ties than one page holds.
    const entries: BlockEntry[] = Array.from({ length: 12_000 }, (_, i) => ({
      entry: `+4930${String(i).padStart(8, '0')}`, reason: 'bulk', createdAtUs: nowUs, expiresAtUs: null, updatedAtUs: nowUs + (i < 11_000 ? 0 : i), removed: false,
    }));
    for (let i = 0; i < entries.length; i += 4000) await store.putBlockEntries(entries.slice(i, i + 4000));
    const read = await store.blockEntriesSince(0);
    expect(read).toHaveLength(12_000);
    expect(new Set(read.map((e) => e.entry)).size).toBe(12_000);
  });

  test('installSchema puts written_at on indices created before it existed', async () => {
    const index = `${node.prefix}-cdrs-2020.01`;
    const { written_at: _added, ...old } = CDR_PROPERTIES;
    await node.raw.indices.create({ index, body: { mappings: { dynamic: false, properties: old } } as never });
    await installSchema(OpenSearchEngine.fromConfig(nodeConfig(node.prefix)), node.prefix, 30);
    const mapping = await node.raw.indices.getMapping({ index });
    expect((mapping.body as Record<string, { mappings: { properties: Record<string, unknown> } }>)[index]!.mappings.properties.written_at)
      .toMatchObject({ type: 'date_nanos' });
  });

  test('the service with OPENSEARCH_URL answers the lookup scenario exactly', async () => {
    const config = loadConfig(serviceEnv(f.dir, node.prefix, {
      QBL_LOOKUP_PORT: String(await freePort()), QBL_LOOKUP_POLL_S: '1',
      QBL_SETUP_TIMEOUT_S: '300', QBL_MAX_CALL_DURATION_S: '14400', QBL_BYE_GRACE_S: '5', QBL_SWEEP_INTERVAL_MS: '1000',
    }));
    f.admin.track(config.topology);
    const scenario = lookupScenario();
    const traffic = generateTraffic({ plan: scenario.plan, seed: 18, startTimeUs: (Date.now() - (scenario.spanS + 120) * 1000) * 1000 });
    const service = await Service.start({ config, logger: silentLogger() });
    f.defer(() => service.close());
    await publishAll(config.topology.exchange, traffic.messages);
    const port = config.lookup.port;
    // Figures come from the engine's CDRs (written_at), polled every second.
    await waitUntil(async () => (await lookup(port, numberPath(`${FRAUD_PREFIX}99999`, '+5511900000001'))).json.verdict === 'block'
      && (await lookup(port, numberPath('+5511912340005'))).json.verdict === 'allow'
      && (await lookup(port, numberPath('+5521912340003'))).json.verdict === 'warn', 'the scenario in the figures', 120_000);
    const got = [];
    for (const want of scenario.expected) {
      const reply = await lookup(port, numberPath(want.number, want.caller));
      got.push({ why: want.why, verdict: reply.json.verdict, reasons: reply.json.reasons });
    }
    expect(got).toEqual(scenario.expected.map((e) => ({ why: e.why, verdict: e.verdict, reasons: e.reasons })));
  });
});
