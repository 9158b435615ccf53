/**
 * The lookup's tables against plain reference implementations: any order of the same calls (with
 * rewrites) gives the same figures, verdicts and block-list matches as recomputing from scratch.
 */
import fc from 'fast-check';
import { BlockList, type BlockEntry } from '../../src/lookup/blocklist';
import { BurstFigures } from '../../src/lookup/burst-figures';
import type { CallFact } from '../../src/lookup/facts';
import { DAY_S, MIN_RING_CALLS, NumberFigures } from '../../src/lookup/number-figures';

const NOW_S = 1_795_000_000;
const INVALID_CODES = new Set([404, 410, 484, 604]);
const WINDOW_DAYS = 7;
const CODES = [200, 404, 410, 484, 486, 487, 503, 604, null] as const;

interface Draw {
  callee: number;
  callId: number;
  startAgoS: number;
  code: (typeof CODES)[number];
  talkS: number;
}

const draws = fc.array(fc.record({
  callee: fc.integer({ min: 0, max: 2 }),
  callId: fc.integer({ min: 0, max: 15 }),
  startAgoS: fc.integer({ min: 0, max: 9 * DAY_S }),
  code: fc.constantFrom(...CODES),
  talkS: fc.integer({ min: 0, max: 300 }),
}), { maxLength: 40 });

function factOf(d: Draw): CallFact {
  const answered = d.code === 200;
  // A call id belongs to one callee: a rewrite keeps the callee, may change everything else.
  return { callHash: d.callId * 3 + d.callee + 1, callee: `+551191234000${d.callee}`, caller: '+5511900000001', startS: NOW_S - d.startAgoS, finalCode: d.code, answered, talkMs: answered ? d.talkS * 1000 : 0 };
}

/** The latest version of each call (later in the input wins), per callee. */
function latest(facts: readonly CallFact[]): Map<string, CallFact[]> {
  const byCall = new Map<number, CallFact>();
  for (const fact of facts) byCall.set(fact.callHash, fact);
  const byCallee = new Map<string, CallFact[]>();
  for (const fact of byCall.values()) byCallee.set(fact.callee!, [...(byCallee.get(fact.callee!) ?? []), fact]);
  return byCallee;
}

describe('NumberFigures', () => {
  test('equal to recomputing from the latest version of every call, while each number has at most a ring of calls', () => {
    fc.assert(fc.property(draws, fc.integer({ min: 1, max: 4 }), (list, invalidCalls) => {
      const facts = list.map(factOf);
      const byCallee = latest(facts);
      fc.pre([...byCallee.values()].every((calls) => calls.length <= MIN_RING_CALLS));
      const figures = new NumberFigures(100, invalidCalls, WINDOW_DAYS, INVALID_CODES);
      for (const fact of facts) figures.add(fact);
      const today = Math.floor(NOW_S / DAY_S);
      for (const [callee, calls] of byCallee) {
        const inWindow = calls.filter((c) => Math.floor(c.startS / DAY_S) > today - WINDOW_DAYS);
        const isInvalid = (c: CallFact) => !c.answered && c.finalCode !== null && INVALID_CODES.has(c.finalCode);
        const ordered = [...calls].sort((a, b) => a.startS - b.startS);
        const view = figures.view(callee, NOW_S)!;
        expect({ calls: view.calls, answered: view.answered, invalid: view.invalid }).toEqual({
          calls: inWindow.length, answered: inWindow.filter((c) => c.answered).length, invalid: inWindow.filter(isInvalid).length,
        });
        const newest = ordered[ordered.length - 1]!;
        expect(view.lastSeenS).toBe(newest.startS);
        // Ties in start order are kept in arrival order: compare codes only where starts differ.
        if (ordered.filter((c) => c.startS === newest.startS).length === 1) expect(view.lastFinalCode).toBe(newest.finalCode);
        const lastN = ordered.slice(-invalidCalls);
        const sinceS = NOW_S - WINDOW_DAYS * DAY_S;
        const expected = ordered.length >= invalidCalls && lastN.every((c) => isInvalid(c) && c.startS >= sinceS);
        const tiesAtEdge = ordered.length > invalidCalls && ordered[ordered.length - invalidCalls - 1]!.startS === lastN[0]!.startS;
        if (!tiesAtEdge) expect(view.invalidStreak).toBe(expected);
      }
    }), { numRuns: 300 });
  });
});

describe('BurstFigures', () => {
  test('a burst is exactly: more than N calls in the window, most of them short or unanswered', () => {
    fc.assert(fc.property(fc.array(fc.record({ agoS: fc.integer({ min: 0, max: 1200 }), short: fc.boolean() }), { maxLength: 30 }), (calls) => {
      const bursts = new BurstFigures(100, 10, 600, 6, 10_000);
      calls.forEach((c, i) => bursts.add({ callHash: i + 1, callee: '+37129120000', caller: 'alice', startS: NOW_S - c.agoS, finalCode: 200, answered: true, talkMs: c.short ? 1000 : 60_000 }));
      const view = bursts.view('alice', '+37129129999', NOW_S);
      const recent = [...calls].sort((a, b) => b.agoS - a.agoS).slice(-11).filter((c) => c.agoS <= 600);
      expect(view.calls).toBe(recent.length);
      expect(view.burst).toBe(recent.length > 10 && recent.filter((c) => c.short).length * 2 > recent.length);
    }), { numRuns: 300 });
  });
});

describe('BlockList', () => {
  const patterns = fc.array(fc.tuple(fc.stringMatching(/^\+[1-9][0-9]{0,5}$/), fc.boolean(), fc.boolean()), { maxLength: 20 });
  test('match is the exact active entry, else the longest active prefix', () => {
    fc.assert(fc.property(patterns, fc.stringMatching(/^\+[1-9][0-9]{0,9}$/), (list, key) => {
      const nowUs = 1_000_000;
      const entries: BlockEntry[] = list.map(([text, prefix, expired], i) => ({
        entry: prefix ? `${text}*` : text, reason: String(i), createdAtUs: 0, expiresAtUs: expired ? nowUs - 1 : null, updatedAtUs: i, removed: false,
      }));
      const blocklist = new BlockList();
      blocklist.apply(entries);
      const active = new Map<string, BlockEntry>();
      for (const e of entries) active.set(e.entry, e);
      const live = [...active.values()].filter((e) => e.expiresAtUs === null);
      const exact = live.find((e) => e.entry === key);
      const prefixes = live.filter((e) => e.entry.endsWith('*') && key.startsWith(e.entry.slice(0, -1)))
        .sort((a, b) => b.entry.length - a.entry.length);
      expect(blocklist.match(key, nowUs)?.entry ?? null).toBe((exact ?? prefixes[0])?.entry ?? null);
    }), { numRuns: 500 });
  });
});
