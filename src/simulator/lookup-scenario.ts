/**
 * Traffic for the number lookup: numbers that keep failing (404/484), a toll-fraud burst from one
 * caller to one premium prefix, and ordinary calls around them — with the answer the lookup must
 * give for each number, written down from the scenario's construction (the rules as docs/lookup.md
 * states them with the default thresholds), never from the lookup's code.
 */
import type { PlannedCall } from './generator';

export interface ExpectedLookup {
  readonly number: string;
  readonly caller?: string;
  readonly verdict: 'allow' | 'warn' | 'block';
  readonly reasons: readonly string[];
  /** What the scenario made of this number, for failure messages. */
  readonly why: string;
}

export interface LookupScenario {
  readonly plan: readonly PlannedCall[];
  readonly expected: readonly ExpectedLookup[];
  /** How long the plan's arrivals last, seconds (the calls end up to a minute later). */
  readonly spanS: number;
}

/** The toll-fraud caller and the premium range it dials (Latvian mobile ranges are a classic IRSF target). */
export const FRAUD_CALLER = '+5511900000001';
export const FRAUD_PREFIX = '+371291';

/** Ordinary subscribers: São Paulo mobiles, dialled in the forms the pool of the generator uses. */
function subscriber(i: number): string {
  return `+55119876${String(5000 + i).padStart(5, '0')}`;
}

export function lookupScenario(): LookupScenario {
  const plan: PlannedCall[] = [];
  const expected: ExpectedLookup[] = [];
  let atS = 0;
  const next = (gapS = 2) => (atS += gapS);

  // Invalid numbers: the last three calls ended 404/484 (in any dialled form of the number).
  const invalid = ['+5511912340001', '+5511912340002', '+5521912340003'];
  const forms = (e164: string) => [e164, `00${e164.slice(1)}`, `011${e164.slice(1)}`];
  invalid.forEach((number, k) => {
    forms(number).forEach((dialled, i) => plan.push({ caller: subscriber(k), callee: dialled, atS: next(), outcome: 'failed', code: i === 1 ? 484 : 404 }));
    expected.push({ number, verdict: 'warn', reasons: ['invalid_number'], why: 'three calls, all 404/484' });
  });
  // Two failures are not three.
  for (let i = 0; i < 2; i += 1) plan.push({ caller: subscriber(3), callee: '+5511912340004', atS: next(), outcome: 'failed', code: 404 });
  expected.push({ number: '+5511912340004', verdict: 'allow', reasons: [], why: 'only two 404s' });
  // Three failures, then an answer: the number works.
  for (let i = 0; i < 3; i += 1) plan.push({ caller: subscriber(4), callee: '+5511912340005', atS: next(), outcome: 'failed', code: 404 });
  plan.push({ caller: subscriber(4), callee: '+5511912340005', atS: next(), outcome: 'answered', talkS: 30 });
  expected.push({ number: '+5511912340005', verdict: 'allow', reasons: [], why: 'answered after three 404s' });
  // Other failures are not "invalid": busy, a server error, a decline.
  for (const code of [503, 603, 500]) plan.push({ caller: subscriber(5), callee: '+5511912340006', atS: next(), outcome: 'failed', code });
  expected.push({ number: '+5511912340006', verdict: 'allow', reasons: [], why: '503/603/500 are not invalid-number codes' });

  // The burst: twelve calls in under a minute from one caller to one prefix, all short or unanswered.
  for (let i = 0; i < 12; i += 1) {
    const callee = `${FRAUD_PREFIX}${String(100_000 + i).slice(1)}`;
    const gapS = 4;
    if (i % 3 === 0) plan.push({ caller: FRAUD_CALLER, callee, atS: next(gapS), outcome: 'answered', talkS: 3 });
    else plan.push({ caller: FRAUD_CALLER, callee, atS: next(gapS), outcome: i % 3 === 1 ? 'cancelled' : 'no_answer' });
  }
  expected.push({ number: `${FRAUD_PREFIX}99999`, caller: FRAUD_CALLER, verdict: 'block', reasons: ['fraud_burst'], why: '12 short calls to the prefix in the window' });
  expected.push({ number: `${FRAUD_PREFIX}99999`, caller: subscriber(1), verdict: 'allow', reasons: [], why: 'another caller to the same prefix' });
  expected.push({ number: `${FRAUD_PREFIX}99999`, verdict: 'allow', reasons: [], why: 'no caller: the burst rule needs one' });
  expected.push({ number: '+37126123456', caller: FRAUD_CALLER, verdict: 'allow', reasons: [], why: 'the same caller to another prefix' });

  // A caller with many long answered calls to one prefix is a call centre, not a burst.
  for (let i = 0; i < 12; i += 1) plan.push({ caller: subscriber(6), callee: `+552130000${String(100 + i)}`, atS: next(1), outcome: 'answered', talkS: 45 });
  expected.push({ number: '+552130000999', caller: subscriber(6), verdict: 'allow', reasons: [], why: 'twelve long answered calls' });

  // Ordinary calls between subscribers.
  for (let i = 0; i < 20; i += 1) {
    plan.push({ caller: subscriber(10 + (i % 5)), callee: subscriber(20 + i), atS: next(1), outcome: i % 4 === 3 ? 'busy' : 'answered', talkS: 20 + i });
  }
  expected.push({ number: subscriber(21), caller: subscriber(11), verdict: 'allow', reasons: [], why: 'an ordinary answered number' });

  // Numbers nobody called: only what the number itself says.
  expected.push({ number: '+442079460018', verdict: 'allow', reasons: [], why: 'never called, valid' });
  expected.push({ number: 'alice', verdict: 'warn', reasons: ['malformed'], why: 'not a number' });
  expected.push({ number: '+99912345678', verdict: 'warn', reasons: ['malformed'], why: 'no such country code' });
  return { plan, expected, spanS: atS };
}
