/**
 * A broker-app restart (`rabbitmqctl stop_app` / `start_app`) while the in-process service
 * consumes a simulated stream: it reconnects by itself, re-declares, resumes, and the store ends
 * with exactly the CDRs of an uninterrupted run and every distinct event once.
 *
 * The broker is the serial tests' own RabbitMQ node (test/serial/jest.config.js starts it on
 * free ports and stops it afterwards), never the user's: every rabbitmqctl call names that node
 * and carries its own cookie. The app is always restarted (finally and afterAll) and awaited
 * before the file ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { CallEvent } from '../../correlators/events';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { generateTraffic } from '../../src/simulator/generator';
import { CorrelatorHarness } from '../support/call-events';
import { BrokerNode, awaitAmqp, brokerCtl } from '../support/broker-node';
import { RABBIT_URL, RabbitAdmin, publishAll, silentLogger, uniqueName, waitUntil } from '../support/rabbit';

const FAR_FUTURE_US = 4_000_000_000 * 1_000_000;
const node = BrokerNode.handleFromEnv();

/** Starts the test node's app (a no-op when it runs) and waits until it accepts AMQP connections. */
async function restoreBroker(): Promise<void> {
  await brokerCtl(node, ['start_app']);
  await brokerCtl(node, ['await_startup']);
  await awaitAmqp(RABBIT_URL);
}

describe('broker restart', () => {
  let dir: string;

  beforeAll(() => {
    // The helpers of test/support/rabbit.ts must talk to the test node too.
    expect(RABBIT_URL).toBe(node.amqpUrl);
    dir = mkdtempSync(join(tmpdir(), 'qbl-restart-'));
  });
  afterAll(async () => {
    await restoreBroker();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  test('stop_app / start_app mid-stream: the service resumes by itself, nothing lost or doubled', async () => {
    const traffic = generateTraffic({
      calls: 400, seed: 11, startTimeUs: (Date.now() - 3 * 3600 * 1000) * 1000, duplicateRate: 0.03, reorderRate: 0.2,
    });
    const events: CallEvent[] = traffic.messages.map((m) => {
      const decoded = decodeMessage(m.body, DEFAULT_DECODER_OPTIONS);
      if (!decoded.ok) throw new Error(decoded.detail);
      return decoded.event;
    });
    const reference = new CorrelatorHarness();
    reference.ingest(events, 0);
    reference.sweep(FAR_FUTURE_US);
    const distinctEvents = new Set(events.map((e) => e.id)).size;

    const base = uniqueName('restart');
    const config = loadConfig({
      AMQP_URL: node.amqpUrl, AMQP_HEARTBEAT_S: '5',
      QBL_EXCHANGE: `${base}.x`, QBL_QUEUE: `${base}.q`, SQLITE_PATH: join(dir, 'qbl.db'),
      QBL_HTTP_PORT: '0', QBL_STATS_INTERVAL_S: '0',
      QBL_PREFETCH: '100', QBL_BATCH_SIZE: '50', QBL_BATCH_WAIT_MS: '2', QBL_SWEEP_INTERVAL_MS: '50',
    });
    const service = await Service.start({ config, logger: silentLogger() });
    let admin: RabbitAdmin | undefined;
    try {
      await publishAll(config.topology.exchange, traffic.messages);
      await waitUntil(() => service.pipeline.stats.messages >= 0.4 * traffic.messages.length, '40% of the stream', 60_000);
      try {
        await brokerCtl(node, ['stop_app']);
        await waitUntil(() => !service.consumer.stats.connected, 'the service to notice', 30_000);
      } finally {
        await restoreBroker();
      }
      await waitUntil(() => service.consumer.stats.connected, 'the service to reconnect', 90_000);
      admin = await RabbitAdmin.open();
      admin.track(config.topology);
      await waitUntil(async () => (await admin!.depth(config.topology.queue)) === 0 && service.consumer.stats.unacked === 0
        && service.pipeline.correlator.openCallCount === 0, 'the stream to be consumed and every call closed', 90_000);
      expect(service.consumer.stats.reconnects).toBeGreaterThanOrEqual(1);
      expect(await admin.depth(config.topology.deadLetterQueue)).toBe(0);
    } finally {
      await service.close();
      if (!admin) {
        admin = await RabbitAdmin.open().catch(() => undefined);
        admin?.track(config.topology);
      }
      await admin?.close();
    }

    const db = new Database(config.sqlitePath, { readonly: true });
    try {
      const rows = db.prepare('SELECT record FROM cdrs').all() as Array<{ record: string }>;
      const byCallId = new Map(rows.map((r) => {
        const { cdr } = JSON.parse(r.record) as { cdr: { call_id: string } };
        return [cdr.call_id, cdr];
      }));
      expect(rows.length).toBe(reference.cdrs.size);
      for (const [callId, record] of reference.cdrs) expect(byCallId.get(callId)).toEqual(record.cdr);
      expect((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(distinctEvents);
    } finally {
      db.close();
    }
  }, 300_000);
});
