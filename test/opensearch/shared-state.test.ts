/**
 * The join state on the real OpenSearch node, shared by several instances (docs/scaling.md):
 * fencing of a late writer, and a takeover mid-stream with an empty disk that still gives exactly
 * the simulator's CDRs.
 */
import type { Delivery } from '../../consumers/batch-handler';
import { decodeMessage } from '../../consumers/decode/decode';
import { loadConfig } from '../../src/config/config';
import { Pipeline } from '../../src/pipeline/pipeline';
import { callDocumentId, callsIndex } from '../../src/stores/search/calls';
import { SearchStore, cdrVersion } from '../../src/stores/search/search-store';
import type { CommitBatch } from '../../src/stores/store';
import { cdrActions } from '../../src/stores/search/documents';
import { answeredCdr, storedEvent, T0_US } from '../unit/search-fixtures';
import { silentLogger } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';
import { describeOnNode, nodeConfig, nodeFixture } from './node';
import { serviceEnv, simulatedTraffic } from './service-harness';

const DAY_US = 86_400_000_000;

describeOnNode('the shared join state on the real OpenSearch node', () => {
  const f = integrationFixture('os-shared', { dirPerTest: true });
  const node = nodeFixture(f);

  it('a late writer never overwrites newer state: stale calls come back, older CDR versions are superseded', async () => {
    const a = await SearchStore.open(nodeConfig(node.prefix), silentLogger());
    const b = await SearchStore.open(nodeConfig(node.prefix), silentLogger());
    try {
      const callId = 'fenced@pbx';
      const e = [0, 1, 2, 3].map((k) => storedEvent(callId, (['invite_request', 'invite_reply', 'bye_request', 'bye_reply'] as const)[k]!, T0_US + k * 1_000_000));
      const open = (events: typeof e, count: number): CommitBatch => ({
        events, cdrs: [], openCalls: [{ callId, deadlineUs: T0_US + DAY_US }], closedCallIds: [], eventCounts: new Map([[callId, count]]),
      });
      const closed = (events: typeof e, count: number, marker: string): CommitBatch => {
        const cdr = answeredCdr(callId, T0_US);
        return {
          events, cdrs: [{ ...cdr, cdr: { ...cdr.cdr, events: count, hangup_by: marker as never } }], openCalls: [], closedCallIds: [callId], eventCounts: new Map([[callId, count]]),
        };
      };

      // A owns the call and writes two events; then B takes over, reads them by id and closes the call.
      expect(await a.commit(open(e.slice(0, 2), 2))).toEqual({ rejectedEvents: new Map() });
      expect((await b.eventsForCalls([callId])).get(callId)).toHaveLength(2);
      expect(await b.commit(closed(e.slice(2, 4), 4, 'new-owner'))).toEqual({ rejectedEvents: new Map() });

      // A, cut off from the broker, still writes its in-flight batch with its older view (3 events).
      const late = await a.commit(closed([e[2]!], 3, 'late-writer'));
      expect(late.staleCalls?.get(callId)).toEqual({ events: e.map((s) => s.event), open: false });
      await node.raw.indices.refresh({ index: `${node.prefix}-*` });
      const cdr = (await node.raw.search({ index: `${node.prefix}-cdrs-*`, body: { version: true, query: { term: { call_id: callId } } } })).body.hits.hits;
      expect(cdr).toHaveLength(1);
      expect(cdr[0]!._source).toMatchObject({ hangup_by: 'new-owner', events: 4 });
      expect(cdr[0]!._version).toBe(cdrVersion(4));

      // A CDR write that got past that check (already in flight) with an older version: no effect.
      const engine = (a as unknown as { engine: import('../../src/stores/search/engine').SearchEngine }).engine;
      const older = cdrActions(node.prefix, closed([e[2]!], 3, 'late-writer').cdrs[0]!).map((action) => ({ ...action, version: cdrVersion(3) }));
      expect(await engine.bulk(older)).toEqual([{ ok: true, superseded: true }]);
      // A call document written on a version that is no longer the stored one: refused.
      const doc = (await engine.mget(callsIndex(node.prefix), [callDocumentId(callId)])).get(callDocumentId(callId))!;
      expect(doc.source).toMatchObject({ open: false, event_count: 4 });
      const outdated = await engine.bulk([{ index: callsIndex(node.prefix), id: callDocumentId(callId), document: { call_id: callId, events: [] }, ifSeqNo: doc.seqNo - 1, ifPrimaryTerm: doc.primaryTerm }]);
      expect(outdated[0]).toMatchObject({ ok: false, status: 409 });
      // Two different event sets of the same size: the second writer is stale, never written.
      const other = storedEvent(callId, 'invite_reply', T0_US + 9_000_000, { replyCode: 183 });
      const sameSize = await a.commit(closed([other], 4, 'same-size'));
      expect(sameSize.staleCalls?.has(callId)).toBe(true);
      await node.raw.indices.refresh({ index: `${node.prefix}-*` });
      const after = (await node.raw.search({ index: `${node.prefix}-cdrs-*`, body: { query: { term: { call_id: callId } } } })).body.hits.hits;
      expect(after[0]!._source).toMatchObject({ hangup_by: 'new-owner', events: 4 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a call left open in the store after the new owner restored (a late writer\'s batch) is closed by the new owner, even when every event it gets again is a duplicate', async () => {
    // Answered calls without their BYE's reply (nor accounting records): open until the BYE's grace runs out.
    const traffic = simulatedTraffic(40, 4242, { inProgressRate: 0, lossRate: 0, duplicateRate: 0, retransmitRate: 0, reorderRate: 0 });
    const config = loadConfig(serviceEnv(f.dir, node.prefix));
    let wallUs = Date.now() * 1000;
    const deliveries: Delivery[] = traffic.messages
      .filter((m) => { const d = decodeMessage(m.body, config.decoder); return d.ok && ['invite_request', 'invite_reply', 'bye_request'].includes(d.event.kind); })
      .map((m) => ({ body: m.body, exchange: 'opensips', routingKey: m.routingKey, headers: {}, redelivered: true, receivedAtUs: wallUs }));
    const store = await SearchStore.open(config.search!, silentLogger());
    // Two owners of one partition in turn, as Partitioned makes them: restore, then consume.
    const owner = () => new Pipeline({ correlator: config.correlator, decoder: config.decoder, store, logger: silentLogger(), wallClock: () => wallUs });
    // One message a batch, in time order: a BYE is folded with the event clock at its own time, within its grace.
    const feed = async (pipeline: Pipeline) => {
      for (const delivery of deliveries) await pipeline.handleBatch([delivery]);
    };
    const cutOff = owner();
    const next = owner();
    try {
      // The new owner holds the lock and restores: nothing open yet.
      expect(await next.restore()).toBe(0);
      // Then the cut-off owner's in-flight batch lands (or a killed owner's last bulk request, finished by the engine).
      await feed(cutOff);
      const open = await store.openCalls();
      expect(open.length).toBeGreaterThan(5);
      // The broker redelivers that batch to the new owner: every event a duplicate of a stored one.
      await feed(next);
      expect(next.correlator.openCallCount).toBe(open.length);
      wallUs += DAY_US;
      await next.sweep();
      expect(await store.openCalls()).toEqual([]);
      await node.raw.indices.refresh({ index: `${node.prefix}-*` });
      const ids = open.map((c) => c.callId);
      const cdrs = (await node.raw.search({ index: `${node.prefix}-cdrs-*`, body: { query: { terms: { call_id: ids } }, size: 1000 } })).body.hits.hits;
      expect(new Set(cdrs.map((hit: { _source?: Record<string, unknown> }) => hit._source!.call_id)).size).toBe(ids.length);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a takeover mid-stream by an instance with an empty disk, while the old one still writes, ends as exactly the expected CDRs', async () => {
    const traffic = simulatedTraffic(200, 1313, { inProgressRate: 0 });
    const config = loadConfig(serviceEnv(f.dir, node.prefix));
    let wallUs = Date.now() * 1000;
    const pipelineOn = async () => {
      const store = await SearchStore.open(config.search!, silentLogger());
      const pipeline = new Pipeline({
        correlator: config.correlator, decoder: config.decoder, store, logger: silentLogger(), sharedStore: true, wallClock: () => wallUs,
      });
      return { store, pipeline };
    };
    const deliveries: Delivery[] = traffic.messages.map((m) => ({
      body: m.body, exchange: 'opensips', routingKey: m.routingKey, headers: {}, redelivered: false, receivedAtUs: wallUs,
    }));
    const feed = async (pipeline: Pipeline, from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        const verdicts = await pipeline.handleBatch(deliveries.slice(i, Math.min(to, i + 50)));
        expect(verdicts.every((v) => v.action === 'ack')).toBe(true);
      }
    };
    const a = await pipelineOn();
    const b = await pipelineOn();
    try {
      const n = deliveries.length;
      const cut = Math.floor(n * 0.4);
      const late = Math.floor(n * 0.6);
      await feed(a.pipeline, 0, cut);
      // The broker gives the queue to B (A's connection died); B restores the open calls at its first batch.
      await feed(b.pipeline, cut, late);
      expect(b.pipeline.active).toBe(true);
      // A, cut off, still writes the batch it had in flight (B gets the same messages again) and sweeps.
      await feed(a.pipeline, late, Math.min(n, late + 50));
      wallUs += DAY_US;
      await a.pipeline.sweep();
      await feed(b.pipeline, late, n);
      await b.pipeline.sweep();
      expect(b.pipeline.correlator.openCallCount).toBe(0);
      expect(a.store.stats.staleCalls + b.store.stats.staleCalls).toBeGreaterThan(0);

      await node.raw.indices.refresh({ index: `${node.prefix}-*` });
      const hits = (await node.raw.search({ index: `${node.prefix}-cdrs-*`, body: { query: { match_all: {} }, size: 10_000 } })).body.hits.hits;
      const byCallId = new Map(hits.map((hit: { _source?: Record<string, unknown> }) => [hit._source!.call_id as string, hit._source!]));
      expect(byCallId.size).toBe(hits.length);
      for (const cdr of traffic.expected) expect(byCallId.get(cdr.call_id)).toMatchObject(cdr as unknown as Record<string, unknown>);
      // Nothing left open in the shared state.
      expect(await b.store.openCalls()).toEqual([]);
    } finally {
      await a.store.close();
      await b.store.close();
    }
  }, 120_000);
});
