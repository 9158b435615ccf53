/** `--since` / `--until` values → integer microseconds since the epoch (pure: now is an argument). */
import { DateTime } from 'luxon';
import { UsageError } from '../flags';

export const TIME_FORMS = 'an ISO 8601 / RFC 3339 time (no zone = UTC, e.g. 2026-11-27T13:05:09.123456Z), '
  + 'a date (2026-11-27, UTC midnight) or a duration before now (30s, 15m, 2h, 7d, 1w, 1h30m)';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const RELATIVE = /^(?:\d+[smhdw])+$/;
const PART = /(\d+)([smhdw])/g;
// Only full dates: luxon would read a bare `10:00` as today, which depends on the clock.
const STARTS_WITH_DATE = /^\d{4}-\d{2}-\d{2}(?:$|[T ])/;
const FRACTION = /([T ]\d{2}:\d{2}:\d{2})[.,](\d+)/;

/** `30d`, `1h30m`… → milliseconds; null when the text is not such a duration. */
export function durationMs(text: string): number | null {
  if (!RELATIVE.test(text)) return null;
  let ms = 0;
  for (const [, count, unit] of text.matchAll(PART)) ms += Number(count) * UNIT_MS[unit!]!;
  return ms;
}

function absoluteUs(text: string): number | null {
  if (!STARTS_WITH_DATE.test(text)) return null;
  // luxon keeps milliseconds only (through a float): take the fraction off and add it back in integers.
  const digits = FRACTION.exec(text)?.[2] ?? '';
  const whole = text.replace(FRACTION, '$1');
  let time = DateTime.fromISO(whole, { zone: 'utc' });
  if (!time.isValid) time = DateTime.fromSQL(whole, { zone: 'utc' });
  if (!time.isValid) return null;
  return time.toMillis() * 1000 + Number(digits.padEnd(6, '0').slice(0, 6));
}

/** Throws UsageError naming the flag and the accepted forms. */
export function parseTimeFlag(flag: string, text: string, nowMs: number): number {
  const trimmed = text.trim();
  const agoMs = durationMs(trimmed);
  const us = agoMs !== null ? (nowMs - agoMs) * 1000 : absoluteUs(trimmed);
  if (us === null || !Number.isSafeInteger(us)) {
    throw new UsageError(`--${flag}: expected ${TIME_FORMS}, got ${JSON.stringify(text)}`);
  }
  return us;
}
