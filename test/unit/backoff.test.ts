import fc from 'fast-check';
import { backoffDelayMs, validateBackoff } from '../../src/backoff';

describe('backoffDelayMs', () => {
  const policy = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.2 };

  it('doubles from initialMs and stops at maxMs when the draw is 0 (no jitter taken)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelayMs(a, policy, 0)))
      .toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('jitter lowers the delay by at most the jitter fraction', () => {
    expect(backoffDelayMs(3, policy, 0.999999)).toBe(320);
    expect(backoffDelayMs(3, policy, 0.5)).toBe(360);
  });

  it('defaults to factor 2 and jitter 0.2', () => {
    expect(backoffDelayMs(4, { initialMs: 10, maxMs: 1000 }, 0)).toBe(80);
    expect(backoffDelayMs(4, { initialMs: 10, maxMs: 1000 }, 1)).toBe(64);
  });

  it('treats attempts below 1 as the first and survives huge attempt counts', () => {
    expect(backoffDelayMs(0, policy, 0)).toBe(100);
    expect(backoffDelayMs(-5, policy, 0)).toBe(100);
    expect(backoffDelayMs(1e9, policy, 0)).toBe(5000);
    expect(backoffDelayMs(Number.MAX_SAFE_INTEGER, { initialMs: 0, maxMs: 10 }, 0.3)).toBe(0);
  });

  it('is always an integer within [base·(1−jitter), maxMs] and never decreases with the attempt for a fixed draw', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 100_000 }),
      fc.double({ min: 1, max: 10, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (initialMs, extraMs, factor, jitter, attempt, random) => {
        const p = { initialMs, maxMs: initialMs + extraMs, factor, jitter };
        const d = backoffDelayMs(attempt, p, random);
        const next = backoffDelayMs(attempt + 1, p, random);
        const base = initialMs === 0 ? 0 : Math.min(p.maxMs, initialMs * factor ** (attempt - 1)); // 0·Infinity is NaN
        return Number.isInteger(d) && d <= p.maxMs && d >= Math.floor(base * (1 - jitter)) && next >= d;
      }), { seed: 2032345364, numRuns: 500 });
  });
});

describe('validateBackoff', () => {
  it('names the bad option', () => {
    expect(() => validateBackoff({ initialMs: -1, maxMs: 10 }, 'reconnect')).toThrow('reconnect.initialMs');
    expect(() => validateBackoff({ initialMs: 10, maxMs: 5 })).toThrow('backoff.maxMs');
    expect(() => validateBackoff({ initialMs: 1, maxMs: 5, factor: 0.5 })).toThrow('factor');
    expect(() => validateBackoff({ initialMs: 1, maxMs: 5, jitter: 2 })).toThrow('jitter');
    expect(() => validateBackoff({ initialMs: 0, maxMs: 0 })).not.toThrow();
  });
});
