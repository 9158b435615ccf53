/** Counts of dead letters by reason and by age of failure. Pure: the time is an argument. */
import { formatUs } from '../../correlators/cdr';
import type { DeadLetterInfo } from './dead-letter';

export const AGE_BUCKETS = ['<1h', '<1d', '<7d', 'older', 'unknown'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

const HOUR_US = 3_600_000_000;
const DAY_US = 24 * HOUR_US;

/** `unknown` when the failure time is unreadable. A failure "in the future" (clock skew) counts as `<1h`. */
export function ageBucket(failedAtUs: number | undefined, nowUs: number): AgeBucket {
  if (failedAtUs === undefined) return 'unknown';
  const ageUs = nowUs - failedAtUs;
  if (ageUs < HOUR_US) return '<1h';
  if (ageUs < DAY_US) return '<1d';
  if (ageUs < 7 * DAY_US) return '<7d';
  return 'older';
}

export interface ReasonStats {
  count: number;
  byAge: Record<AgeBucket, number>;
  oldestUs?: number;
  newestUs?: number;
}

export interface DeadLetterStats {
  total: number;
  byReason: Map<string, ReasonStats>;
  byAge: Record<AgeBucket, number>;
  oldestUs?: number;
  newestUs?: number;
}

function emptyAges(): Record<AgeBucket, number> {
  return { '<1h': 0, '<1d': 0, '<7d': 0, older: 0, unknown: 0 };
}

export function emptyStats(): DeadLetterStats {
  return { total: 0, byReason: new Map(), byAge: emptyAges() };
}

function widen(range: { oldestUs?: number; newestUs?: number }, timeUs: number | undefined): void {
  if (timeUs === undefined) return;
  if (range.oldestUs === undefined || timeUs < range.oldestUs) range.oldestUs = timeUs;
  if (range.newestUs === undefined || timeUs > range.newestUs) range.newestUs = timeUs;
}

/** Adds one dead letter to the running stats (mutates `stats`, which is built by emptyStats). */
export function countDeadLetter(stats: DeadLetterStats, info: DeadLetterInfo, nowUs: number): void {
  const bucket = ageBucket(info.failedAtUs, nowUs);
  let reason = stats.byReason.get(info.reason);
  if (!reason) {
    reason = { count: 0, byAge: emptyAges() };
    stats.byReason.set(info.reason, reason);
  }
  stats.total += 1;
  stats.byAge[bucket] += 1;
  reason.count += 1;
  reason.byAge[bucket] += 1;
  widen(stats, info.failedAtUs);
  widen(reason, info.failedAtUs);
}

function time(us: number | undefined): string {
  return us === undefined ? '-' : formatUs(us);
}

/** A fixed-width table, one line per reason (most frequent first), then the total. */
export function formatStatsTable(stats: DeadLetterStats): string {
  const header = ['reason', 'count', ...AGE_BUCKETS, 'oldest failed-at', 'newest failed-at'];
  const rows = [...stats.byReason.entries()]
    .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
    .map(([reason, s]) => [reason, String(s.count), ...AGE_BUCKETS.map((b) => String(s.byAge[b])), time(s.oldestUs), time(s.newestUs)]);
  rows.push(['total', String(stats.total), ...AGE_BUCKETS.map((b) => String(stats.byAge[b])), time(stats.oldestUs), time(stats.newestUs)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The same stats as one JSON object (for `--format ndjson`). */
export function statsToJson(stats: DeadLetterStats): Record<string, unknown> {
  const range = (s: { oldestUs?: number; newestUs?: number }) => ({ oldest_failed_at: s.oldestUs === undefined ? null : formatUs(s.oldestUs), newest_failed_at: s.newestUs === undefined ? null : formatUs(s.newestUs) });
  return {
    total: stats.total,
    by_age: { ...stats.byAge },
    ...range(stats),
    by_reason: Object.fromEntries([...stats.byReason.entries()].map(([reason, s]) => [reason, { count: s.count, by_age: { ...s.byAge }, ...range(s) }])),
  };
}
