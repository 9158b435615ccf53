import { Correlator } from '../../correlators/correlator';
import { cdrIdFor, type Cdr } from '../../correlators/cdr';
import type { AccFigures } from '../../correlators/events';
import { callEvent as ev, CorrelatorHarness, OPTIONS, S, T0 } from '../support/call-events';

const FAR_FUTURE = T0 + 365 * 24 * 3600 * S;

function only(h: CorrelatorHarness, callId = 'c1'): Cdr {
  const record = h.cdrs.get(callId);
  if (!record) throw new Error(`no CDR for ${callId}`);
  return record.cdr;
}

describe('Correlator: dispositions', () => {
  test('an answered call with every event gives the exact CDR and closes at once', () => {
    const h = new CorrelatorHarness();
    h.ingest([
      ev('invite_request', 'c1', T0 + 912_345),
      ev('invite_reply', 'c1', T0 + 1 * S + 48_211, { code: 180 }),
      ev('invite_reply', 'c1', T0 + 5 * S + 7_003, { code: 200 }),
      ev('bye_request', 'c1', T0 + 66 * S + 500_000, { direction: 'upstream' }),
      ev('bye_reply', 'c1', T0 + 66 * S + 501_234, { code: 200, direction: 'upstream' }),
    ], T0);
    expect(only(h)).toEqual({
      cdr_id: cdrIdFor('c1'),
      call_id: 'c1',
      caller: 'alice',
      callee: 'bob',
      disposition: 'answered',
      final_code: 200,
      invite_at: '2026-11-30T00:53:20.912345Z',
      ringing_at: '2026-11-30T00:53:21.048211Z',
      answer_at: '2026-11-30T00:53:25.007003Z',
      end_at: '2026-11-30T00:54:26.500000Z',
      pdd_us: 135_866,
      setup_us: 4_094_658,
      talk_us: 61_492_997,
      total_us: 65_587_655,
      bye_code: 200,
      hangup_by: 'callee',
      closed_by: 'bye',
      complete: true,
      events: 5,
      source: 'qbl',
    } satisfies Cdr);
    expect(h.correlator.openCallCount).toBe(0);
  });

  test.each([
    [486, 'busy'], [600, 'busy'], [408, 'no_answer'], [480, 'no_answer'], [487, 'cancelled'], [404, 'failed'], [503, 'failed'],
  ] as const)('final %i is %s, closed by the final reply, talk 0', (code, disposition) => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + 2 * S + 98_001, { code })], T0);
    const cdr = only(h);
    expect(cdr).toMatchObject({
      disposition, final_code: code, end_at: '2026-11-30T00:53:22.098001Z', setup_us: 2_098_001,
      talk_us: 0, total_us: 2_098_001, closed_by: 'final_reply', complete: true, answer_at: null, bye_code: null, hangup_by: null,
    });
  });

  test("no answer: the proxy's 408 decides, the callee's 487 a moment later is evidence only", () => {
    const h = new CorrelatorHarness();
    h.ingest([
      ev('invite_request', 'c1', T0 + 1),
      ev('invite_reply', 'c1', T0 + 2_201, { code: 180 }),
      ev('invite_reply', 'c1', T0 + 30 * S + 330_150, { code: 487 }),
      ev('invite_reply', 'c1', T0 + 30 * S + 329_880, { code: 408 }),
    ], T0);
    expect(only(h)).toMatchObject({
      disposition: 'no_answer', final_code: 408, end_at: '2026-11-30T00:53:50.329880Z', pdd_us: 2_200,
      setup_us: 30_329_879, talk_us: 0, events: 4, closed_by: 'final_reply', complete: true,
    });
  });

  test('the 487 arriving after the call closed on the 408 rewrites the same CDR, outcome unchanged', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + 30 * S, { code: 408 })], T0);
    const first = only(h);
    h.ingest([ev('invite_reply', 'c1', T0 + 30 * S + 300, { code: 487 })], T0 + 31 * S);
    expect(h.cdrWrites).toBe(2);
    expect(only(h)).toEqual({ ...first, events: 3 });
  });

  test('a 2xx before a failure in event time wins, whatever the arrival order', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_reply', 'c1', T0 + 9 * S, { code: 487 }), ev('invite_reply', 'c1', T0 + 3 * S, { code: 200 }), ev('invite_request', 'c1', T0)], T0);
    h.sweep(FAR_FUTURE);
    expect(only(h)).toMatchObject({ disposition: 'answered', final_code: 200, closed_by: 'timeout', talk_us: null, end_at: null });
  });
});

describe('Correlator: timeouts and grace', () => {
  test('no final reply within the setup timeout: unknown, closed by timeout', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + S, { code: 180 })], T0 + S);
    h.sweep(T0 + OPTIONS.setupTimeoutUs - 1);
    expect(h.cdrs.size).toBe(0);
    h.sweep(T0 + OPTIONS.setupTimeoutUs);
    expect(only(h)).toMatchObject({
      disposition: 'unknown', final_code: null, end_at: null, talk_us: 0, total_us: null, setup_us: null,
      pdd_us: S, closed_by: 'timeout', complete: false,
    });
  });

  test('answered and no BYE within the maximum call duration: talk unknown, closed by timeout', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + S, { code: 200 })], T0 + S);
    h.sweep(T0 + S + OPTIONS.maxCallDurationUs - 1);
    expect(h.cdrs.size).toBe(0);
    h.sweep(T0 + S + OPTIONS.maxCallDurationUs);
    expect(only(h)).toMatchObject({ disposition: 'answered', talk_us: null, end_at: null, total_us: null, closed_by: 'timeout', complete: false });
  });

  test('BYE without its reply waits the grace period, then closes incomplete', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + S, { code: 200 }), ev('bye_request', 'c1', T0 + 10 * S)], T0 + 10 * S);
    h.sweep(T0 + 10 * S + OPTIONS.byeGraceUs - 1);
    expect(h.cdrs.size).toBe(0);
    h.sweep(T0 + 10 * S + OPTIONS.byeGraceUs);
    expect(only(h)).toMatchObject({ talk_us: 9 * S, bye_code: null, hangup_by: 'caller', closed_by: 'bye', complete: false });
  });

  test('a BYE after the call timed out rewrites the CDR with the real end', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + S, { code: 200 })], T0 + S);
    h.sweep(FAR_FUTURE);
    expect(only(h).closed_by).toBe('timeout');
    h.ingest([ev('bye_request', 'c1', T0 + 20 * S), ev('bye_reply', 'c1', T0 + 20 * S + 5, { code: 200 })], FAR_FUTURE);
    expect(only(h)).toMatchObject({ closed_by: 'bye', talk_us: 19 * S, bye_code: 200, complete: true, events: 4 });
  });
});

describe('Correlator: disorder', () => {
  test('a BYE (and its reply) arriving before the 2xx', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('bye_request', 'c1', T0 + 10 * S), ev('bye_reply', 'c1', T0 + 10 * S + 9, { code: 200 })], T0 + 10 * S);
    expect(h.cdrs.size).toBe(0); // no 2xx yet: waits the grace for stragglers
    h.ingest([ev('invite_reply', 'c1', T0 + 2 * S, { code: 200 })], T0 + 10 * S);
    expect(only(h)).toMatchObject({ disposition: 'answered', talk_us: 8 * S, closed_by: 'bye', complete: true });
  });

  test('2xx retransmissions: the first is the answer, each is a distinct event', () => {
    const h = new CorrelatorHarness();
    h.ingest([
      ev('invite_request', 'c1', T0),
      ev('invite_reply', 'c1', T0 + 2 * S + 500_000, { code: 200 }),
      ev('invite_reply', 'c1', T0 + 2 * S, { code: 200 }),
      ev('bye_request', 'c1', T0 + 12 * S),
      ev('bye_reply', 'c1', T0 + 12 * S + 1, { code: 200 }),
    ], T0);
    expect(only(h)).toMatchObject({ answer_at: '2026-11-30T00:53:22.000000Z', talk_us: 10 * S, events: 5 });
  });

  test('exact duplicates count once and a duplicate for a closed call writes nothing', () => {
    const h = new CorrelatorHarness();
    const busy = [ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + S, { code: 486 })];
    h.ingest([...busy, ...busy], T0);
    expect(only(h).events).toBe(2);
    h.ingest([busy[1]!], T0 + 2 * S);
    expect(h.cdrWrites).toBe(1);
    expect(h.correlator.stats.duplicatesIgnored).toBe(3);
  });

  test('a call first seen from its middle keeps what it can know', () => {
    const h = new CorrelatorHarness();
    h.ingest([
      ev('invite_reply', 'c1', T0 + 5 * S, { code: 200, caller: '+5511987654321', callee: null }),
      ev('bye_request', 'c1', T0 + 65 * S, { caller: null, callee: '551133334444' }),
      ev('bye_reply', 'c1', T0 + 65 * S + 2, { code: 200 }),
    ], T0 + 65 * S);
    expect(h.cdrs.size).toBe(0); // no INVITE request: not complete, so it waits the grace
    h.sweep(T0 + 70 * S);
    expect(only(h)).toMatchObject({
      caller: '+5511987654321', callee: '551133334444', invite_at: null, setup_us: null, total_us: null,
      talk_us: 60 * S, complete: false, closed_by: 'bye',
    });
  });

  test('caller and callee come from the INVITE request even when other events carry others', () => {
    const h = new CorrelatorHarness();
    h.ingest([
      ev('invite_reply', 'c1', T0 - 1, { code: 180, caller: 'early', callee: 'early' }),
      ev('invite_request', 'c1', T0, { caller: '+55', callee: null }),
      ev('invite_reply', 'c1', T0 + 1, { code: 486, caller: 'later', callee: 'x' }),
    ], T0);
    expect(only(h)).toMatchObject({ caller: '+55', callee: 'early' });
  });
});

describe('Correlator: where a rewrite was filed before', () => {
  test('a late INVITE that moves the start tells the store where the earlier version was filed', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_reply', 'c1', T0 + 2 * S, { code: 486 })], T0 + 2 * S);
    h.sweep(FAR_FUTURE);
    expect(h.cdrs.get('c1')!.startUs).toBe(T0 + 2 * S);
    expect(h.cdrs.get('c1')!.previousStartUs).toBeUndefined();
    h.ingest([ev('invite_request', 'c1', T0)], FAR_FUTURE);
    expect(h.cdrs.get('c1')).toMatchObject({ startUs: T0, previousStartUs: T0 + 2 * S });
    h.ingest([ev('invite_reply', 'c1', T0 + 3 * S, { code: 487 })], FAR_FUTURE);
    expect(h.cdrs.get('c1')!.startUs).toBe(T0);
    expect(h.cdrs.get('c1')!.previousStartUs).toBeUndefined();
  });
});

describe('Correlator: commit semantics and restarts', () => {
  test('an open call is alreadyOpen only in steps after the one that opened it was applied', () => {
    const c = new Correlator(OPTIONS);
    const first = c.ingest([ev('invite_request', 'c1', T0)], new Map(), T0);
    expect(first.openCalls.map((call) => call.alreadyOpen)).toEqual([false]);
    // Not applied (a failed commit): the store does not hold it, so the retry writes it again.
    expect(c.ingest([ev('invite_request', 'c1', T0)], new Map(), T0).openCalls.map((call) => call.alreadyOpen)).toEqual([false]);
    first.apply();
    const second = c.ingest([ev('invite_reply', 'c1', T0 + S, { code: 180 }), ev('invite_request', 'c2', T0 + S)], new Map(), T0 + S);
    expect(second.openCalls.map(({ callId, alreadyOpen }) => [callId, alreadyOpen])).toEqual([['c1', true], ['c2', false]]);
  });

  test('nothing changes in memory until the step is applied', () => {
    const c = new Correlator(OPTIONS);
    const events = [ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + S, { code: 180 })];
    const unapplied = c.ingest(events, new Map(), T0);
    expect(c.isOpen('c1')).toBe(false);
    const retried = c.ingest(events, new Map(), T0);
    expect(retried.openCalls).toEqual(unapplied.openCalls);
    retried.apply();
    expect(c.isOpen('c1')).toBe(true);
    const sweep = c.sweep(FAR_FUTURE);
    expect(sweep.closedCallIds).toEqual(['c1']);
    expect(c.isOpen('c1')).toBe(true);
    sweep.apply();
    expect(c.isOpen('c1')).toBe(false);
  });

  test('an open call survives a restart through its stored events', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('invite_request', 'c1', T0), ev('invite_reply', 'c1', T0 + S, { code: 200 })], T0 + S);
    const restarted = h.restart();
    expect(restarted.correlator.isOpen('c1')).toBe(true);
    restarted.ingest([ev('bye_request', 'c1', T0 + 9 * S), ev('bye_reply', 'c1', T0 + 9 * S, { code: 200 })], T0 + 9 * S);
    expect(only(restarted)).toMatchObject({ talk_us: 8 * S, events: 4, complete: true });
  });
});

describe('Correlator: acc events', () => {
  const accCdr = (ms: number): AccFigures => ({ method: 'INVITE', durationS: Math.ceil(ms / 1000), durationMs: ms, setupS: 5, createdS: 1_795_999_999, sipReason: 'OK' });

  test('a call with only an E_ACC_CDR gets its CDR from acc, at acc resolution', () => {
    const h = new CorrelatorHarness();
    h.ingest([ev('acc_cdr', 'c1', T0 + 4 * S, { code: 200, direction: null, acc: accCdr(61_493) })], T0 + 4 * S);
    h.sweep(FAR_FUTURE);
    expect(only(h)).toMatchObject({
      source: 'acc', disposition: 'answered', final_code: 200, invite_at: '2026-11-30T00:53:19.000000Z',
      answer_at: '2026-11-30T00:53:24.000000Z', end_at: '2026-11-30T00:54:25.493000Z', talk_us: 61_493_000,
      setup_us: 5 * S, ringing_at: null, pdd_us: null, bye_code: null, hangup_by: null, closed_by: 'bye', events: 1,
    });
  });

  test('a missed call from acc only', () => {
    const h = new CorrelatorHarness();
    const missed: AccFigures = { method: 'INVITE', durationS: null, durationMs: null, setupS: 30, createdS: 1_796_000_020, sipReason: 'Request Timeout' };
    h.ingest([ev('acc_missed', 'c1', T0 + 50 * S, { code: 408, direction: null, acc: missed })], FAR_FUTURE);
    expect(only(h)).toMatchObject({ source: 'acc', disposition: 'no_answer', final_code: 408, talk_us: 0, setup_us: 30 * S, closed_by: 'final_reply' });
  });

  test('qbl and acc together: the qbl CDR stands, acc figures sit beside it and are compared', () => {
    const h = new CorrelatorHarness();
    const qbl = [
      ev('invite_request', 'c1', T0 - S + 912_345),
      ev('invite_reply', 'c1', T0 + 4 * S + 7_003, { code: 200 }),
      ev('bye_request', 'c1', T0 + 65 * S + 500_000),
      ev('bye_reply', 'c1', T0 + 65 * S + 501_234, { code: 200 }),
    ];
    h.ingest([ev('acc_cdr', 'c1', T0 + 4 * S, { code: 200, direction: null, acc: accCdr(61_493) }), ...qbl], T0);
    const record = h.cdrs.get('c1')!;
    expect(record.cdr).toMatchObject({ source: 'qbl', talk_us: 61_492_997, events: 5 });
    expect(record.extras).toMatchObject({ acc_duration_ms: 61_493, acc_setup_ms: 5000, acc_code: 200, acc_mismatch: false });

    const off = new CorrelatorHarness({ ...OPTIONS, accToleranceMs: 0 });
    off.ingest([ev('acc_cdr', 'c1', T0 + 4 * S, { code: 200, direction: null, acc: accCdr(63_000) }), ...qbl], T0);
    expect(off.cdrs.get('c1')!.extras.acc_mismatch).toBe(true);
  });
});
