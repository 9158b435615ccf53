/** The cache, the CDR enricher the pipeline runs, and what `qbl cdrs --number` searches for. */
import { EMPTY_EXTRAS, type Cdr, type CdrRecord } from '../../correlators/cdr';
import { numbersToMatch } from '../../src/cli/commands/cdrs';
import { readDialPlan } from '../../src/config/dialplan';
import { RecentCache } from '../../src/numbers/recent-cache';
import { createNormaliser, makeNumberEnricher } from '../../src/numbers/normaliser';
import { normaliseNumber } from '../../src/numbers/normalise';

const BRAZIL = readDialPlan({ QBL_DEFAULT_COUNTRY: 'BR', QBL_STRIP_PREFIXES: '9', QBL_CARRIER_PREFIXES: '15,21' });

function record(caller: string | null, callee: string | null): CdrRecord {
  const cdr = { cdr_id: 'id', call_id: 'c1', caller, callee, disposition: 'answered', events: 4, source: 'qbl' } as Cdr;
  return { cdr, extras: { ...EMPTY_EXTRAS, acc_duration_ms: 61_493, acc_code: 200 }, startUs: 1_795_757_055_000_000 };
}

describe('RecentCache', () => {
  it('keeps what was used within the last half of its size, and never more than its size', () => {
    const cache = new RecentCache<string, number>(4);
    cache.set('a', 1);
    cache.set('b', 2); // the young generation (2 of 4) is full: a and b are the old one now
    cache.set('c', 3);
    // A hit in the old generation moves to the young one, which is full again and retires: the old
    // one (b, not used since) is dropped.
    expect(cache.get('a')).toBe(1);
    cache.set('d', 4);
    expect([cache.has('a'), cache.has('b'), cache.has('c'), cache.has('d')]).toEqual([true, false, true, true]);
    expect(cache.size).toBeLessThanOrEqual(4);
  });

  it('an entry written or read survives at least the next ⌈max/2⌉ − 1 calls of set and get', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (const max of [1, 2, 5, 8, 21]) {
      const cache = new RecentCache<number, number>(max);
      const lastUse = new Map<number, number>();
      for (let call = 0; call < 3000; call += 1) {
        const key = random(3 * max + 2);
        if (random(2) === 0) {
          cache.set(key, key);
          lastUse.set(key, call);
        } else if (cache.get(key) !== undefined) {
          lastUse.set(key, call);
        }
        for (const [used, at] of lastUse) if (call - at <= Math.ceil(max / 2) - 1) expect(cache.has(used)).toBe(true);
      }
    }
  });

  it('holds at most its size under any use, and null is a value', () => {
    for (const max of [1, 2, 3, 7, 50]) {
      const cache = new RecentCache<number, number | null>(max);
      for (let i = 0; i < 500; i += 1) {
        if (i % 3 === 0) cache.get(i % 11);
        cache.set(i, i % 5 === 0 ? null : i);
        expect(cache.size).toBeLessThanOrEqual(max);
        // The entry just written is always there.
        expect(cache.get(i)).toBe(i % 5 === 0 ? null : i);
      }
    }
  });

  it('rejects a size below 1', () => {
    expect(() => new RecentCache(0)).toThrow('maxEntries');
  });
});

describe('createNormaliser', () => {
  it('answers like the uncached function, for hits and misses, including null results', () => {
    const normalise = createNormaliser(BRAZIL, 2);
    const inputs = ['(11) 98765-4321', 'alice', '901511987654321', '(11) 98765-4321', 'alice', '+44 20 7946 0958', null];
    for (const input of inputs) expect(normalise(input)).toBe(normaliseNumber(input, BRAZIL));
  });
});

describe('makeNumberEnricher', () => {
  it('fills caller_e164 and callee_e164 and leaves the raw values and other extras alone', () => {
    const enrich = makeNumberEnricher(BRAZIL);
    const input = record('901511987654321', '(21) 2345-6789');
    const output = enrich(input);
    expect(output.cdr).toBe(input.cdr);
    expect(output.cdr.caller).toBe('901511987654321');
    expect(output.extras).toEqual({
      ...EMPTY_EXTRAS, acc_duration_ms: 61_493, acc_code: 200, caller_e164: '+5511987654321', callee_e164: '+552123456789',
    });
    expect(input.extras.caller_e164).toBeNull(); // the input record is not mutated
  });

  it('leaves null for names and missing numbers', () => {
    const output = makeNumberEnricher(BRAZIL)(record('alice', null));
    expect([output.extras.caller_e164, output.extras.callee_e164]).toEqual([null, null]);
  });
});

describe('numbersToMatch (qbl cdrs --number)', () => {
  it('searches the input as typed, without separators, and as E.164', () => {
    expect(numbersToMatch(' 011 55 11 98765-4321 ', BRAZIL)).toEqual(['011 55 11 98765-4321', '0115511987654321', '+5511987654321']);
    expect(numbersToMatch('(11) 98765-4321', BRAZIL)).toEqual(['(11) 98765-4321', '11987654321', '+5511987654321']);
    expect(numbersToMatch('+5511987654321', BRAZIL)).toEqual(['+5511987654321']);
  });

  it('keeps only the typed form when it is not a number', () => {
    expect(numbersToMatch(' alice ', BRAZIL)).toEqual(['alice']);
  });

  it('uses the dial plan from the environment by default', () => {
    const saved = process.env.QBL_DEFAULT_COUNTRY;
    process.env.QBL_DEFAULT_COUNTRY = 'GB';
    try {
      expect(numbersToMatch('020 7946 0958')).toContain('+442079460958');
    } finally {
      if (saved === undefined) delete process.env.QBL_DEFAULT_COUNTRY;
      else process.env.QBL_DEFAULT_COUNTRY = saved;
    }
  });
});
