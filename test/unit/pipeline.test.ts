/**
 * The pipeline (decode → correlate → commit → verdicts) against an in-memory CallStore that can be
 * told to fail or to refuse events: no broker, no database. The consumer's side of the contract
 * (retrying a rejected promise, dead-lettering the verdicts) is tested in amqp-attempts.test.ts.
 */
import pino from 'pino';
import type { Delivery, Verdict } from '../../consumers/batch-handler';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { CallEvent } from '../../correlators/events';
import type { CdrRecord } from '../../correlators/cdr';
import { StoreUnavailableError } from '../../src/errors';
import { Pipeline } from '../../src/pipeline/pipeline';
import type { CallStore, CommitBatch, CommitResult, OpenCall, StoredEvent } from '../../src/stores/store';
import { OPTIONS, S } from '../support/call-events';
import { EXPECTED_SAMPLE_CDRS, readSamples } from '../support/samples';

/** A CallStore in memory; `failNext` and `refuse` make it behave like a store that is down or picky. */
class FakeStore implements CallStore {
  readonly events = new Map<string, StoredEvent>();
  readonly open = new Map<string, number>();
  readonly cdrs = new Map<string, CdrRecord>();
  readonly commits: CommitBatch[] = [];
  cdrWrites = 0;
  failNext?: Error;
  refuse?: (stored: StoredEvent) => string | undefined;

  async commit(batch: CommitBatch): Promise<CommitResult> {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    const rejectedEvents = new Map<string, string>();
    for (const stored of batch.events) {
      const reason = this.refuse?.(stored);
      if (reason === undefined) this.events.set(stored.event.id, stored);
      else rejectedEvents.set(stored.event.id, reason);
    }
    for (const record of batch.cdrs) {
      this.cdrs.set(record.cdr.call_id, record);
      this.cdrWrites += 1;
    }
    for (const call of batch.openCalls) this.open.set(call.callId, call.deadlineUs);
    for (const callId of batch.closedCallIds) this.open.delete(callId);
    this.commits.push(batch);
    return { rejectedEvents };
  }

  async eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    const wanted = new Set(callIds);
    const out = new Map<string, CallEvent[]>();
    for (const { event } of this.events.values()) {
      if (!wanted.has(event.callId)) continue;
      out.set(event.callId, [...(out.get(event.callId) ?? []), event].sort((a, b) => a.timeUs - b.timeUs));
    }
    return out;
  }

  async openCalls(): Promise<OpenCall[]> {
    return [...this.open].map(([callId, deadlineUs]) => ({ callId, deadlineUs }));
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

const SAMPLES = readSamples();
const ANSWERED = EXPECTED_SAMPLE_CDRS[0]!;
/** The samples' last event is at 1796000065.501234 s; the wall clock runs a minute behind it. */
const WALL_US = 1_796_000_000 * S;

const deliveries = (messages = SAMPLES): Delivery[] => messages.map((m) => ({
  body: m.body, exchange: 'opensips', routingKey: m.routingKey, headers: {}, redelivered: false, receivedAtUs: WALL_US,
}));

function pipeline(store: CallStore, wall = { us: WALL_US }, onCommitted?: (cdrs: readonly CdrRecord[]) => void): Pipeline {
  return new Pipeline({
    correlator: { ...OPTIONS, maxClockSkewUs: 300 * S }, decoder: DEFAULT_DECODER_OPTIONS, store,
    logger: pino({ level: 'silent' }), wallClock: () => wall.us, onCommitted,
  });
}

const actions = (verdicts: readonly Verdict[]) => verdicts.map((v) => (v.action === 'ack' ? 'ack' : v.reason));

describe('Pipeline against a fake store', () => {
  it('commits a batch\'s events, open calls and closed CDRs in one commit, and acks every decoded delivery', async () => {
    const store = new FakeStore();
    const p = pipeline(store);
    const verdicts = await p.handleBatch(deliveries());
    expect(actions(verdicts)).toEqual(SAMPLES.map(() => 'ack'));
    expect(store.commits).toHaveLength(1);
    expect(store.events.size).toBe(SAMPLES.length);
    // Every sample call is over within the batch (the answered one has its BYE reply and its acc CDR).
    expect([...store.cdrs.values()].map((record) => record.cdr)).toEqual(expect.arrayContaining(EXPECTED_SAMPLE_CDRS));
    expect(store.cdrs.size).toBe(EXPECTED_SAMPLE_CDRS.length);
    expect(store.open.size).toBe(0);
    expect(p.stats).toMatchObject({ batches: 1, messages: SAMPLES.length, commits: 1 });
  });

  it('a failed commit changes nothing in memory; the same batch tried again is committed once', async () => {
    const store = new FakeStore();
    const p = pipeline(store);
    store.failNext = new StoreUnavailableError('database is locked');
    await expect(p.handleBatch(deliveries())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(p.correlator.openCallCount).toBe(0);
    expect(p.stats).toMatchObject({ batches: 0, commits: 0 });

    await p.handleBatch(deliveries());
    expect(store.commits).toHaveLength(1);
    expect(store.cdrWrites).toBe(EXPECTED_SAMPLE_CDRS.length);
    // The retried batch's calls were judged as new: no event counted twice in a CDR.
    expect([...store.cdrs.values()].map((record) => record.cdr)).toEqual(expect.arrayContaining(EXPECTED_SAMPLE_CDRS));
    expect(p.stats).toMatchObject({ batches: 1, commits: 1, messages: SAMPLES.length });
  });

  it('undecodable messages and events the store refuses come back as dead-letter verdicts with their reasons', async () => {
    const store = new FakeStore();
    store.refuse = (stored) => (stored.routingKey === 'opensips.acc' ? 'mapper_parsing_exception: acc_code' : undefined);
    const p = pipeline(store);
    const batch = [...deliveries(), { ...deliveries()[0]!, body: Buffer.from('{"not": "an event"') }];
    const verdicts = await p.handleBatch(batch);
    const expected = [...SAMPLES.map((m) => (m.routingKey === 'opensips.acc' ? 'store.rejected' : 'ack')), 'decode.not_json'];
    expect(actions(verdicts)).toEqual(expected);
    const refused = verdicts.find((v): v is Extract<Verdict, { action: 'dead-letter' }> => v.action === 'dead-letter' && v.reason === 'store.rejected');
    expect(refused).toEqual({ action: 'dead-letter', reason: 'store.rejected', detail: 'mapper_parsing_exception: acc_code', stage: 'store' });
    expect(verdicts[verdicts.length - 1]).toMatchObject({ stage: 'decode' });
    expect(p.stats.rejectedByReason).toEqual({ 'store.rejected': 2, 'decode.not_json': 1 });
  });

  it('onCommitted (the number lookup\'s feed) gets each commit\'s CDRs as written, after the commit; never a failed commit\'s', async () => {
    const store = new FakeStore();
    const committed: Array<readonly CdrRecord[]> = [];
    const p = pipeline(store, undefined, (cdrs) => committed.push(cdrs));
    await p.handleBatch(deliveries(SAMPLES.slice(0, 3)));
    expect(committed).toEqual([]); // the answered call is still open: no CDR yet

    store.failNext = new StoreUnavailableError('database is locked');
    await expect(p.handleBatch(deliveries(SAMPLES.slice(3)))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(committed).toEqual([]);

    await p.handleBatch(deliveries(SAMPLES.slice(3)));
    expect(committed).toHaveLength(1);
    expect(committed[0]).toEqual(store.commits[store.commits.length - 1]!.cdrs);
    expect(committed[0]!.map((record) => record.cdr)).toEqual(expect.arrayContaining(EXPECTED_SAMPLE_CDRS));
  });

  it('restore() puts the open calls back, and the event clock where their events left it', async () => {
    const store = new FakeStore();
    const first = pipeline(store);
    const answeredStart = SAMPLES.slice(0, 3); // INVITE, 180 and 200 of the answered call
    await first.handleBatch(deliveries(answeredStart));
    expect([...store.open.keys()]).toEqual([ANSWERED.call_id]);

    // A restart an hour later: a new pipeline on the same store.
    const wall = { us: WALL_US + 3600 * S };
    const second = pipeline(store, wall);
    expect(await second.restore()).toBe(1);
    expect(second.correlator.isOpen(ANSWERED.call_id)).toBe(true);
    const answeredAtUs = 1_796_000_004 * S + 7003;
    expect(second.eventClockUs()).toBe(answeredAtUs); // the last stored event, not the wall clock
    expect(second.oldestOpenCallAgeS()).toBeCloseTo((answeredAtUs - (1_795_999_999 * S + 912_345)) / S, 6);

    // The rest of the call arrives; once the BYE grace has passed on the event clock, its CDR is the expected one.
    await second.handleBatch(deliveries(SAMPLES.slice(3, 6)));
    wall.us += 10 * S;
    await second.sweep();
    expect(store.cdrs.get(ANSWERED.call_id)!.cdr).toEqual(ANSWERED);
    expect(second.correlator.openCallCount).toBe(0);
    expect(second.oldestOpenCallAgeS()).toBe(0);
  });
});

describe('Pipeline on a store shared by several instances (docs/scaling.md)', () => {
  function shared(store: CallStore, wall = { us: WALL_US }): Pipeline {
    return new Pipeline({
      correlator: { ...OPTIONS, maxClockSkewUs: 300 * S }, decoder: DEFAULT_DECODER_OPTIONS, store,
      logger: pino({ level: 'silent' }), wallClock: () => wall.us, sharedStore: true,
    });
  }

  it('a standby holds and sweeps nothing; its first batch restores the open calls; losing the queue drops them', async () => {
    const store = new FakeStore();
    const reads = jest.spyOn(store, 'openCalls');
    const first = shared(store);
    // Only the INVITE of the answered call: it stays open in the store.
    await first.handleBatch(deliveries(SAMPLES.slice(0, 1)));
    expect(store.open.size).toBe(1);

    const standby = shared(store, { us: WALL_US + 3600 * S });
    expect(standby.active).toBe(false);
    await standby.sweep();
    expect(store.commits).toHaveLength(1);
    expect(reads).toHaveBeenCalledTimes(1);

    await standby.handleBatch(deliveries(SAMPLES.slice(1, 2)));
    expect(standby.active).toBe(true);
    expect(reads).toHaveBeenCalledTimes(2);
    expect(standby.correlator.isOpen([...store.open.keys()][0]!)).toBe(true);

    await standby.deactivate();
    expect(standby.active).toBe(false);
    expect(standby.correlator.openCallCount).toBe(0);
  });

  it('a call the store says is ahead of this writer is taken as stored and folded again', async () => {
    const store = new FakeStore();
    const p = shared(store);
    await p.handleBatch(deliveries(SAMPLES.slice(0, 1)));
    const callId = [...store.open.keys()][0]!;
    // Another instance stored an event of that call that this one never saw.
    const foreign = { ...store.events.values().next().value!, event: { ...store.events.values().next().value!.event, id: 'foreign', timeUs: WALL_US - 5 * S } };
    const commit = store.commit.bind(store);
    let staleOnce = true;
    jest.spyOn(store, 'commit').mockImplementation(async (batch) => {
      if (staleOnce && batch.eventCounts?.has(callId)) {
        staleOnce = false;
        store.events.set('foreign', foreign);
        return { rejectedEvents: new Map(), staleCalls: new Map([[callId, { events: [...store.events.values()].filter((s) => s.event.callId === callId).map((s) => s.event), open: true }]]) };
      }
      return commit(batch);
    });
    await p.handleBatch(deliveries(SAMPLES.slice(1, 2)));
    const last = store.commits[store.commits.length - 1]!;
    // Folded again: the INVITE, the foreign event and this batch's event.
    expect(last.eventCounts?.get(callId)).toBe(3);
  });

  it('a call still stale after every refold is forgotten, so the retried batch folds its events again from the store', async () => {
    const store = new FakeStore();
    const p = shared(store);
    await p.handleBatch(deliveries(SAMPLES.slice(0, 1)));
    const callId = [...store.open.keys()][0]!;
    const commit = store.commit.bind(store);
    let racing = true;
    // Another writer keeps moving the call: every commit of it is stale, and nothing of it is written.
    jest.spyOn(store, 'commit').mockImplementation(async (batch) => {
      if (racing && batch.eventCounts?.has(callId)) {
        const events = [...store.events.values()].filter((s) => s.event.callId === callId).map((s) => s.event);
        return { rejectedEvents: new Map(), staleCalls: new Map([[callId, { events, open: true }]]) };
      }
      return commit(batch);
    });
    const batch = deliveries(SAMPLES.slice(1, 2));
    const verdicts = await p.handleBatch(batch).catch((error: unknown) => error);
    expect(verdicts).toBeInstanceOf(StoreUnavailableError);
    // The retry (the batch was not acked) once the race is over: this batch's event reaches the store.
    racing = false;
    await p.handleBatch(batch);
    const last = store.commits[store.commits.length - 1]!;
    expect(last.eventCounts?.get(callId)).toBe(2);
    expect([...store.events.values()].filter((s) => s.event.callId === callId)).toHaveLength(2);
  });
});
