/**
 * The pure parts of the shared join state (docs/scaling.md): call documents, versioned and
 * conditional bulk actions, the intake queue's arguments, and the search store's stale-writer
 * check against the scripted Elasticsearch.
 */
import { mainQueueArguments } from '../../consumers/amqp/topology';
import { callDocument, unionEvents } from '../../src/stores/search/calls';
import { bulkItemResults, bulkOperations } from '../../src/stores/search/engine';
import { eventDocument } from '../../src/stores/search/documents';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { SearchStore, cdrVersion, writerOptions } from '../../src/stores/search/search-store';
import type { CommitBatch } from '../../src/stores/store';
import { answeredCall, capturingLogger, noSleep, storedEvent, T0_US } from './search-fixtures';
import { MockCluster } from './search-es-mock';
import { testTopology } from '../support/rabbit';

describe('call documents', () => {
  it('the event set only grows: a union by id, stored events first', () => {
    const [a, b, c] = ['invite_request', 'invite_reply', 'bye_request'].map((kind, k) => storedEvent('x@h', kind as never, T0_US + k).event);
    expect(unionEvents([a!, b!], [b!, c!, c!])).toEqual([a, b, c]);
    expect(unionEvents([], [])).toEqual([]);
    expect(callDocument('x@h', [a!], false, 123, T0_US)).toMatchObject({ open: false, deadline_us: null, event_count: 1 });
    expect(callDocument('x@h', [a!], true, 123, T0_US)).toMatchObject({ open: true, deadline_us: 123 });
  });
});

describe('versioned and conditional bulk actions', () => {
  it('carry external_gte versions, if_seq_no/if_primary_term and create', () => {
    expect(bulkOperations([
      { index: 'i', id: '1', document: { a: 1 }, version: 4 },
      { index: 'c', id: '2', document: { b: 2 }, ifSeqNo: 7, ifPrimaryTerm: 1 },
      { index: 'c', id: '3', document: { c: 3 }, op: 'create' },
      { index: 'i', id: '4', document: {}, op: 'delete', version: 4 },
    ])).toEqual([
      { index: { _index: 'i', _id: '1', version: 4, version_type: 'external_gte' } }, { a: 1 },
      { index: { _index: 'c', _id: '2', if_seq_no: 7, if_primary_term: 1 } }, { b: 2 },
      { create: { _index: 'c', _id: '3' } }, { c: 3 },
      { delete: { _index: 'i', _id: '4', version: 4, version_type: 'external_gte' } },
    ]);
  });

  it('a 409 on a versioned write is success without effect; on a conditional write it stays a conflict', () => {
    const conflict = { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'current version [5] is higher' } };
    expect(bulkItemResults([{ index: conflict }, { index: conflict }, { create: conflict }], [
      { index: 'i', id: '1', document: {}, version: 4 },
      { index: 'c', id: '2', document: {}, ifSeqNo: 1, ifPrimaryTerm: 1 },
      { index: 'c', id: '3', document: {}, op: 'create' },
    ], 'http://x')).toEqual([
      { ok: true, superseded: true },
      { ok: false, status: 409, reason: expect.stringMatching(/version_conflict/) },
      { ok: false, status: 409, reason: expect.stringMatching(/version_conflict/) },
    ]);
  });
});

describe('the intake queue', () => {
  it('single-active-consumer for the search store, unchanged arguments for the SQLite store', () => {
    for (const type of ['quorum', 'classic'] as const) {
      const t = testTopology(type);
      expect(mainQueueArguments({ ...t, consumers: 'single-active' })['x-single-active-consumer']).toBe(true);
      expect(mainQueueArguments({ ...t, consumers: 'exclusive' })).toEqual(mainQueueArguments(t));
      expect(mainQueueArguments(t)['x-single-active-consumer']).toBeUndefined();
    }
  });
});

describe('SearchStore: a writer whose view of a call is behind', () => {
  async function twoStores() {
    const cluster = new MockCluster();
    const config = cluster.config();
    const open = async () => {
      const { logger } = capturingLogger();
      const engine = cluster.engine(config);
      const store = new SearchStore(engine, new BulkWriter(engine, { ...writerOptions(config, logger), sleep: noSleep }), { indexPrefix: 'qbl', retentionDays: 30, logger });
      await store.ensureSchema();
      return store;
    };
    return { cluster, a: await open(), b: await open() };
  }

  it('gets the stored state back and writes nothing for that call; the newer CDR stays', async () => {
    const { cluster, a, b } = await twoStores();
    const full = answeredCall('late@host', T0_US);
    const cdrId = full.cdrs[0]!.cdr.cdr_id;
    const firstTwo: CommitBatch = { events: full.events.slice(0, 2), cdrs: [], openCalls: [{ callId: 'late@host', deadlineUs: T0_US * 2 }], closedCallIds: [], eventCounts: new Map([['late@host', 2]]) };
    expect(await a.commit(firstTwo)).toEqual({ rejectedEvents: new Map() });
    // The new owner folds all four and closes the call.
    expect(await b.commit({ ...full, events: full.events.slice(2), eventCounts: new Map([['late@host', 4]]) })).toEqual({ rejectedEvents: new Map() });
    expect(cluster.meta.get(`qbl-cdrs-2026.11/${cdrId}`)?.version).toBe(cdrVersion(4));
    const callDoc = cluster.docs.get(`qbl-calls/${cdrId}`);

    // The old owner writes its in-flight batch: three events folded, the store has four.
    const late = await a.commit({ ...full, events: full.events.slice(2, 3), eventCounts: new Map([['late@host', 3]]) });
    expect(late.staleCalls?.get('late@host')).toEqual({ events: full.events.map((s) => s.event), open: false });
    expect(cluster.docs.get(`qbl-calls/${cdrId}`)).toBe(callDoc);
    expect(cluster.meta.get(`qbl-cdrs-2026.11/${cdrId}`)?.version).toBe(cdrVersion(4));
    expect(a.stats.staleCalls).toBe(1);
    expect(a.stats.rejectedCdrs).toBe(0);
  });

  it('a concurrent change between read and write (409 on the call document) makes the call stale', async () => {
    const { cluster, a } = await twoStores();
    const batch: CommitBatch = { ...answeredCall('race@host', T0_US), eventCounts: new Map([['race@host', 4]]) };
    const script = cluster.bulkScript;
    cluster.bulkScript = (ops, request) => ops.map((op) => (op.index === 'qbl-calls'
      ? { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'document already exists' } }
      : { status: 201 })) ?? script(ops, request);
    const result = await a.commit(batch);
    expect(result.staleCalls?.has('race@host')).toBe(true);
  });
});

describe('SearchStore: calls written before call documents existed (an upgrade)', () => {
  it('reads their history from the events index, and a late event folds into it', async () => {
    const cluster = new MockCluster();
    const config = cluster.config();
    const { logger } = capturingLogger();
    const engine = cluster.engine(config);
    const store = new SearchStore(engine, new BulkWriter(engine, { ...writerOptions(config, logger), sleep: noSleep }), { indexPrefix: 'qbl', retentionDays: 30, logger });
    await store.ensureSchema();
    const old = answeredCall('old@host', T0_US);
    cluster.searchHits = old.events.map((s) => ({ _index: 'qbl-events-2026.11', _id: s.event.id, _source: eventDocument(s), sort: [s.event.id] }));
    const history = await store.eventsForCalls(['old@host']);
    expect(history.get('old@host')).toEqual(old.events.map((s) => s.event));

    const late = storedEvent('old@host', 'acc_cdr', T0_US + 70_000_000, { acc: { method: 'INVITE', durationS: 62, durationMs: 61_493, setupS: 4, createdS: 1, sipReason: 'OK' } });
    const result = await store.commit({ events: [late], cdrs: [old.cdrs[0]!], openCalls: [], closedCallIds: [], eventCounts: new Map([['old@host', 5]]) });
    expect(result.staleCalls).toBeUndefined();
    expect(cluster.docs.get(`qbl-calls/${old.cdrs[0]!.cdr.cdr_id}`)).toMatchObject({ event_count: 5, open: false });
  });
});
