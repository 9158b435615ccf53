/**
 * The whole service in-process against the real RabbitMQ and the real OpenSearch node: its
 * configuration, simulated traffic published in order, waiting for the drain, and reading back
 * every document the node holds.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { Service } from '../../src/pipeline/service';
import { decodeMessage } from '../../consumers/decode/decode';
import type { DecoderOptions } from '../../consumers/decode/options';
import type { CallEvent } from '../../correlators/events';
import { generateTraffic, type Traffic, type TrafficOptions } from '../../src/simulator/generator';
import { type RabbitAdmin, uniqueName, waitUntil } from '../support/rabbit';
import { NODE_URL } from './node';

const HOUR_MS = 3_600_000;

/** Environment for a service writing to the node under `prefix`; short timeouts as in simulate-e2e. */
export function serviceEnv(dir: string, prefix: string, overrides: Record<string, string> = {}): Record<string, string> {
  const base = uniqueName('os');
  return {
    OPENSEARCH_URL: NODE_URL,
    QBL_INDEX_PREFIX: prefix,
    QBL_EXCHANGE: `${base}.x`,
    QBL_QUEUE: `${base}.q`,
    SQLITE_PATH: `${dir}/qbl.db`,
    QBL_HTTP_PORT: '0',
    QBL_STATS_INTERVAL_S: '0',
    QBL_BATCH_WAIT_MS: '5',
    QBL_SWEEP_INTERVAL_MS: '50',
    QBL_SETUP_TIMEOUT_S: '2',
    QBL_MAX_CALL_DURATION_S: '2',
    QBL_BYE_GRACE_S: '1',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

/** Mixed formats, acc on, every kind of disorder; the calls started three hours ago. */
export function simulatedTraffic(calls: number, seed: number, overrides: Partial<TrafficOptions> = {}): Traffic {
  return generateTraffic({
    calls, cps: 500, format: 'mixed', acc: true, seed, startTimeUs: (Date.now() - 3 * HOUR_MS) * 1000,
    provisionalRate: 1, retransmitRate: 0.2, duplicateRate: 0.05, reorderRate: 0.3, lossRate: 0.03, inProgressRate: 0.05,
    ...overrides,
  });
}

export interface WireMessage {
  readonly routingKey: string;
  readonly body: Buffer;
}

/** Publishes in the given order on one confirm channel, as OpenSIPS would (no properties). */
export async function publishInOrder(admin: RabbitAdmin, exchange: string, messages: readonly WireMessage[]): Promise<void> {
  const channel = await admin.model.createConfirmChannel();
  channel.on('error', () => undefined);
  try {
    for (const [i, message] of messages.entries()) {
      channel.publish(exchange, message.routingKey, message.body);
      if (i % 500 === 499) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();
  } finally {
    await channel.close().catch(() => undefined);
  }
}

export interface PublishedEvent {
  readonly event: CallEvent;
  readonly eventName: string;
  readonly routingKey: string;
  readonly body: Buffer;
  /** Messages that carried this event (duplicates included). */
  readonly messages: number;
}

/** The distinct events among the published messages, by the id the decoder gives them. */
export function publishedEvents(messages: readonly WireMessage[], decoder: DecoderOptions): Map<string, PublishedEvent> {
  const out = new Map<string, PublishedEvent>();
  for (const message of messages) {
    const decoded = decodeMessage(message.body, decoder);
    if (!decoded.ok) continue;
    const seen = out.get(decoded.event.id);
    if (seen) {
      // A second message with the same id must be the same bytes, or the ids are not content ids.
      if (!seen.body.equals(message.body)) throw new Error(`two different bodies decode to event id ${decoded.event.id}`);
      out.set(decoded.event.id, { ...seen, messages: seen.messages + 1 });
    } else {
      out.set(decoded.event.id, { event: decoded.event, eventName: decoded.eventName, routingKey: message.routingKey, body: message.body, messages: 1 });
    }
  }
  return out;
}

/** Calls the generator expects no qbl CDR for, but whose acc events were published: the service makes an acc CDR. */
export function accOnlyCallIds(traffic: Traffic): Set<string> {
  return new Set(traffic.calls.filter((c) => c.expected === null && c.disorder.published.length > 0).map((c) => c.model.callId));
}

/** Everything consumed, acked, and every call closed (its CDR committed). */
export async function waitForDrain(admin: RabbitAdmin, service: Service, messages: number, timeoutMs: number): Promise<void> {
  const queue = service.config.topology.queue;
  await waitUntil(async () => service.pipeline.stats.messages >= messages
    && service.consumer.stats.unacked === 0
    && service.pipeline.correlator.openCallCount === 0
    && (await admin.depth(queue)) === 0, `the queue to drain and every call to close (${messages} messages)`, timeoutMs);
}

/** A raw hit: the client's types mark every field optional. */
export interface RawHit {
  readonly _index: string;
  readonly _id: string;
  readonly _source: Record<string, unknown>;
  /** Doc values formatted by the node (only the fields asked for). */
  readonly fields: Record<string, unknown[]>;
}

/** Every document under `index` (at most 10 000, checked), with `dateFields` read back from doc values. */
export async function allDocs(raw: Client, index: string, dateFields: readonly string[] = []): Promise<RawHit[]> {
  await raw.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  const response = await raw.search({
    index,
    ignore_unavailable: true,
    allow_no_indices: true,
    body: {
      size: 10_000,
      track_total_hits: true,
      query: { match_all: {} },
      fields: dateFields.map((field) => ({ field, format: 'strict_date_optional_time_nanos' })),
    } as never,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const hits = (response.body as any).hits;
  const total = typeof hits.total === 'number' ? hits.total : hits.total.value;
  if (total !== hits.hits.length) throw new Error(`${index}: ${total} documents, more than one search returns`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return hits.hits.map((hit: any) => ({ _index: hit._index, _id: hit._id, _source: hit._source, fields: hit.fields ?? {} }));
}

/** Ids of the documents a raw query matches under `index`. */
export async function matchingIds(raw: Client, index: string, query: Record<string, unknown>): Promise<string[]> {
  const response = await raw.search({ index, body: { size: 10_000, query, _source: false } as never });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (response.body as any).hits.hits.map((hit: { _id: string }) => hit._id).sort();
}

/** Every CDR the simulator expects (and one per acc-only call) is on the node, once and exact. */
export async function expectExactCdrs(raw: Client, prefix: string, traffic: Traffic): Promise<void> {
  const expected = traffic.expected;
  const accOnly = accOnlyCallIds(traffic);
  let cdrs = new Map<string, Record<string, unknown>>();
  let hits = 0;
  await waitUntil(async () => {
    await raw.indices.refresh({ index: `${prefix}-*` });
    const found = (await raw.search({ index: `${prefix}-cdrs-*`, body: { query: { match_all: {} }, size: 10_000 } })).body.hits.hits;
    hits = found.length;
    cdrs = new Map(found.map((hit: { _source?: Record<string, unknown> }) => [hit._source!.call_id as string, hit._source!]));
    return cdrs.size >= expected.length + accOnly.size && expected.every((cdr) => cdrs.get(cdr.call_id)?.events === cdr.events);
  }, 'every CDR complete', 60_000).catch(() => undefined); // the expectations below then say which CDR differs, and how
  expect(hits).toBe(cdrs.size);
  for (const cdr of expected) expect(cdrs.get(cdr.call_id)).toMatchObject(cdr as unknown as Record<string, unknown>);
  expect(cdrs.size).toBe(expected.length + accOnly.size);
}

/** No call document left open on the node. */
export async function waitForNoOpenCall(raw: Client, prefix: string): Promise<void> {
  await waitUntil(async () => {
    await raw.indices.refresh({ index: `${prefix}-calls` });
    const open = await raw.count({ index: `${prefix}-calls`, body: { query: { term: { open: true } } } });
    return open.body.count === 0;
  }, 'no call left open in the shared state', 30_000);
}
