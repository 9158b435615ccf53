/** One class per carrier row, with its figures and reason. */
import { cdrIdFor, type Cdr } from '../../correlators/cdr';
import type { CarrierRow } from '../../src/disputes/carrier-row';
import { classifyNotBilled, classifyRow, type OurCall } from '../../src/disputes/classify';
import { parseIncrement } from '../../src/disputes/increment';

const S = 1_000_000;
const settings = { increment: parseIncrement('60/6')!, toleranceUs: S };

function row(durationS: number, billedS: number | null, extra: Partial<CarrierRow> = {}): CarrierRow {
  return {
    row: 7, start: { localUs: 0, offsetUs: null }, caller: { raw: '5511987654321', digits: '5511987654321' }, callee: { raw: '551133334444', digits: '551133334444' },
    durationUs: durationS * S, billedUs: billedS === null ? null : billedS * S, rateMicro: 12_000, costMicro: null, ...extra,
  };
}

function call(talkS: number | null, disposition: Cdr['disposition'] = 'answered'): OurCall {
  const cdr = {
    cdr_id: cdrIdFor('c@h'), call_id: 'c@h', caller: '+5511987654321', callee: '+551133334444', disposition, final_code: disposition === 'answered' ? 200 : 486,
    invite_at: '2026-11-27T13:05:00.000000Z', ringing_at: null, answer_at: null, end_at: null, pdd_us: null, setup_us: null,
    talk_us: talkS === null ? null : Math.round(talkS * S), total_us: null, bye_code: null, hangup_by: null, closed_by: 'bye', complete: true, events: 4, source: 'qbl',
  } as Cdr;
  return { cdr, matchUs: 1_795_000_000 * S };
}

const classOf = (r: CarrierRow, c: OurCall) => classifyRow(r, 1_795_000_000 * S, { kind: 'pair', call: c }, settings).record;

describe('classifyRow', () => {
  it('match: our talk at their increment is their billed time', () => {
    expect(classOf(row(61, 66), call(60.2))).toMatchObject({ class: 'match', our_billed_s: 66, carrier_billed_s: 66, delta_billed_s: 0, delta_cost: 0 });
  });

  it('within_tolerance: billed differs but raw durations are within the tolerance', () => {
    expect(classOf(row(60, 60), call(60.5))).toMatchObject({ class: 'within_tolerance', our_billed_s: 66, delta_billed_s: -6 });
  });

  it('overbilled, with money, and a hint for hung calls', () => {
    const r = classOf(row(3700, 3702), call(61));
    expect(r).toMatchObject({ class: 'overbilled', our_talk_s: 61, our_billed_s: 66, delta_billed_s: 3636 });
    expect(r.delta_cost).toBeCloseTo(0.7272, 6);
    expect(r.reason).toMatch(/hung call/);
  });

  it('underbilled', () => {
    expect(classOf(row(100, 102), call(200))).toMatchObject({ class: 'underbilled', delta_billed_s: -102 });
  });

  it('not_answered when billed, match when they bill nothing either', () => {
    expect(classOf(row(30, 60), call(0, 'busy'))).toMatchObject({ class: 'not_answered', our_talk_s: 0, our_billed_s: 0, delta_billed_s: 60 });
    expect(classOf(row(0, 0), call(0, 'busy'))).toMatchObject({ class: 'match' });
  });

  it('no billed column: their duration at the increment', () => {
    expect(classOf(row(61, null), call(61))).toMatchObject({ class: 'match', carrier_billed_s: 66 });
  });

  it('unknown_call and duplicate bill what we do not owe', () => {
    expect(classifyRow(row(45, 60), 0, { kind: 'unknown' }, settings).record).toMatchObject({ class: 'unknown_call', cdr_id: null, our_billed_s: 0, delta_billed_s: 60 });
    expect(classifyRow(row(45, 60), 0, { kind: 'duplicate', of: call(45) }, settings).record).toMatchObject({ class: 'duplicate', call_id: 'c@h', our_billed_s: 0 });
  });

  it('a cost column gives the rate; our cost is at that rate', () => {
    const r = classOf(row(120, 120, { rateMicro: null, costMicro: 24_000 }), call(60));
    expect(r).toMatchObject({ class: 'overbilled', carrier_cost: 0.024, our_cost: 0.012, delta_cost: 0.012 });
  });

  it('an answered call without a BYE cannot be disputed', () => {
    expect(classOf(row(100, 102), call(null))).toMatchObject({ class: 'within_tolerance', our_billed_s: null, delta_billed_s: null });
  });
});

describe('classifyNotBilled', () => {
  it('our answered call that no row bills', () => {
    expect(classifyNotBilled(call(61), settings).record).toMatchObject({ row: null, class: 'not_billed', our_billed_s: 66, delta_billed_s: -66, carrier_start: null });
  });
});
