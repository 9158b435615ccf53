/**
 * The correlator's central promise: a call's CDR depends only on the set of its events, never
 * on their arrival order, duplication, batching, sweeps in between, or restarts.
 */
import fc from 'fast-check';
import type { CallEvent, EventKind } from '../../correlators/events';
import type { CdrRecord } from '../../correlators/cdr';
import { callEvent, CorrelatorHarness, S, T0 } from '../support/call-events';

const FAR_FUTURE = T0 + 400 * 24 * 3600 * S;

const eventSpec = fc.record({
  kind: fc.constantFrom<EventKind>('invite_request', 'invite_reply', 'invite_reply', 'invite_reply', 'bye_request', 'bye_reply'),
  offsetUs: fc.integer({ min: 0, max: 600 * S }),
  code: fc.constantFrom(100, 180, 183, 200, 200, 202, 404, 408, 480, 486, 487, 600),
  byeCode: fc.constantFrom(100, 200, 481),
  direction: fc.constantFrom('downstream' as const, 'upstream' as const, null),
  caller: fc.constantFrom('alice', '+5511987654321', null),
  callee: fc.constantFrom('bob', '0055113333', null),
  call: fc.constantFrom('c1', 'c2', 'c3'),
});

type EventSpec = typeof eventSpec extends fc.Arbitrary<infer T> ? T : never;

function toEvent(s: EventSpec): CallEvent {
  const code = s.kind === 'invite_reply' ? s.code : s.kind === 'bye_reply' ? s.byeCode : null;
  return callEvent(s.kind, s.call, T0 + s.offsetUs, { code, direction: s.direction, caller: s.caller, callee: s.callee });
}

const scenario = fc.record({
  specs: fc.array(eventSpec, { minLength: 1, maxLength: 14 }),
  order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 30, maxLength: 30 }),
  duplicates: fc.array(fc.nat({ max: 29 }), { maxLength: 6 }),
  cuts: fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
  sweepEveryCut: fc.boolean(),
  sweepStepUs: fc.integer({ min: 0, max: 3600 * S }),
  restartAt: fc.option(fc.nat({ max: 29 }), { nil: null }),
});

/** A record as stored: `previousStartUs` only tells a store where an earlier version was filed. */
function asStored(record: CdrRecord): CdrRecord {
  const { previousStartUs: _filedUnder, ...rest } = record;
  return rest;
}

function reference(events: readonly CallEvent[]): Map<string, unknown> {
  const h = new CorrelatorHarness();
  h.ingest([...events].sort((a, b) => a.timeUs - b.timeUs), T0);
  h.sweep(FAR_FUTURE);
  return new Map([...h.cdrs].map(([id, record]) => [id, asStored(record)]));
}

describe('Correlator properties', () => {
  test('any permutation, duplication, batching, sweeping and restarting gives the same CDRs', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const events = s.specs.map((spec) => toEvent(spec));
        const expected = reference(events);

        const stream = events.map((event, i) => ({ event, key: s.order[i % s.order.length]! }))
          .sort((a, b) => a.key - b.key)
          .map((entry) => entry.event);
        for (const index of s.duplicates) {
          const duplicate = stream[index % stream.length]!;
          stream.splice((index * 7) % (stream.length + 1), 0, duplicate);
        }

        let h = new CorrelatorHarness();
        let nowUs = T0;
        let batch: CallEvent[] = [];
        stream.forEach((event, i) => {
          batch.push(event);
          if (s.cuts[i % s.cuts.length] || i === stream.length - 1) {
            h.ingest(batch, nowUs);
            batch = [];
            if (s.sweepEveryCut) {
              nowUs += s.sweepStepUs;
              h.sweep(nowUs);
            }
            if (s.restartAt === i) h = h.restart();
          }
        });
        h.sweep(FAR_FUTURE);

        expect(new Map([...h.cdrs].map(([id, record]) => [id, asStored(record)]))).toEqual(expected);
        expect(h.correlator.openCallCount).toBe(0);
      }),
      { numRuns: 400, seed: 20261127 },
    );
  });

  test('the events count equals the number of distinct events of the call', () => {
    fc.assert(
      fc.property(fc.array(eventSpec, { minLength: 1, maxLength: 10 }), fc.nat({ max: 5 }), (specs, copies) => {
        const events = specs.map((spec) => toEvent(spec));
        const h = new CorrelatorHarness();
        for (let i = 0; i <= copies; i += 1) h.ingest(events, T0);
        h.sweep(FAR_FUTURE);
        for (const [callId, record] of h.cdrs) {
          const distinct = new Set(events.filter((e) => e.callId === callId).map((e) => e.id));
          expect(record.cdr.events).toBe(distinct.size);
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
