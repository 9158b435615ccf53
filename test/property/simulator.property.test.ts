/** The oracle's CDR depends on which events were published, never on their order or duplication. */
import fc from 'fast-check';
import type { Direction, EventKind } from '../../correlators/events';
import type { SimEvent } from '../../src/simulator/call-model';
import { generateTraffic } from '../../src/simulator/generator';
import { expectedCdr } from '../../src/simulator/oracle';

const T0 = 1_796_000_000_000_000;
const KINDS: EventKind[] = ['invite_request', 'invite_reply', 'bye_request', 'bye_reply', 'acc_cdr'];
const CODES = [100, 180, 183, 200, 202, 408, 481, 486, 487, 600, 603];

// Few distinct times and values, so ties (same time, same kind) are common.
const eventArb: fc.Arbitrary<SimEvent> = fc.record({
  kind: fc.constantFrom(...KINDS),
  offset: fc.integer({ min: 0, max: 6 }),
  code: fc.constantFrom(...CODES),
  direction: fc.constantFrom<Direction | null>('downstream', 'upstream', null),
  caller: fc.constantFrom<string | null>('alice', '+5511999990000', null),
  callee: fc.constantFrom<string | null>('bob', '0055213333', null),
}).map(({ kind, offset, code, direction, caller, callee }) => {
  const isReply = kind === 'invite_reply' || kind === 'bye_reply';
  if (kind === 'acc_cdr') {
    return { kind, timeUs: T0 + offset, replyCode: null, direction: null, caller: null, callee: null, accParams: [['sip_code', String(code)]] as const };
  }
  return { kind, timeUs: T0 + offset * 250_000, replyCode: isReply ? code : null, direction, caller, callee, accParams: null };
});

/** The events, shuffled, with some of them published again (as fresh objects: equal content, not identity). */
const publishedArb = fc.array(eventArb, { minLength: 1, maxLength: 12 }).chain((events) =>
  fc.tuple(
    fc.constant(events),
    fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 6 }),
    fc.array(fc.nat(), { minLength: events.length + 6, maxLength: events.length + 6 }),
  ).map(([original, dupIndexes, sortKeys]) => {
    const withDups = [...original, ...dupIndexes.map((i) => ({ ...original[i]! }))];
    const order = withDups.map((event, i) => ({ event, key: sortKeys[i] ?? i }));
    order.sort((a, b) => a.key - b.key);
    return { original, published: order.map((o) => o.event) };
  }));

describe('oracle', () => {
  test('the CDR is the same for any publish order and any duplicates', () => {
    fc.assert(fc.property(publishedArb, ({ original, published }) => {
      expect(expectedCdr('c1', published)).toEqual(expectedCdr('c1', original));
    }), { numRuns: 500 });
  });

  test('the CDR is internally consistent', () => {
    fc.assert(fc.property(publishedArb, ({ published }) => {
      const cdr = expectedCdr('c1', published);
      if (cdr === null) {
        expect(published.every((e) => e.kind === 'acc_cdr')).toBe(true);
        return;
      }
      expect(cdr.events).toBeLessThanOrEqual(published.length);
      if (cdr.talk_us !== null) expect(cdr.talk_us).toBeGreaterThanOrEqual(0);
      if (cdr.disposition !== 'answered') expect(cdr.talk_us).toBe(0);
      if (cdr.complete) expect(cdr.invite_at).not.toBeNull();
      if (cdr.disposition === 'unknown') expect(cdr.final_code).toBeNull();
      if (cdr.closed_by === 'timeout') expect(cdr.end_at).toBeNull();
      if (cdr.total_us !== null) expect(cdr.end_at).not.toBeNull();
    }), { numRuns: 300 });
  });
});

describe('generator', () => {
  test('duplicates and reordering never change the expected CDRs', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
      (seed, duplicateRate, reorderRate) => {
        const base = { calls: 15, seed, startTimeUs: T0, lossRate: 0.1, inProgressRate: 0.2, retransmitRate: 0.3, acc: true };
        const calm = generateTraffic({ ...base, duplicateRate: 0, reorderRate: 0 });
        const noisy = generateTraffic({ ...base, duplicateRate, reorderRate });
        expect(noisy.expected).toEqual(calm.expected);
      },
    ), { numRuns: 40 });
  });
});
