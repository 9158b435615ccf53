/**
 * The network to the broker is cut twice mid-stream (a TCP proxy drops every socket) while the
 * in-process service consumes a few thousand simulated events: afterwards the store holds exactly
 * the CDRs of an uninterrupted run, each once and equal field for field, and every distinct event once.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import { cdrIdFor } from '../../correlators/cdr';
import type { CallEvent } from '../../correlators/events';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { generateTraffic, type TrafficMessage } from '../../src/simulator/generator';
import { CorrelatorHarness } from '../support/call-events';
import { publishAll, silentLogger, uniqueName, waitUntil } from '../support/rabbit';
import { TcpProxy } from '../support/tcp-proxy';
import { integrationFixture } from '../support/fixture';

const FAR_FUTURE_US = 4_000_000_000 * 1_000_000;

/** What an uninterrupted run produces, by the same correlator the service uses. */
function uninterrupted(messages: readonly TrafficMessage[]): { cdrs: CorrelatorHarness['cdrs']; distinctEvents: number } {
  const events: CallEvent[] = messages.map((m) => {
    const decoded = decodeMessage(m.body, DEFAULT_DECODER_OPTIONS);
    if (!decoded.ok) throw new Error(decoded.detail);
    return decoded.event;
  });
  const harness = new CorrelatorHarness();
  harness.ingest(events, 0);
  harness.sweep(FAR_FUTURE_US);
  return { cdrs: harness.cdrs, distinctEvents: new Set(events.map((e) => e.id)).size };
}

describe('connection cut mid-stream', () => {
  const f = integrationFixture('cut');

  test('two network cuts lose and double nothing', async () => {
    const traffic = generateTraffic({
      calls: 500, seed: 7, startTimeUs: (Date.now() - 3 * 3600 * 1000) * 1000, duplicateRate: 0.03, reorderRate: 0.2,
    });
    expect(traffic.messages.length).toBeGreaterThan(2000);
    const expected = uninterrupted(traffic.messages);
    expect(expected.cdrs.size).toBe(traffic.expected.length);

    const proxy = await TcpProxy.start();
    const base = uniqueName('cut');
    const config = loadConfig({
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`, AMQP_HEARTBEAT_S: '5',
      QBL_EXCHANGE: `${base}.x`, QBL_QUEUE: `${base}.q`, SQLITE_PATH: join(f.dir, 'qbl.db'),
      QBL_HTTP_PORT: '0', QBL_STATS_INTERVAL_S: '0',
      QBL_PREFETCH: '100', QBL_BATCH_SIZE: '50', QBL_BATCH_WAIT_MS: '2', QBL_SWEEP_INTERVAL_MS: '50',
    });
    f.admin.track(config.topology);
    const service = await Service.start({ config, logger: silentLogger() });
    try {
      await publishAll(config.topology.exchange, traffic.messages);
      const total = traffic.messages.length;
      for (const fraction of [0.3, 0.65]) {
        await waitUntil(() => service.pipeline.stats.messages >= fraction * total, `${fraction * 100}% of the stream`, 60_000);
        const connectionsBefore = proxy.accepted;
        expect(proxy.dropAll()).toBeGreaterThanOrEqual(1);
        await waitUntil(() => service.consumer.stats.connected && proxy.accepted > connectionsBefore, 'a reconnection', 30_000);
      }
      await waitUntil(async () => (await f.admin.depth(config.topology.queue)) === 0 && service.consumer.stats.unacked === 0
        && service.pipeline.correlator.openCallCount === 0, 'the stream to be consumed and every call closed', 60_000);
      expect(service.consumer.stats.reconnects).toBe(2);
      // Deliveries in flight at a cut came again: more deliveries than messages, nothing dead-lettered.
      expect(service.consumer.stats.delivered).toBeGreaterThanOrEqual(total);
      expect(await f.admin.depth(config.topology.deadLetterQueue)).toBe(0);
    } finally {
      await service.close();
      await proxy.close();
    }

    const db = new Database(config.sqlitePath, { readonly: true });
    try {
      const rows = db.prepare('SELECT cdr_id, record FROM cdrs').all() as Array<{ cdr_id: string; record: string }>;
      const byCallId = new Map(rows.map((r) => {
        const { cdr } = JSON.parse(r.record) as { cdr: { call_id: string } };
        expect(r.cdr_id).toBe(cdrIdFor(cdr.call_id));
        return [cdr.call_id, cdr];
      }));
      expect(rows.length).toBe(expected.cdrs.size);
      expect(byCallId.size).toBe(expected.cdrs.size);
      for (const [callId, record] of expected.cdrs) expect(byCallId.get(callId)).toEqual(record.cdr);
      expect((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(expected.distinctEvents);
      expect((db.prepare('SELECT count(*) AS n FROM open_calls').get() as { n: number }).n).toBe(0);
    } finally {
      db.close();
    }
  }, 180_000);
});
