/** The oracle's CDR for hand-written calls: every cdr.md rule and every corner case decided by the lead. */
import { cdrIdFor, formatUs, type Cdr } from '../../correlators/cdr';
import type { Direction, EventKind } from '../../correlators/events';
import type { SimEvent } from '../../src/simulator/call-model';
import { expectedCdr } from '../../src/simulator/oracle';

const S = 1_000_000;
const MS = 1000;
const T0 = 1_796_000_000 * S + 123_456;
const CALL = 'a84b4c76e66710@pc33';

interface Fields { code?: number; direction?: Direction | null; caller?: string | null; callee?: string | null }

function ev(kind: EventKind, offsetUs: number, fields: Fields = {}): SimEvent {
  return {
    kind, timeUs: T0 + offsetUs, replyCode: fields.code ?? null,
    direction: fields.direction === undefined ? (kind === 'invite_reply' ? 'upstream' : 'downstream') : fields.direction,
    caller: fields.caller === undefined ? 'alice' : fields.caller,
    callee: fields.callee === undefined ? 'bob' : fields.callee,
    accParams: null,
  };
}
const reply = (offsetUs: number, code: number, fields: Fields = {}) => ev('invite_reply', offsetUs, { ...fields, code });
const byeReply = (offsetUs: number, code: number) => ev('bye_reply', offsetUs, { code, direction: 'upstream' });
const at = (offsetUs: number) => formatUs(T0 + offsetUs);

function cdr(events: SimEvent[]): Cdr {
  const result = expectedCdr(CALL, events);
  if (!result) throw new Error('no CDR');
  return result;
}

const answeredCall = (): SimEvent[] => [
  ev('invite_request', 0),
  reply(10 * MS, 100),
  reply(2 * S, 180),
  reply(5 * S, 200),
  reply(5 * S + 500 * MS, 200), // a retransmission: a distinct event, not the answer
  ev('bye_request', 65 * S, { direction: 'downstream' }),
  byeReply(65 * S + 20 * MS, 200),
];

describe('answered calls', () => {
  test('a complete call: every field, exactly', () => {
    expect(cdr(answeredCall())).toEqual({
      cdr_id: cdrIdFor(CALL), call_id: CALL, caller: 'alice', callee: 'bob', disposition: 'answered', final_code: 200,
      invite_at: at(0), ringing_at: at(2 * S), answer_at: at(5 * S), end_at: at(65 * S),
      pdd_us: 2 * S, setup_us: 5 * S, talk_us: 60 * S, total_us: 65 * S, bye_code: 200, hangup_by: 'caller',
      closed_by: 'bye', complete: true, events: 7, source: 'qbl',
    });
    expect(cdr(answeredCall()).invite_at).toBe('2026-11-30T00:53:20.123456Z');
  });

  test('a BYE sent upstream was the callee hanging up', () => {
    const events = answeredCall().map((e) => (e.kind === 'bye_request' ? { ...e, direction: 'upstream' as const } : e));
    expect(cdr(events).hangup_by).toBe('callee');
  });

  test('a BYE without a direction says nothing about who hung up', () => {
    const events = answeredCall().map((e) => (e.kind === 'bye_request' ? { ...e, direction: null } : e));
    expect(cdr(events).hangup_by).toBeNull();
  });

  test('no BYE: closed by timeout, talk time unknown, incomplete', () => {
    const result = cdr(answeredCall().filter((e) => !e.kind.startsWith('bye')));
    expect(result).toMatchObject({
      disposition: 'answered', closed_by: 'timeout', end_at: null, talk_us: null, total_us: null,
      bye_code: null, hangup_by: null, complete: false, setup_us: 5 * S, events: 5,
    });
  });

  test('a BYE without its reply: closed by the BYE, talk time known, incomplete', () => {
    const result = cdr(answeredCall().filter((e) => e.kind !== 'bye_reply'));
    expect(result).toMatchObject({ closed_by: 'bye', talk_us: 60 * S, end_at: at(65 * S), bye_code: null, complete: false });
  });

  test('a provisional BYE reply is not a final one', () => {
    const result = cdr([...answeredCall().filter((e) => e.kind !== 'bye_reply'), byeReply(65 * S + 5 * MS, 100)]);
    expect(result).toMatchObject({ bye_code: null, complete: false, events: 7 });
  });

  test('a retransmitted BYE: the first one ends the call; both are events', () => {
    const result = cdr([...answeredCall(), ev('bye_request', 65 * S + 500 * MS, { direction: 'upstream' })]);
    expect(result).toMatchObject({ end_at: at(65 * S), talk_us: 60 * S, hangup_by: 'caller', events: 8 });
  });

  test('a 2xx retransmission does not move the answer, even when it arrives first', () => {
    const events = answeredCall();
    expect(cdr([events[4]!, ...events]).answer_at).toBe(at(5 * S));
  });

  test('the earliest BYE reply ≥ 200 is the BYE code; at the same time, the lower code', () => {
    expect(cdr([...answeredCall(), byeReply(66 * S, 481)]).bye_code).toBe(200);
    expect(cdr([...answeredCall(), byeReply(65 * S + 20 * MS, 481)]).bye_code).toBe(200);
    expect(cdr([...answeredCall().filter((e) => e.kind !== 'bye_reply'), byeReply(65 * S + 20 * MS, 481)]).bye_code).toBe(481);
  });

  test('a BYE stamped before the answer (clock skew) gives zero talk time, never negative', () => {
    const events = [ev('invite_request', 0), reply(5 * S, 200), ev('bye_request', 4 * S), byeReply(4 * S + 10, 200)];
    expect(cdr(events)).toMatchObject({ talk_us: 0, end_at: at(4 * S), total_us: 4 * S, closed_by: 'bye' });
  });

  test('a 2xx decides the call even after an earlier failure reply', () => {
    const result = cdr([ev('invite_request', 0), reply(3 * S, 486), reply(4 * S, 200)]);
    expect(result).toMatchObject({ disposition: 'answered', final_code: 200, answer_at: at(4 * S), setup_us: 4 * S, closed_by: 'timeout' });
  });

  test('any 2xx answers the call', () => {
    expect(cdr([ev('invite_request', 0), reply(S, 202)])).toMatchObject({ disposition: 'answered', final_code: 202 });
  });
});

describe('unanswered calls', () => {
  test.each([
    [486, 'busy'], [600, 'busy'], [408, 'no_answer'], [480, 'no_answer'], [487, 'cancelled'],
    [404, 'failed'], [403, 'failed'], [503, 'failed'], [603, 'failed'], [300, 'failed'],
  ])('final %i is %s', (code, disposition) => {
    const result = cdr([ev('invite_request', 0), reply(100 * MS, 100), reply(3 * S, code)]);
    expect(result).toMatchObject({
      disposition, final_code: code, end_at: at(3 * S), setup_us: 3 * S, total_us: 3 * S, talk_us: 0,
      answer_at: null, closed_by: 'final_reply', complete: true, bye_code: null, hangup_by: null, events: 3,
    });
  });

  test("no answer: the proxy's 408 decides; the callee's 487 a moment later is evidence", () => {
    const result = cdr([ev('invite_request', 0), reply(2 * S, 180), reply(32 * S, 408), reply(32 * S + 300, 487)]);
    expect(result).toMatchObject({
      disposition: 'no_answer', final_code: 408, end_at: at(32 * S), setup_us: 32 * S, pdd_us: 2 * S,
      closed_by: 'final_reply', complete: true, events: 4,
    });
  });

  test('finals at the same microsecond: the lower code decides', () => {
    expect(cdr([ev('invite_request', 0), reply(S, 487), reply(S, 408)]).final_code).toBe(408);
  });

  test('no final reply: unknown, closed by timeout, talk time 0', () => {
    expect(cdr([ev('invite_request', 0), reply(2 * S, 183)])).toMatchObject({
      disposition: 'unknown', final_code: null, end_at: null, setup_us: null, total_us: null, talk_us: 0,
      ringing_at: at(2 * S), pdd_us: 2 * S, closed_by: 'timeout', complete: false,
    });
  });

  test('no final but a BYE: closed by the BYE; who hung up is known', () => {
    expect(cdr([ev('invite_request', 0), ev('bye_request', 9 * S, { direction: 'upstream' }), byeReply(9 * S + 1, 200)])).toMatchObject({
      disposition: 'unknown', closed_by: 'bye', end_at: null, talk_us: 0, hangup_by: 'callee', bye_code: 200, complete: false,
    });
  });

  test('a final failure and a BYE: closed by the final reply', () => {
    expect(cdr([ev('invite_request', 0), reply(S, 486), ev('bye_request', 2 * S)]).closed_by).toBe('final_reply');
  });

  test('a final without the INVITE request is incomplete', () => {
    expect(cdr([reply(S, 486)])).toMatchObject({ disposition: 'busy', invite_at: null, setup_us: null, total_us: null, complete: false });
  });
});

describe('ringing', () => {
  test('the earliest 180 or 183; a 100 is not ringing', () => {
    const result = cdr([ev('invite_request', 0), reply(10 * MS, 100), reply(3 * S, 180), reply(2 * S, 183), reply(9 * S, 487)]);
    expect(result).toMatchObject({ ringing_at: at(2 * S), pdd_us: 2 * S });
    expect(cdr([ev('invite_request', 0), reply(10 * MS, 100), reply(S, 404)])).toMatchObject({ ringing_at: null, pdd_us: null });
  });
});

describe('caller and callee', () => {
  test('from the INVITE request, even when a reply carries others earlier', () => {
    const result = cdr([reply(-1, 486, { caller: 'x', callee: 'y' }), ev('invite_request', 0, { caller: '+5511999990000', callee: '0211234' })]);
    expect(result).toMatchObject({ caller: '+5511999990000', callee: '0211234' });
  });

  test('each field separately: a null on the INVITE request is taken from the earliest event carrying one', () => {
    const result = cdr([
      ev('invite_request', 0, { caller: 'alice', callee: null }),
      reply(3 * S, 486, { caller: 'other', callee: 'bob' }),
      reply(5 * S, 487, { caller: 'other', callee: 'late' }),
    ]);
    expect(result).toMatchObject({ caller: 'alice', callee: 'bob' });
  });

  test('without the INVITE request: the earliest event by time, then invite_request, invite_reply, bye_request, bye_reply', () => {
    const events = [
      byeReply(10 * S, 200),
      ev('bye_request', 10 * S, { caller: 'from-bye', callee: 'to-bye' }),
      reply(10 * S, 200, { caller: 'from-reply', callee: null }),
      ev('bye_request', 11 * S, { caller: 'later', callee: 'later-callee' }),
    ];
    expect(cdr(events)).toMatchObject({ caller: 'from-reply', callee: 'to-bye' });
  });

  test('nobody carries them: null', () => {
    expect(cdr([reply(S, 486, { caller: null, callee: null })])).toMatchObject({ caller: null, callee: null });
  });
});

describe('events', () => {
  test('exact duplicates count once, retransmissions and acc events count', () => {
    const events = answeredCall();
    const acc: SimEvent = {
      kind: 'acc_cdr', timeUs: T0 + 66 * S, replyCode: null, direction: null, caller: null, callee: null,
      accParams: [['method', 'INVITE'], ['callid', CALL], ['sip_code', '200'], ['duration', 60]],
    };
    const result = cdr([...events, ...events.map((e) => ({ ...e })), acc, { ...acc }]);
    expect(result.events).toBe(8);
    const { events: _count, ...fields } = result;
    const { events: _plain, ...plainFields } = cdr(events);
    expect(fields).toEqual(plainFields);
  });

  test('no quick-billing-log event: no CDR is predicted', () => {
    expect(expectedCdr(CALL, [])).toBeNull();
    expect(expectedCdr(CALL, [{
      kind: 'acc_missed', timeUs: T0, replyCode: null, direction: null, caller: null, callee: null, accParams: [['sip_code', '486']],
    }])).toBeNull();
  });
});
