/**
 * The whole backbone against the real RabbitMQ: a mixed stream (both body formats, malformed
 * messages, duplicates) through the service into the SQLite store and the dead-letter queue.
 */
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { DEAD_LETTER_HEADERS } from '../../consumers/amqp/headers';
import { silentLogger, waitUntil } from '../support/rabbit';
import { serviceEnv } from '../support/service-env';
import { EXPECTED_SAMPLE_CDRS, EXPECTED_SAMPLE_EXTRAS, readSamples } from '../support/samples';
import { integrationFixture } from '../support/fixture';

const MALFORMED: Array<{ body: string; reason: string }> = [
  { body: '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST","params":{"call_id":"x"', reason: 'decode.not_json' },
  { body: 'E_SOMETHING_ELSE\ncall_id::abc\nrequest_time::1796000000\nmicroseconds::1', reason: 'decode.unknown_event' },
  { body: '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST","params":{"request_time":1796000000,"microseconds":5}}', reason: 'decode.no_call_id' },
  { body: '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":{"call_id":"a","reply_code":200,"reply_time":"soon","microseconds":5}}', reason: 'decode.bad_time' },
];

function configFor(dir: string, overrides: Record<string, string> = {}): Config {
  return loadConfig(serviceEnv(dir, 'svc', { QBL_SWEEP_INTERVAL_MS: '50', ...overrides }));
}

describe('service against the real RabbitMQ', () => {
  const f = integrationFixture('service', { dirPerTest: true });

  test.each(['quorum', 'classic'])('a mixed stream on a %s queue ends as the exact CDRs, raw events and dead letters', async (queueType) => {
    const config = configFor(f.dir, { QBL_QUEUE_TYPE: queueType });
    f.admin.track(config.topology);
    const service = await Service.start({ config, logger: silentLogger() });
    try {
      const samples = readSamples();
      // Every sample twice (a redelivery or a duplicate publish), malformed messages in between.
      for (const [i, message] of [...samples, ...samples].entries()) {
        await f.admin.publish(config.topology.exchange, message.routingKey, [message.body]);
        const bad = MALFORMED[i % MALFORMED.length]!;
        if (i < MALFORMED.length) await f.admin.publish(config.topology.exchange, 'opensips.qbl.bad', [Buffer.from(bad.body)]);
      }

      const reader = SqliteReader.open(config.sqlitePath);
      try {
        await waitUntil(async () => (await reader.searchCdrs({ limit: 10 })).length === 3
          && (await reader.searchCdrs({ limit: 10 })).every((s) => s.cdr.events === EXPECTED_SAMPLE_CDRS.find((e) => e.call_id === s.cdr.call_id)!.events)
          && (await f.admin.depth(config.topology.deadLetterQueue)) === MALFORMED.length,
        'three complete CDRs and four dead letters');
        await waitUntil(async () => (await f.admin.depth(config.topology.queue)) === 0, 'the queue to drain');

        const cdrs = (await reader.searchCdrs({ limit: 10 })).sort((a, b) => a.cdr.invite_at!.localeCompare(b.cdr.invite_at!));
        expect(cdrs.map((s) => s.cdr)).toEqual(EXPECTED_SAMPLE_CDRS);
        for (const stored of cdrs) expect(stored.extras).toMatchObject(EXPECTED_SAMPLE_EXTRAS[stored.cdr.call_id]!);

        const answered = await reader.eventsForCall('7f3a9c1e-answered@10.1.2.3');
        expect(answered.map((e) => [e.kind, e.reply_code])).toEqual([
          ['invite_request', null], ['invite_reply', 180], ['acc_cdr', 200], ['invite_reply', 200], ['bye_request', null], ['bye_reply', 200],
        ]);
        expect(answered.map((e) => e.time)).toEqual([...answered.map((e) => e.time)].sort());
        expect(answered.find((e) => e.kind === 'bye_request')!.body).toBe(samples[3]!.body.toString('utf8'));
        expect(answered.find((e) => e.kind === 'bye_request')!.routing_key).toBe('opensips.qbl.bye.request');
      } finally {
        await reader.close();
      }

      const deadLetters = await f.admin.drain(config.topology.deadLetterQueue);
      const byBody = new Map(deadLetters.map((m) => [m.content.toString('utf8'), m]));
      for (const bad of MALFORMED) {
        const letter = byBody.get(bad.body);
        expect(letter).toBeDefined();
        const headers = letter!.properties.headers!;
        expect(headers[DEAD_LETTER_HEADERS.reason]).toBe(bad.reason);
        expect(headers[DEAD_LETTER_HEADERS.stage]).toBe('decode');
        expect(String(headers[DEAD_LETTER_HEADERS.detail]).length).toBeGreaterThan(0);
        expect(headers[DEAD_LETTER_HEADERS.originalExchange]).toBe(config.topology.exchange);
        expect(headers[DEAD_LETTER_HEADERS.originalRoutingKey]).toBe('opensips.qbl.bad');
        expect(Number.isNaN(Date.parse(String(headers[DEAD_LETTER_HEADERS.failedAt])))).toBe(false);
        expect(letter!.fields.routingKey).toBe('opensips.qbl.bad');
      }
      expect(service.pipeline.correlator.openCallCount).toBe(0);
    } finally {
      await service.close();
    }
  });

  test('an open call survives a restart of the service through its stored events', async () => {
    const config = configFor(f.dir);
    f.admin.track(config.topology);
    const samples = readSamples().filter((m) => m.body.includes('7f3a9c1e-answered'));
    const [reply180, request, answer, bye, byeReply] = samples;

    let service = await Service.start({ config, logger: silentLogger() });
    await f.admin.publish(config.topology.exchange, 'k', [request!.body, reply180!.body, answer!.body]);
    await waitUntil(() => service.pipeline.correlator.openCallCount === 1 && service.pipeline.stats.messages === 3, 'the call to be open');
    await service.close();

    service = await Service.start({ config, logger: silentLogger() });
    try {
      expect(service.pipeline.correlator.isOpen('7f3a9c1e-answered@10.1.2.3')).toBe(true);
      await f.admin.publish(config.topology.exchange, 'k', [bye!.body, byeReply!.body]);
      await waitUntil(() => service.pipeline.correlator.openCallCount === 0, 'the call to close');
    } finally {
      await service.close();
    }
    const reader = SqliteReader.open(config.sqlitePath);
    try {
      const [stored] = await reader.searchCdrs({ callId: '7f3a9c1e-answered@10.1.2.3', limit: 5 });
      expect(stored!.cdr).toEqual({ ...EXPECTED_SAMPLE_CDRS[0], events: 5 });
    } finally {
      await reader.close();
    }
  });
});
