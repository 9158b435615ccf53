/** formatUs's arithmetic fast path must print exactly what the Date-based formatting printed. */
import fc from 'fast-check';
import { formatUs, parseUs } from '../../correlators/cdr';

function viaDate(timeUs: number): string {
  const seconds = Math.floor(timeUs / 1_000_000);
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, -4)}${String(timeUs - seconds * 1_000_000).padStart(6, '0')}Z`;
}


describe('formatUs', () => {
  test('equals the Date-based formatting over every safe-integer time', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (timeUs) => {
      expect(formatUs(timeUs)).toBe(viaDate(timeUs));
      expect(parseUs(formatUs(timeUs))).toBe(timeUs);
    }), { numRuns: 5000 });
  });

  test('equals it at day, month, leap-year and century edges', () => {
    const edges = ['1970-01-01T00:00:00Z', '2000-02-29T23:59:59Z', '2100-03-01T00:00:00Z', '1999-12-31T23:59:59Z',
      '2026-11-27T13:05:09Z', '2200-02-28T12:00:00Z', '2255-06-05T23:47:34Z'];
    for (const edge of edges) {
      const us = Date.parse(edge) * 1000;
      for (const delta of [-1, 0, 1, 999_999, 1_000_000]) {
        if (us + delta >= 0) expect(formatUs(us + delta)).toBe(viaDate(us + delta));
      }
    }
    expect(formatUs(1_795_757_055_657_962)).toBe('2026-11-27T05:24:15.657962Z');
    expect(formatUs(Number.MAX_SAFE_INTEGER)).toBe(viaDate(Number.MAX_SAFE_INTEGER));
    expect(formatUs(-1)).toBe(viaDate(-1));
  });
});
