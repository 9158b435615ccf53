/**
 * The ops endpoint of an in-process service against the real RabbitMQ: /metrics counts what the
 * pipeline did, /healthz answers, /readyz follows the broker (cut through a TCP proxy) and the
 * store (a store whose ping fails on demand), the stats log and the shutdown summary are written.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config/config';
import { ConfigError } from '../../src/errors';
import { createLogger } from '../../src/observability/logger';
import { Service } from '../../src/pipeline/service';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import type { CallStore } from '../../src/stores/store';
import { freePort, httpGet as get, metricValue } from '../support/http';
import { silentLogger, uniqueName, waitUntil } from '../support/rabbit';
import { readSamples } from '../support/samples';
import { TcpProxy } from '../support/tcp-proxy';
import { integrationFixture } from '../support/fixture';

/** The SQLite store with a switch that makes ping() fail, as a locked or full disk would. */
function switchableStore(path: string): CallStore & { failPing: boolean } {
  const inner = SqliteStore.open(path);
  const store = {
    failPing: false,
    commit: inner.commit.bind(inner),
    eventsForCalls: inner.eventsForCalls.bind(inner),
    openCalls: inner.openCalls.bind(inner),
    close: inner.close.bind(inner),
    ping: () => (store.failPing ? Promise.reject(new Error('SQLITE_BUSY')) : inner.ping()),
  };
  return store;
}

describe('ops endpoint of a running service', () => {
  const f = integrationFixture('ops', { dirPerTest: true });

  function configFor(port: number, amqpPort = 5672, overrides: Record<string, string> = {}): Config {
    const base = uniqueName('ops');
    return loadConfig({
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      QBL_EXCHANGE: `${base}.x`, QBL_QUEUE: `${base}.q`,
      SQLITE_PATH: join(f.dir, 'qbl.db'),
      QBL_HTTP_PORT: String(port), QBL_STATS_INTERVAL_S: '0',
      QBL_BATCH_WAIT_MS: '5', QBL_SWEEP_INTERVAL_MS: '50',
      ...overrides,
    });
  }

  test('/metrics, /healthz and /readyz tell what the pipeline did and whether it is ready', async () => {
    const proxy = await TcpProxy.start();
    const port = await freePort();
    const config = configFor(port, proxy.port);
    f.admin.track(config.topology);
    const store = switchableStore(config.sqlitePath);
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    const service = await Service.start({ config, logger, store });
    try {
      expect(service.httpPort).toBe(port);
      const healthz = await get(port, '/healthz');
      expect([healthz.status, healthz.contentType, JSON.parse(healthz.body)]).toEqual([200, 'application/json; charset=utf-8', { status: 'ok' }]);
      const ready = await get(port, '/readyz');
      expect([ready.status, JSON.parse(ready.body)]).toEqual([200, { status: 'ready', broker: true, store: true }]);

      const samples = readSamples();
      for (const message of samples) await f.admin.publish(config.topology.exchange, message.routingKey, [message.body]);
      await f.admin.publish(config.topology.exchange, 'opensips.bad', [Buffer.from('{"jsonrpc":"2.0",')]);
      await waitUntil(() => service.pipeline.stats.messages === samples.length + 1 && service.pipeline.correlator.openCallCount === 0
        && service.consumer.stats.acked === samples.length + 1, 'every sample to be processed');

      const metrics = await get(port, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = metrics.body;
      const consumed = text.split('\n').filter((l) => l.startsWith('qbl_events_consumed_total{kind='))
        .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
      expect(consumed).toBe(samples.length);
      expect(metricValue(text, 'qbl_events_consumed_total{kind="bye_request"}')).toBe(1);
      expect(metricValue(text, 'qbl_rejected_messages_total{reason="decode.not_json"}')).toBe(1);
      expect(metricValue(text, 'qbl_dead_letters_total{reason="decode.not_json"}')).toBe(1);
      expect(metricValue(text, 'qbl_cdrs_written_total{source="qbl",disposition="answered"}')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'qbl_cdrs_written_total{source="qbl",disposition="busy"}')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'qbl_cdrs_written_total{source="qbl",disposition="no_answer"}')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'qbl_open_calls')).toBe(0);
      expect(metricValue(text, 'qbl_oldest_open_call_age_seconds')).toBe(0);
      expect(metricValue(text, 'qbl_store_commit_duration_seconds_count')).toBe(service.pipeline.stats.commits);
      expect(metricValue(text, 'qbl_broker_connected')).toBe(1);
      expect(metricValue(text, 'qbl_store_up')).toBe(1);
      expect(metricValue(text, 'qbl_unacked_deliveries')).toBe(0);
      expect(metricValue(text, 'qbl_amqp_reconnects_total')).toBe(0);

      // The store stops answering: not ready, and the metric says why.
      store.failPing = true;
      const storeDown = await get(port, '/readyz');
      expect([storeDown.status, JSON.parse(storeDown.body)]).toEqual([503, { status: 'not_ready', broker: true, store: false }]);
      expect(metricValue((await get(port, '/metrics')).body, 'qbl_store_up')).toBe(0);
      store.failPing = false;

      // The network to the broker goes down, then comes back.
      proxy.refuse = true;
      proxy.dropAll();
      await waitUntil(() => !service.consumer.stats.connected, 'the consumer to notice the cut');
      const brokerDown = await get(port, '/readyz');
      expect([brokerDown.status, JSON.parse(brokerDown.body)]).toEqual([503, { status: 'not_ready', broker: false, store: true }]);
      expect(metricValue((await get(port, '/metrics')).body, 'qbl_broker_connected')).toBe(0);
      proxy.refuse = false;
      await waitUntil(() => service.consumer.stats.connected, 'the consumer to reconnect', 30_000);
      expect((await get(port, '/readyz')).status).toBe(200);
      expect(metricValue((await get(port, '/metrics')).body, 'qbl_amqp_reconnects_total')).toBe(1);

      expect((await get(port, '/nope')).status).toBe(404);
      expect((await get(port, '/metrics', 'POST')).status).toBe(405);
    } finally {
      await service.close();
      await proxy.close();
    }
    // Closed with the service.
    await expect(get(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    const summary = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'stopped');
    // An ack still in the broker's hands when the connection is cut is lost with it (acks are not
    // confirmed in AMQP), so the broker may redeliver a message after the cut: at least every
    // sample and the bad message, and exactly what the pipeline counted.
    expect(summary).toMatchObject({ messages: service.pipeline.stats.messages, openCalls: 0, reconnects: 1, connected: false });
    expect(summary!.messages).toBeGreaterThanOrEqual(readSamples().length + 1);
    expect(typeof summary!.uptimeS).toBe('number');
  });

  test('the periodic stats line carries the counts and the oldest open call', async () => {
    const config = configFor(0, 5672, { QBL_STATS_INTERVAL_S: '1' });
    f.admin.track(config.topology);
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
    const service = await Service.start({ config, logger });
    try {
      expect(service.httpPort).toBeUndefined();
      const [first] = readSamples().filter((m) => m.body.includes('7f3a9c1e-answered'));
      await f.admin.publish(config.topology.exchange, first!.routingKey, [first!.body]);
      const stats = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'stats');
      await waitUntil(() => stats().some((l) => l.openCalls === 1), 'a stats line with the open call', 10_000);
      const line = stats().find((l) => l.openCalls === 1)!;
      expect(line).toMatchObject({ connected: true, messages: 1, unacked: 0, reconnects: 0 });
      expect(line.oldestOpenCallAgeS).toEqual(expect.any(Number));
      expect(line.oldestOpenCallAgeS as number).toBeGreaterThanOrEqual(0);
    } finally {
      await service.close();
    }
  });

  test('a port already in use is a configuration error naming QBL_HTTP_PORT, and nothing is left open', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const { port } = blocker.address() as AddressInfo;
    try {
      const config = configFor(port);
      f.admin.track(config.topology);
      const error = await Service.start({ config, logger: silentLogger() }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('QBL_HTTP_PORT');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
