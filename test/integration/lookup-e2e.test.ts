/**
 * The number lookup end to end: simulated OpenSIPS traffic (numbers that keep failing, a toll-fraud
 * burst, ordinary calls) through the real RabbitMQ into the service with SQLite; every number's
 * verdict and reasons must be exactly the scenario's. A block-list entry is then added while it
 * runs, and a restart must answer the same from the store.
 */
import { loadConfig, type Config } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { generateTraffic } from '../../src/simulator/generator';
import { lookupScenario, FRAUD_PREFIX, type ExpectedLookup } from '../../src/simulator/lookup-scenario';
import { SqliteLookupStore } from '../../src/stores/sqlite/lookup-store';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { integrationFixture } from '../support/fixture';
import { freePort, httpGet, metricValue } from '../support/http';
import { lookup, numberPath } from '../support/lookup';
import { publishAll, silentLogger, waitUntil } from '../support/rabbit';
import { serviceEnv } from '../support/service-env';

async function answers(port: number, expected: readonly ExpectedLookup[]): Promise<Array<Record<string, unknown>>> {
  const got: Array<Record<string, unknown>> = [];
  for (const want of expected) {
    const reply = await lookup(port, numberPath(want.number, want.caller));
    got.push({ number: want.number, caller: want.caller, why: want.why, status: reply.status, verdict: reply.json.verdict, reasons: reply.json.reasons });
  }
  return got;
}

const wanted = (expected: readonly ExpectedLookup[]) =>
  expected.map((e) => ({ number: e.number, caller: e.caller, why: e.why, status: 200, verdict: e.verdict, reasons: e.reasons }));

describe('number lookup over real traffic', () => {
  const f = integrationFixture('lookup-e2e');
  let config: Config;

  beforeAll(async () => {
    config = loadConfig(serviceEnv(f.dir, 'lookupe2e', { QBL_LOOKUP_PORT: String(await freePort()), QBL_HTTP_PORT: String(await freePort()) }));
    f.admin.track(config.topology);
  });

  test('exact verdicts and reasons per number; the block list applies while running; a restart answers the same', async () => {
    const scenario = lookupScenario();
    // A backlog: every call in the last few minutes, the latest events just now.
    const traffic = generateTraffic({ plan: scenario.plan, seed: 18, startTimeUs: (Date.now() - (scenario.spanS + 120) * 1000) * 1000 });
    let service = await Service.start({ config, logger: silentLogger() });
    f.defer(() => service.close());
    await publishAll(config.topology.exchange, traffic.messages);
    const reader = SqliteReader.open(config.sqlitePath);
    try {
      await waitUntil(async () => (await reader.searchCdrs({ limit: 10_000 })).length === traffic.expected.length
        && service.pipeline.correlator.openCallCount === 0, 'every call of the scenario closed', 120_000);
    } finally {
      await reader.close();
    }
    const port = config.lookup.port;
    // The commit hook hands each batch to the lookup thread: wait until it has folded the last one in.
    await waitUntil(async () => (await lookup(port, numberPath('+5511912340005'))).json.verdict === 'allow'
      && (await lookup(port, numberPath(`${FRAUD_PREFIX}99999`, '+5511900000001'))).json.verdict === 'block', 'the figures to catch up');
    expect(await answers(port, scenario.expected)).toEqual(wanted(scenario.expected));

    const metrics = (await httpGet(config.http.port, '/metrics')).body;
    expect(metricValue(metrics, 'qbl_lookups_total{verdict="block",reasons="fraud_burst"}')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'qbl_lookup_tracked_numbers')).toBeGreaterThan(40);

    // The block list, written by another connection (as `qbl blocklist add` does), seen on the next poll.
    const writer = SqliteLookupStore.open(config.sqlitePath);
    const nowUs = Date.now() * 1000;
    await writer.putBlockEntries([{ entry: '+5511912340005', reason: 'test: chargeback', createdAtUs: nowUs, expiresAtUs: null, updatedAtUs: nowUs, removed: false }]);
    await writer.close();
    await service.lookup!.pollNow();
    expect((await lookup(port, numberPath('+55 11 91234-0005'))).json).toMatchObject({ verdict: 'block', reasons: ['blocklisted'], blocklist: { reason: 'test: chargeback' } });

    await service.close();
    service = await Service.start({ config, logger: silentLogger() });
    const afterRestart = scenario.expected.map((e) => (e.number === '+5511912340005' ? { ...e, verdict: 'block' as const, reasons: ['blocklisted'] } : e));
    expect(await answers(port, afterRestart)).toEqual(wanted(afterRestart));
  });
});
