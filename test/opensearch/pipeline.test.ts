/**
 * End to end on the real engines: simulated OpenSIPS traffic published to the real RabbitMQ, the
 * service in-process writing to the real OpenSearch node (`make opensearch-up`). Skipped, with a
 * message, when no node answers.
 */
import { existsSync } from 'node:fs';
import { cdrIdFor, formatUs, parseUs, type Cdr } from '../../correlators/cdr';
import { DEAD_LETTER_HEADERS } from '../../consumers/amqp/headers';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { openCdrReader } from '../../src/stores/open';
import { indexName } from '../../src/stores/search/documents';
import { CDR_PROPERTIES, EVENT_PROPERTIES } from '../../src/stores/search/templates';
import type { CdrQuery, CdrReader, StoredCdr } from '../../src/stores/store';
import { silentLogger } from '../support/rabbit';
import { describeOnNode, nodeFixture } from './node';
import { integrationFixture } from '../support/fixture';
import {
  accOnlyCallIds, allDocs, matchingIds, publishInOrder, publishedEvents, serviceEnv, simulatedTraffic, waitForDrain,
  type RawHit, type WireMessage,
} from './service-harness';

const MALFORMED: Array<{ body: string; reason: string }> = [
  { body: '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST","params":{"call_id":"x"', reason: 'decode.not_json' },
  { body: 'E_SOMETHING_ELSE\ncall_id::abc\nrequest_time::1796000000\nmicroseconds::1', reason: 'decode.unknown_event' },
  { body: '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST","params":{"request_time":1796000000,"microseconds":5}}', reason: 'decode.no_call_id' },
  { body: '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":{"call_id":"a","reply_code":200,"reply_time":"soon","microseconds":5}}', reason: 'decode.bad_time' },
];

const TIMESTAMPS = Object.keys(CDR_PROPERTIES).filter((field) => CDR_PROPERTIES[field]!.type === 'date_nanos');
const SIX_DIGITS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The malformed messages spread through the stream. */
function withMalformed(messages: readonly WireMessage[]): WireMessage[] {
  const out = [...messages];
  MALFORMED.forEach((bad, k) => {
    out.splice(Math.floor(((k + 1) * out.length) / (MALFORMED.length + 1)), 0, { routingKey: 'opensips.qbl.bad', body: Buffer.from(bad.body) });
  });
  return out;
}

/** The doc value the node formats back must be the same microsecond as the `_source` string. */
function expectSameInstant(hit: RawHit, field: string): void {
  const source = hit._source[field];
  if (source === null || source === undefined) {
    expect(hit.fields[field]).toBeUndefined();
    return;
  }
  expect(source).toMatch(SIX_DIGITS);
  const values = hit.fields[field]!;
  expect(values).toHaveLength(1);
  // The node prints 3 to 9 fraction digits (trailing zeros dropped): compare the instants.
  expect(parseUs(String(values[0]))).toBe(parseUs(String(source)));
}

/** The search store keeps no local file, so every expectation below is computed from the stream itself. */
async function searchCdrs(search: CdrReader, query: CdrQuery): Promise<StoredCdr[]> {
  return search.searchCdrs(query);
}

describeOnNode('the service on the real RabbitMQ and the real OpenSearch node', () => {
  const f = integrationFixture('os-pipeline', { dirPerTest: true });
  const node = nodeFixture(f);

  it('a mixed stream ends as exactly the expected CDRs and raw events, searchable by number, call id and time range', async () => {
    const traffic = simulatedTraffic(300, 2026);
    const stream = withMalformed(traffic.messages);
    const config = loadConfig(serviceEnv(f.dir, node.prefix));
    f.admin.track(config.topology);
    const events = publishedEvents(traffic.messages, config.decoder);
    expect(events.size).toBe(traffic.summary.publishedEvents);

    const service = await Service.start({ config, logger: silentLogger() });
    const search = await openCdrReader(config);
    try {
      await publishInOrder(f.admin, config.topology.exchange, stream);
      await waitForDrain(f.admin, service, stream.length, 90_000);
      await node.raw.indices.refresh({ index: `${node.prefix}-*` });

      // CDRs through the reader: the generator's CDRs field by field, plus acc-only calls.
      const cdrs = await searchCdrs(search, { limit: 10_000 });
      const byCallId = new Map(cdrs.map((stored) => [stored.cdr.call_id, stored]));
      expect(byCallId.size).toBe(cdrs.length);
      expect(traffic.expected.length).toBeGreaterThan(250);
      for (const cdr of traffic.expected) expect(byCallId.get(cdr.call_id)?.cdr).toEqual(cdr);
      const accOnly = accOnlyCallIds(traffic);
      const extra = cdrs.filter((stored) => !traffic.expected.some((cdr) => cdr.call_id === stored.cdr.call_id));
      expect(new Set(extra.map((stored) => stored.cdr.call_id))).toEqual(accOnly);
      for (const stored of extra) expect(stored.cdr.source).toBe('acc');
      expect(cdrs.filter((stored) => stored.extras.caller_e164 !== null).length).toBeGreaterThan(cdrs.length / 2);

      // The documents as stored: deterministic ids, the month of the call's start, exact microseconds.
      const cdrDocs = await allDocs(node.raw, `${node.prefix}-cdrs-*`, TIMESTAMPS);
      expect(cdrDocs).toHaveLength(cdrs.length);
      const startUs = new Map<string, number>();
      for (const hit of cdrDocs) {
        const source = hit._source as unknown as Cdr & { start_at: string };
        expect(hit._id).toBe(source.cdr_id);
        expect(source.cdr_id).toBe(cdrIdFor(source.call_id));
        const start = parseUs(source.start_at)!;
        if (source.invite_at !== null) expect(source.start_at).toBe(source.invite_at);
        expect(hit._index).toBe(indexName(node.prefix, 'cdrs', start));
        for (const field of TIMESTAMPS) expectSameInstant(hit, field);
        startUs.set(source.call_id, start);
      }

      // Raw events: exactly the distinct published events, each with its own bytes and time.
      const eventDocs = await allDocs(node.raw, `${node.prefix}-events-*`, ['time', 'received_at']);
      expect(eventDocs.map((hit) => hit._id).sort()).toEqual([...events.keys()].sort());
      for (const hit of eventDocs) {
        const published = events.get(hit._id)!;
        const source = hit._source;
        expect(source).toMatchObject({
          id: hit._id, call_id: published.event.callId, cdr_id: cdrIdFor(published.event.callId), kind: published.event.kind,
          event_name: published.eventName, time: formatUs(published.event.timeUs), reply_code: published.event.replyCode,
          caller: published.event.caller, callee: published.event.callee, direction: published.event.direction,
          exchange: config.topology.exchange, routing_key: published.routingKey,
          body: published.body.toString('utf8'), body_base64: null,
        });
        expect(hit._index).toBe(indexName(node.prefix, 'events', published.event.timeUs));
        expectSameInstant(hit, 'time');
        expectSameInstant(hit, 'received_at');
      }

      // By call id: the CDR, and its raw events in event-time order.
      for (const [callId] of byCallId) {
        const rows = await search.eventsForCall(callId);
        expect(rows.map((row) => row.time)).toEqual(rows.map((row) => row.time).sort());
        expect(rows.map((row) => row.id).sort()).toEqual([...events.values()].filter((e) => e.event.callId === callId).map((e) => e.event.id).sort());
      }
      for (const stored of cdrs.slice(0, 20)) expect(await searchCdrs(search, { callId: stored.cdr.call_id, limit: 5 })).toEqual([stored]);

      // By number, as published and as E.164: every CDR with the number on either side, in the same order.
      const numbers = new Set<string>();
      for (const stored of cdrs.slice(0, 40)) {
        for (const n of [stored.cdr.caller, stored.extras.callee_e164, stored.extras.caller_e164]) if (n !== null) numbers.add(n);
      }
      for (const n of numbers) {
        const found = await searchCdrs(search, { numbers: [n], limit: 10_000 });
        expect(found).toEqual(cdrs.filter((s) => [s.cdr.caller, s.cdr.callee, s.extras.caller_e164, s.extras.callee_e164].includes(n)));
        expect(found.length).toBeGreaterThan(0);
        const eventIds = [...events.values()].filter((e) => e.event.caller === n || e.event.callee === n).map((e) => e.event.id).sort();
        expect(await matchingIds(node.raw, `${node.prefix}-events-*`, { bool: { should: [{ term: { caller: n } }, { term: { callee: n } }] } })).toEqual(eventIds);
      }

      // By time range on the call's start: since inclusive, until exclusive, to the microsecond.
      const starts = [...new Set(startUs.values())].sort((a, b) => a - b);
      const [since, until] = [starts[Math.floor(starts.length / 4)]!, starts[Math.floor((3 * starts.length) / 4)]!];
      const inRange = (from: number, to: number) => cdrs.filter((s) => startUs.get(s.cdr.call_id)! >= from && startUs.get(s.cdr.call_id)! < to);
      expect(await searchCdrs(search, { sinceUs: since, untilUs: until, limit: 10_000 })).toEqual(inRange(since, until));
      expect(await searchCdrs(search, { sinceUs: since + 1, untilUs: until + 1, limit: 10_000 })).toEqual(inRange(since + 1, until + 1));
      const answered = await searchCdrs(search, { sinceUs: since, untilUs: until, disposition: 'answered', limit: 10_000 });
      expect(answered).toEqual(inRange(since, until).filter((s) => s.cdr.disposition === 'answered'));
      expect(answered.length).toBeGreaterThan(0);
      expect(await searchCdrs(search, { sinceUs: since, limit: 7 })).toEqual(inRange(since, Number.MAX_SAFE_INTEGER).slice(0, 7));
      // Raw events by their own time.
      const eventTimes = [...events.values()].map((e) => e.event.timeUs).sort((a, b) => a - b);
      const [from, to] = [eventTimes[Math.floor(eventTimes.length / 3)]!, eventTimes[Math.floor((2 * eventTimes.length) / 3)]!];
      expect(await matchingIds(node.raw, `${node.prefix}-events-*`, { range: { time: { gte: formatUs(from), lt: formatUs(to) } } }))
        .toEqual([...events.values()].filter((e) => e.event.timeUs >= from && e.event.timeUs < to).map((e) => e.event.id).sort());

      // The malformed messages, and only they, are dead letters with their reasons.
      const letters = await f.admin.drain(config.topology.deadLetterQueue);
      expect(letters.map((m) => m.content.toString('utf8')).sort()).toEqual(MALFORMED.map((bad) => bad.body).sort());
      for (const bad of MALFORMED) {
        const headers = letters.find((m) => m.content.toString('utf8') === bad.body)!.properties.headers!;
        expect(headers[DEAD_LETTER_HEADERS.reason]).toBe(bad.reason);
        expect(headers[DEAD_LETTER_HEADERS.stage]).toBe('decode');
        expect(headers[DEAD_LETTER_HEADERS.originalRoutingKey]).toBe('opensips.qbl.bad');
      }
      // In search mode no local file is needed, nor written.
      expect(existsSync(config.sqlitePath)).toBe(false);
    } finally {
      await search.close();
      await service.close();
    }
  }, 150_000);

  it('documents the engine rejects (a real mapping conflict) are dead-lettered with its reason; the rest of each batch lands', async () => {
    const traffic = simulatedTraffic(60, 77, { duplicateRate: 0.1 });
    const config = loadConfig(serviceEnv(f.dir, node.prefix, { QBL_BATCH_SIZE: '50' }));
    f.admin.track(config.topology);
    const events = publishedEvents(traffic.messages, config.decoder);
    const isAcc = (kind: string) => kind.startsWith('acc_');

    // An index made before the service, by someone else: acc_sip_reason ("OK", "Busy Here") as an integer.
    const conflicting = { ...EVENT_PROPERTIES, acc_sip_reason: { type: 'integer' } };
    const months = new Set([...events.values()].map((e) => indexName(node.prefix, 'events', e.event.timeUs)));
    for (const index of months) {
      await node.raw.indices.create({ index, body: { settings: { number_of_shards: 1, auto_expand_replicas: '0-1' }, mappings: { dynamic: false, properties: conflicting } } as never });
    }

    const service = await Service.start({ config, logger: silentLogger() });
    const search = await openCdrReader(config);
    try {
      await publishInOrder(f.admin, config.topology.exchange, traffic.messages);
      await waitForDrain(f.admin, service, traffic.messages.length, 60_000);

      // Every message of an acc event is a dead letter, with the engine's own reason.
      const rejectedMessages = traffic.messages.filter((m) => {
        const published = [...events.values()].find((e) => e.body.equals(m.body));
        return published !== undefined && isAcc(published.event.kind);
      });
      expect(rejectedMessages.length).toBeGreaterThan(20);
      const letters = await f.admin.drain(config.topology.deadLetterQueue);
      expect(letters.map((m) => m.content.toString('base64')).sort()).toEqual(rejectedMessages.map((m) => m.body.toString('base64')).sort());
      for (const letter of letters) {
        const headers = letter.properties.headers!;
        expect(headers[DEAD_LETTER_HEADERS.reason]).toBe('store.rejected');
        expect(headers[DEAD_LETTER_HEADERS.stage]).toBe('store');
        expect(String(headers[DEAD_LETTER_HEADERS.detail])).toMatch(
          /^opensearch rejected the document \(HTTP 400\): mapper_parsing_exception: failed to parse field \[acc_sip_reason\] of type \[integer\]/,
        );
        expect(headers[DEAD_LETTER_HEADERS.originalRoutingKey]).toBe(letter.fields.routingKey);
        expect(String(letter.fields.routingKey)).toMatch(/^opensips\.acc\./);
      }
      expect(service.consumer.stats.deadLettered).toEqual({ 'store.rejected': rejectedMessages.length });

      // The rest of every batch landed: all the other events, and every CDR (correlated from the local history).
      const eventDocs = await allDocs(node.raw, `${node.prefix}-events-*`);
      expect(eventDocs.map((hit) => hit._id).sort()).toEqual([...events.values()].filter((e) => !isAcc(e.event.kind)).map((e) => e.event.id).sort());
      await node.raw.indices.refresh({ index: `${node.prefix}-*` });
      const cdrs = await search.searchCdrs({ limit: 10_000 });
      const byCallId = new Map(cdrs.map((stored) => [stored.cdr.call_id, stored.cdr]));
      for (const cdr of traffic.expected) expect(byCallId.get(cdr.call_id)).toEqual(cdr);

      // The conflicting mapping is untouched: the service never rewrites an existing index.
      for (const index of months) {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const mapping: any = (await node.raw.indices.getMapping({ index })).body;
        expect(mapping[index].mappings.properties.acc_sip_reason).toEqual({ type: 'integer' });
      }
    } finally {
      await search.close();
      await service.close();
    }
  }, 120_000);
});
