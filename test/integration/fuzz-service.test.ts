/**
 * A burst of hostile input through the running service, interleaved with good calls: the
 * service stays up, good traffic still becomes CDRs, every bad message is dead-lettered once.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import { DEAD_LETTER_HEADERS } from '../../consumers/amqp/headers';
import { silentLogger, waitUntil } from '../support/rabbit';
import { serviceEnv } from '../support/service-env';
import { EXPECTED_SAMPLE_CDRS, readSamples } from '../support/samples';
import { integrationFixture } from '../support/fixture';

const VALID = readSamples()[1]!.body.toString('utf8');

const hostileBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
  fc.nat({ max: VALID.length - 2 }).map((n) => Buffer.from(VALID.slice(0, n + 1))),
  fc.constant(Buffer.alloc(200_000, 0x7b)),
  fc.nat({ max: 50_000 }).map((depth) => Buffer.from('['.repeat(depth + 1))),
  fc.constant(Buffer.from([0x45, 0x5f, 0xff, 0xfe, 0x0a, 0xc3, 0x28])),
  fc.constantFrom('1e400', '18446744073709551616', '-1', '9'.repeat(400)).map((n) =>
    Buffer.from(`{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST","params":{"call_id":"x","request_time":${n},"microseconds":1}}`)),
  fc.constant(Buffer.from('E_QBL_INVITE_REQUEST\ncall_id::"unterminated\nrequest_time::"1796000000\nmicroseconds::1"')),
  fc.constant(Buffer.from('{"jsonrpc":"2.0","method":"E_QBL_BYE_REQUEST","params":["a","b",1796000000]}')),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'E_QBL_INVITE_REPLY', params: { call_id: value, reply_code: value, reply_time: value } }))),
);

describe('hostile input through the service', () => {
  const f = integrationFixture('fuzz');

  test('1500 bad messages among good calls: all dead-lettered, good CDRs intact, memory bounded', async () => {
    const config = loadConfig(serviceEnv(f.dir, 'fuzz'));
    f.admin.track(config.topology);
    const bad = fc.sample(hostileBody, { numRuns: 1500, seed: 424242 })
      .filter((body) => !decodeMessage(body, DEFAULT_DECODER_OPTIONS).ok);
    expect(bad.length).toBeGreaterThan(1400);

    const service = await Service.start({ config, logger: silentLogger() });
    try {
      const heapBefore = process.memoryUsage().heapUsed;
      const good = readSamples();
      const chunk = Math.ceil(bad.length / good.length);
      for (const [i, message] of good.entries()) {
        await f.admin.publish(config.topology.exchange, 'fuzz', bad.slice(i * chunk, (i + 1) * chunk));
        await f.admin.publish(config.topology.exchange, message.routingKey, [message.body]);
      }
      await waitUntil(async () => (await f.admin.depth(config.topology.deadLetterQueue)) === bad.length
        && (await f.admin.depth(config.topology.queue)) === 0, 'every bad message in the DLQ', 60_000);
      const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
      expect(heapGrowthMb).toBeLessThan(200);
      expect(service.consumer.stats.connected).toBe(true);

      const letters = await f.admin.drain(config.topology.deadLetterQueue);
      expect(letters).toHaveLength(bad.length);
      for (const letter of letters) {
        expect(String(letter.properties.headers![DEAD_LETTER_HEADERS.reason])).toMatch(/^decode\./);
        expect(letter.properties.headers![DEAD_LETTER_HEADERS.stage]).toBe('decode');
      }
      expect(letters.map((l) => l.content.toString('base64')).sort()).toEqual(bad.map((b) => b.toString('base64')).sort());

      const reader = SqliteReader.open(config.sqlitePath);
      try {
        const cdrs = (await reader.searchCdrs({ limit: 10 })).map((s) => s.cdr).sort((a, b) => a.invite_at!.localeCompare(b.invite_at!));
        expect(cdrs).toEqual(EXPECTED_SAMPLE_CDRS);
      } finally {
        await reader.close();
      }
    } finally {
      await service.close();
    }
  }, 120_000);
});
