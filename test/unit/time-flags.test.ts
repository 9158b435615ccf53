/** --since / --until parsing: every accepted form, and the error for the rest. */
import { parseTimeFlag } from '../../src/cli/time-flags';
import { UsageError } from '../../src/flags';

const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0, 250);
const NOW_US = NOW_MS * 1000;
const at = (text: string) => parseTimeFlag('since', text, NOW_MS);

describe('parseTimeFlag', () => {
  it('reads RFC 3339 times with a zone, keeping all six fractional digits', () => {
    expect(at('2026-11-27T13:05:09.123456Z')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000 + 123_456);
    expect(at('2026-11-27T13:05:09.000001Z')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000 + 1);
    expect(at('2026-11-27T13:05:09.009Z')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000 + 9000);
    expect(at('2026-11-27T15:05:09.5+02:00')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000 + 500_000);
    expect(at('2026-11-27T10:05:09-03:00')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000);
  });

  it('drops digits beyond the microsecond', () => {
    expect(at('2026-11-27T13:05:09.123456789Z')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000 + 123_456);
  });

  it('takes a time without a zone as UTC, with T or a space', () => {
    expect(at('2026-11-27T13:05')).toBe(Date.UTC(2026, 10, 27, 13, 5) * 1000);
    expect(at('2026-11-27T13:05:09.25')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000 + 250_000);
    expect(at('2026-11-27 13:05:09')).toBe(Date.UTC(2026, 10, 27, 13, 5, 9) * 1000);
  });

  it('takes a bare date as UTC midnight', () => {
    expect(at('2026-11-27')).toBe(Date.UTC(2026, 10, 27) * 1000);
    expect(at(' 2026-02-28 ')).toBe(Date.UTC(2026, 1, 28) * 1000);
  });

  it('takes a duration as that long before now', () => {
    expect(at('30s')).toBe(NOW_US - 30_000_000);
    expect(at('15m')).toBe(NOW_US - 15 * 60_000_000);
    expect(at('2h')).toBe(NOW_US - 2 * 3_600_000_000);
    expect(at('7d')).toBe(NOW_US - 7 * 86_400_000_000);
    expect(at('1w')).toBe(NOW_US - 7 * 86_400_000_000);
    expect(at('1h30m')).toBe(NOW_US - 90 * 60_000_000);
    expect(at('0m')).toBe(NOW_US);
  });

  it.each([
    '', 'yesterday', '15', '-2h', '2H', '1.5h', '13:05', 'T13:05:09Z', '2026-13-01', '2026-02-30', '2026-11-27T25:00:00Z',
    '27/11/2026', '2026-11-27Z', 'now',
  ])('rejects %j with the flag name and the accepted forms', (text) => {
    let failure: unknown;
    try {
      parseTimeFlag('until', text, NOW_MS);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toMatch(/^--until: expected an ISO 8601 \/ RFC 3339 time .*a date .*a duration before now/);
    expect((failure as Error).message).toContain(JSON.stringify(text));
  });
});
