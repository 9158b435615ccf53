/** The lookup's rules, figures and block list, driven with explicit calls and times. */
import type { BlockEntry } from '../../src/lookup/blocklist';
import { callHashOf, type CallFact } from '../../src/lookup/facts';
import { answerJson } from '../../src/lookup/answer-json';
import { LookupState } from '../../src/lookup/lookup-state';
import { DEFAULT_RULES, type LookupRules } from '../../src/lookup/rules';
import { DEFAULT_DIAL_PLAN } from '../../src/numbers/dial-plan';

const NOW_MS = Date.parse('2026-11-27T12:00:00Z');
const NOW_S = NOW_MS / 1000;
const LIMITS = { maxNumbers: 10_000, maxPairs: 10_000 };
const PLAN = { ...DEFAULT_DIAL_PLAN, defaultCountry: 'BR' as const };

let nextCall = 1;
function call(callee: string, startS: number, code: number | null, extra: Partial<CallFact> = {}): CallFact {
  const id = (nextCall++).toString(16).padStart(8, '0');
  return { callHash: callHashOf(id), callee, caller: '+5511987650000', startS, finalCode: code, answered: code !== null && code >= 200 && code < 300, talkMs: code === 200 ? 60_000 : 0, ...extra };
}

function state(rules: Partial<LookupRules> = {}): LookupState {
  return new LookupState({ ...DEFAULT_RULES, ...rules }, LIMITS, PLAN);
}

const INVALID = '+5511912340001';
const GOOD = '+5511912340002';

describe('invalid_number', () => {
  test('the last three calls ended 404/484 within 7 days: warn by default, with the figures behind it', () => {
    const s = state();
    s.ingest([call(INVALID, NOW_S - 5 * 86_400, 404), call(INVALID, NOW_S - 3600, 484), call(INVALID, NOW_S - 60, 404)]);
    const answer = s.answer(INVALID, undefined, NOW_MS);
    expect(answer).toMatchObject({ e164: INVALID, verdict: 'warn', reasons: ['invalid_number'], burst: null, blocklist: null });
    expect(answer.figures).toEqual({ window_days: 7, calls: 3, answered: 0, invalid: 3, last_final_code: 404, last_seen: '2026-11-27T11:59:00.000000Z' });
  });

  test('two invalid calls are not enough; a 486 in between breaks the run; an answer since clears it', () => {
    const s = state();
    s.ingest([call('+5511912340011', NOW_S - 100, 404), call('+5511912340011', NOW_S - 50, 404)]);
    s.ingest([call('+5511912340012', NOW_S - 300, 404), call('+5511912340012', NOW_S - 200, 486), call('+5511912340012', NOW_S - 100, 404), call('+5511912340012', NOW_S - 50, 404)]);
    s.ingest([call('+5511912340013', NOW_S - 300, 404), call('+5511912340013', NOW_S - 200, 404), call('+5511912340013', NOW_S - 150, 404), call('+5511912340013', NOW_S - 100, 200)]);
    for (const number of ['+5511912340011', '+5511912340012', '+5511912340013']) expect(s.answer(number, undefined, NOW_MS).reasons).toEqual([]);
  });

  test('an answered call that started before the run does not clear it, even when its CDR arrives last', () => {
    const s = state();
    s.ingest([call(INVALID, NOW_S - 400, 404), call(INVALID, NOW_S - 300, 404), call(INVALID, NOW_S - 200, 410)]);
    s.ingest([call(INVALID, NOW_S - 1000, 200)]);
    expect(s.answer(INVALID, undefined, NOW_MS).reasons).toEqual(['invalid_number']);
  });

  test('a run that started more than the window ago does not count', () => {
    const s = state();
    s.ingest([call(INVALID, NOW_S - 8 * 86_400, 404), call(INVALID, NOW_S - 100, 404), call(INVALID, NOW_S - 50, 404)]);
    expect(s.answer(INVALID, undefined, NOW_MS).reasons).toEqual([]);
  });

  test('the same CDR written twice (a rewrite, a replay) counts once', () => {
    const s = state();
    const twice = call(INVALID, NOW_S - 100, 404);
    s.ingest([call(INVALID, NOW_S - 300, 404), twice, twice, { ...twice, finalCode: 404 }]);
    const answer = s.answer(INVALID, undefined, NOW_MS);
    expect(answer.reasons).toEqual([]);
    expect(answer.figures.calls).toBe(2);
  });

  test('any dialled form of the number finds the same figures', () => {
    const s = state();
    s.ingest([call(INVALID, NOW_S - 300, 404), call(INVALID, NOW_S - 200, 404), call(INVALID, NOW_S - 100, 404)]);
    for (const dialled of ['005511912340001', '(11) 91234-0001', 'sip:+5511912340001@example.net']) {
      expect(s.answer(dialled, undefined, NOW_MS)).toMatchObject({ e164: INVALID, reasons: ['invalid_number'] });
    }
  });
});

describe('malformed', () => {
  test.each([
    ['alice', 'letters'],
    ['*21#', 'a feature code'],
    ['+999123456789', '+999123456789 has no country'],
    ['0099912345678', 'exit code then no valid number'],
    ['11 12345', 'national, too short for BR but longer than a short code'],
  ])('%s is malformed (%s)', (number, _why) => {
    expect(state().answer(number, undefined, NOW_MS)).toMatchObject({ e164: null, verdict: 'warn', reasons: ['malformed'] });
  });

  test('short codes and valid numbers are not', () => {
    for (const number of ['112', '190', '1234', GOOD, '011 91234-0002']) expect(state().answer(number, undefined, NOW_MS).reasons).toEqual([]);
  });

  test('without a default country a national number is unknown, not malformed', () => {
    const s = new LookupState(DEFAULT_RULES, LIMITS, DEFAULT_DIAL_PLAN);
    expect(s.answer('(11) 91234-0002', undefined, NOW_MS)).toMatchObject({ e164: null, verdict: 'allow', reasons: [] });
  });
});

function entry(pattern: string, extra: Partial<BlockEntry> = {}): BlockEntry {
  return { entry: pattern, reason: `because ${pattern}`, createdAtUs: 1, expiresAtUs: null, updatedAtUs: 1, removed: false, ...extra };
}

describe('blocklisted', () => {
  test('by number, then by the longest prefix', () => {
    const s = state();
    s.applyBlocklist([entry('+88213*'), entry('+8821*', { reason: 'shorter' }), entry(GOOD)]);
    expect(s.answer(GOOD, undefined, NOW_MS)).toMatchObject({ verdict: 'block', reasons: ['blocklisted'], blocklist: { entry: GOOD, expires_at: null } });
    expect(s.answer('+882130000001', undefined, NOW_MS).blocklist).toMatchObject({ entry: '+88213*', reason: 'because +88213*' });
    expect(s.answer('+882140000001', undefined, NOW_MS).blocklist).toMatchObject({ entry: '+8821*', reason: 'shorter' });
    expect(s.answer('+88220000001', undefined, NOW_MS).blocklist).toBeNull();
  });

  test('an expired entry no longer matches and a shorter prefix takes over; a tombstone removes', () => {
    const s = state();
    const expiresAtUs = (NOW_MS - 1) * 1000;
    s.applyBlocklist([entry('+88213*', { expiresAtUs }), entry('+882*'), entry(GOOD)]);
    expect(s.answer('+882130000001', undefined, NOW_MS).blocklist?.entry).toBe('+882*');
    s.applyBlocklist([entry(GOOD, { removed: true, updatedAtUs: 2 })]);
    expect(s.answer(GOOD, undefined, NOW_MS).verdict).toBe('allow');
    // An older version read again (an overlapping poll) does not undo the removal.
    s.applyBlocklist([entry('+882*', { updatedAtUs: 5, removed: true }), entry('+882*', { updatedAtUs: 4 })]);
    expect(s.answer('+882130000001', undefined, NOW_MS).blocklist).toBeNull();
  });
});

describe('fraud_burst', () => {
  const CALLER = '+5511900000001';
  const burst = (count: number, talkMs: number, answered: boolean, stepS = 30): CallFact[] =>
    Array.from({ length: count }, (_, i) => call(`+3712912${String(i).padStart(4, '0')}`, NOW_S - 540 + i * stepS / 10, answered ? 200 : 487,
      { caller: CALLER, answered, talkMs }));

  test('eleven short calls from one caller to one prefix in ten minutes: block', () => {
    const s = state();
    s.ingest(burst(11, 3_000, true));
    const answer = s.answer('+37129129999', CALLER, NOW_MS);
    expect(answer).toMatchObject({ verdict: 'block', reasons: ['fraud_burst'] });
    expect(answer.burst).toEqual({ caller: CALLER, prefix: '+371291', window_s: 600, calls: 11, short_or_unanswered: 11 });
    // Another caller, another prefix, or no caller at all: no burst.
    expect(s.answer('+37129129999', '+5511900000002', NOW_MS).reasons).toEqual([]);
    expect(s.answer('+37126139999', CALLER, NOW_MS).reasons).toEqual([]);
    expect(s.answer('+37129129999', undefined, NOW_MS)).toMatchObject({ reasons: [], burst: null });
  });

  test('ten calls are not more than ten; eleven long answered calls are not short', () => {
    const s = state();
    s.ingest(burst(10, 0, false));
    expect(s.answer('+37129129999', CALLER, NOW_MS).reasons).toEqual([]);
    const t = state();
    t.ingest(burst(11, 120_000, true));
    expect(t.answer('+37129129999', CALLER, NOW_MS)).toMatchObject({ reasons: [], burst: { calls: 11, short_or_unanswered: 0 } });
  });

  test('calls older than the window fall out', () => {
    const s = state();
    s.ingest(burst(11, 0, false));
    expect(s.answer('+37129129999', CALLER, NOW_MS + 120_000).reasons).toEqual([]);
  });

  test('the caller is matched in any dialled form', () => {
    const s = state();
    s.ingest(burst(11, 0, false));
    expect(s.answer('+37129129999', '0055 11 90000-0001', NOW_MS).reasons).toEqual(['fraud_burst']);
  });
});

describe('actions', () => {
  test('every reason found, in a stable order, and the strongest action wins', () => {
    const s = state();
    s.applyBlocklist([entry('+999*')]);
    expect(s.answer('+999123456789', undefined, NOW_MS)).toMatchObject({ verdict: 'block', reasons: ['blocklisted', 'malformed'] });
  });

  test('a reason configured to neither block nor warn is not reported and leaves allow', () => {
    const s = state({ actions: { ...DEFAULT_RULES.actions, malformed: 'ignore' } });
    expect(s.answer('alice', undefined, NOW_MS)).toMatchObject({ verdict: 'allow', reasons: [] });
  });

  test('invalid_number can be made to block', () => {
    const s = state({ actions: { ...DEFAULT_RULES.actions, invalid_number: 'block' } });
    s.ingest([call(INVALID, NOW_S - 300, 604), call(INVALID, NOW_S - 200, 604), call(INVALID, NOW_S - 100, 604)]);
    expect(s.answer(INVALID, undefined, NOW_MS).verdict).toBe('block');
  });
});

describe('bounded memory', () => {
  test('the least recently written numbers are evicted beyond the limit; prune forgets what left the window', () => {
    const s = new LookupState(DEFAULT_RULES, { maxNumbers: 1000, maxPairs: 1000 }, PLAN);
    for (let i = 0; i < 1500; i += 1) s.ingest([call(`+55119123${String(i).padStart(5, '0')}`, NOW_S - 10 * 86_400 + i, 404)]);
    expect(s.stats()).toMatchObject({ numbers: 1000, evictedNumbers: 500 });
    s.prune(NOW_MS, 100_000);
    expect(s.stats().numbers).toBe(0);
  });
});

describe('number readings', () => {
  test('a number seen in a CDR, in the form it was dialled, needs no second parse', () => {
    const numberKey = jest.requireActual<typeof import('../../src/lookup/number-key')>('../../src/lookup/number-key');
    const spy = jest.spyOn(numberKey, 'readNumber');
    try {
      const s = state();
      s.ingest([{ ...call(INVALID, NOW_S - 60, 404), calleeDialled: '0055 11 91234-0001' }]);
      expect(s.answer('0055 11 91234-0001', undefined, NOW_MS)).toMatchObject({ e164: INVALID, figures: { calls: 1 } });
      expect(spy).not.toHaveBeenCalled();
      s.answer('0055 11 91234-0002', undefined, NOW_MS);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('the answer as JSON', () => {
  test('answerJson writes the fields the state answers with, in its order: JSON.stringify of the answer', () => {
    const s = state();
    s.ingest([call(INVALID, NOW_S - 3600, 404), call(INVALID, NOW_S - 60, 484), call(INVALID, NOW_S - 30, 404)]);
    s.applyBlocklist([entry('+551191234000*', { reason: 'fraud "case" 7', expiresAtUs: (NOW_MS + 86_400_000) * 1000 })]);
    const answers = ([[INVALID, '+5511987650000'], [GOOD, undefined], ['alice', 'bob'], ['+5511912340009', undefined]] as const)
      .map(([number, caller]) => s.answer(number, caller, NOW_MS));
    expect(answers[0]).toMatchObject({ reasons: ['blocklisted', 'invalid_number'], burst: { calls: 2 }, blocklist: { reason: 'fraud "case" 7' } });
    for (const answer of answers) expect(answerJson(answer)).toBe(JSON.stringify(answer));
  });
});
