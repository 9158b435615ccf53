/**
 * A fresh service pointed at a queue that has held OpenSIPS events for hours (the usual first
 * deployment): the pipeline, on a real SQLite store, judges the backlog's calls on their own event
 * time. Each call's CDR is written once, when the call is over, never first as a timeout that later
 * events rewrite. No broker here: batches are handed to the pipeline as the consumer would.
 */
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline';
import { loadConfig } from '../../src/config/config';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import type { CallStore, CommitBatch } from '../../src/stores/store';
import { generateTraffic } from '../../src/simulator/generator';
import type { Delivery } from '../../consumers/batch-handler';
import { CDR_FIELDS } from '../../correlators/cdr';
import { silentLogger } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';

const HOUR_US = 3600 * 1_000_000;

describe('pipeline on an hours-old backlog', () => {
  const f = integrationFixture('backlog', { broker: false, dirPerTest: true });

  test('writes each call\'s CDR once, complete, and equal to the expected one', async () => {
    const nowUs = Date.now() * 1000;
    const traffic = generateTraffic({
      calls: 400, seed: 5, cps: 20, concurrency: 1_000_000, startTimeUs: nowUs - 3 * HOUR_US,
      duplicateRate: 0.05, reorderRate: 0.2, lossRate: 0, maxTalkS: 1800,
    });
    const config = loadConfig({ SQLITE_PATH: join(f.dir, 'qbl.db') });
    const sqlite = SqliteStore.open(config.sqlitePath);
    const writes = new Map<string, number>();
    const store: CallStore = {
      commit: (batch: CommitBatch) => {
        for (const { cdr } of batch.cdrs) writes.set(cdr.call_id, (writes.get(cdr.call_id) ?? 0) + 1);
        return sqlite.commit(batch);
      },
      eventsForCalls: (ids) => sqlite.eventsForCalls(ids),
      openCalls: () => sqlite.openCalls(),
      ping: () => sqlite.ping(),
      close: () => sqlite.close(),
    };
    try {
      const pipeline = new Pipeline({ correlator: config.correlator, decoder: config.decoder, store, logger: silentLogger() });
      const deliveries: Delivery[] = traffic.messages.map((m) => ({
        body: m.body, exchange: 'opensips', routingKey: m.routingKey, headers: {}, redelivered: false, receivedAtUs: nowUs,
      }));
      for (let i = 0; i < deliveries.length; i += 250) await pipeline.handleBatch(deliveries.slice(i, i + 250));
      // The backlog read, the event clock stands at its last event: what is still open waits for more.
      const stillOpen = pipeline.correlator.openCallCount;
      expect(stillOpen).toBeLessThan(traffic.expected.length / 10);

      const reader = SqliteReader.open(config.sqlitePath);
      const stored = new Map((await reader.searchCdrs({ limit: 100_000 })).map((s) => [s.cdr.call_id, s.cdr]));
      await reader.close();
      const closed = traffic.expected.filter((want) => stored.has(want.call_id));
      expect(closed.length).toBe(traffic.expected.length - stillOpen);
      for (const want of closed) {
        const got = stored.get(want.call_id)!;
        for (const field of CDR_FIELDS) expect([want.call_id, field, got[field]]).toEqual([want.call_id, field, want[field]]);
        expect(writes.get(want.call_id)).toBe(1);
      }
    } finally {
      await store.close();
    }
  });
});
