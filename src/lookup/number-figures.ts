/**
 * Per destination number: its most recent calls in start order (the invalid_number rule reads
 * them) and daily counts over the window (the figures an answer shows). Columnar, bounded, O(1)
 * per call and per lookup (docs/lookup.md states the bytes per number).
 */
import type { CallFact } from './facts';
import { bothColumns, RecentCalls } from './recent-calls';
import { grown, SlotTable, type Columns } from './slot-table';

export const DAY_S = 86_400;

/**
 * The most recent calls kept per number (at least QBL_LOOKUP_INVALID_CALLS): invalid_number reads
 * them, and a rewritten CDR of one of them replaces it instead of counting again. A rewrite of an
 * older call (rare: a late event after four newer calls to the same number) counts twice in the
 * daily figures; the rules never see it.
 */
export const MIN_RING_CALLS = 4;
/** Daily counts saturate here (Uint16): a number called more than this in a day is not subtle. */
const MAX_DAILY = 65_535;

const ANSWERED = 1;
const INVALID = 2;

export interface NumberFiguresView {
  /** Calls that started within the window (today and the `windowDays - 1` UTC days before). */
  readonly calls: number;
  readonly answered: number;
  /** Calls that ended with one of the invalid codes. */
  readonly invalid: number;
  /** The latest call's final code (null: none, e.g. timed out before any final reply). */
  readonly lastFinalCode: number | null;
  /** The latest call's start, seconds since the epoch. */
  readonly lastSeenS: number;
  /** The `invalidCalls` most recent calls all ended invalid and all started within the window (none was answered since). */
  readonly invalidStreak: boolean;
}

/** Calls, answered and invalid per UTC day: bucket `day % days` holds the counts of `day` (days since 1970 fit 16 bits until 2149). */
class DailyCounts implements Columns {
  private day = new Uint16Array(0);
  private calls = new Uint16Array(0);
  private answered = new Uint16Array(0);
  private invalid = new Uint16Array(0);

  constructor(private readonly days: number) {}

  grow(capacity: number): void {
    const n = capacity * this.days;
    this.day = grown(this.day, n);
    this.calls = grown(this.calls, n);
    this.answered = grown(this.answered, n);
    this.invalid = grown(this.invalid, n);
  }

  clear(slot: number): void {
    this.day.fill(0, slot * this.days, (slot + 1) * this.days);
  }

  add(slot: number, startS: number, flags: number, delta: 1 | -1): void {
    const day = Math.floor(startS / DAY_S);
    const i = slot * this.days + (day % this.days);
    if (this.day[i] !== day) {
      // A newer day holds the bucket: this call is outside the window already.
      if (delta < 0 || this.day[i]! > day) return;
      this.day[i] = day;
      this.calls[i] = 0;
      this.answered[i] = 0;
      this.invalid[i] = 0;
    }
    const bounded = (value: number) => Math.min(MAX_DAILY, Math.max(0, value + delta));
    this.calls[i] = bounded(this.calls[i]!);
    if (flags & ANSWERED) this.answered[i] = bounded(this.answered[i]!);
    if (flags & INVALID) this.invalid[i] = bounded(this.invalid[i]!);
  }

  /** Sums over today and the `days - 1` days before. */
  sum(slot: number, nowS: number): { calls: number; answered: number; invalid: number } {
    const today = Math.floor(nowS / DAY_S);
    let calls = 0;
    let answered = 0;
    let invalid = 0;
    for (let i = slot * this.days, end = i + this.days; i < end; i += 1) {
      const day = this.day[i]!;
      if (day > today - this.days && day <= today) {
        calls += this.calls[i]!;
        answered += this.answered[i]!;
        invalid += this.invalid[i]!;
      }
    }
    return { calls, answered, invalid };
  }
}

export class NumberFigures {
  private readonly table: SlotTable;
  private readonly recent: RecentCalls;
  private readonly daily: DailyCounts;

  constructor(maxNumbers: number, private readonly invalidCalls: number, private readonly windowDays: number, private readonly invalidCodes: ReadonlySet<number>) {
    this.recent = new RecentCalls(Math.max(MIN_RING_CALLS, invalidCalls), true);
    this.daily = new DailyCounts(windowDays);
    this.table = new SlotTable(maxNumbers, bothColumns(this.recent, this.daily));
  }

  get size(): number {
    return this.table.size;
  }

  get evictions(): number {
    return this.table.evictions;
  }

  /** Folds one call in; a call already counted (same hash among the recent ones) is replaced, not added. */
  add(fact: CallFact): void {
    if (fact.callee === null) return;
    const slot = this.table.write(fact.callee);
    const invalid = !fact.answered && fact.finalCode !== null && this.invalidCodes.has(fact.finalCode);
    const flags = (fact.answered ? ANSWERED : 0) | (invalid ? INVALID : 0);
    this.recent.put(slot, fact.startS, fact.callHash, flags, fact.finalCode ?? 0,
      (startS, oldFlags) => this.daily.add(slot, startS, oldFlags, -1));
    this.daily.add(slot, fact.startS, flags, 1);
  }

  /** The figures of `key` over the window ending at `nowS`; null when the number was never seen. One table read per lookup. */
  view(key: string, nowS: number): NumberFiguresView | null {
    const slot = this.table.find(key);
    if (slot < 0) return null;
    const count = this.recent.count(slot);
    if (count === 0) return null;
    const code = this.recent.code(slot, count - 1);
    const { calls, answered, invalid } = this.daily.sum(slot, nowS);
    return {
      calls, answered, invalid, lastFinalCode: code === 0 ? null : code, lastSeenS: this.recent.startS(slot, count - 1),
      invalidStreak: this.invalidStreak(slot, count, nowS - this.windowDays * DAY_S),
    };
  }

  private invalidStreak(slot: number, count: number, sinceS: number): boolean {
    if (count < this.invalidCalls) return false;
    for (let i = count - this.invalidCalls; i < count; i += 1) {
      if ((this.recent.flags(slot, i) & INVALID) === 0 || this.recent.startS(slot, i) < sinceS) return false;
    }
    return true;
  }

  /** Forgets numbers whose latest call left the window, from the least recently written; returns how many. */
  prune(nowS: number, maxScan: number): number {
    const oldestKeptS = nowS - this.windowDays * DAY_S;
    return this.table.pruneOldest((slot) => this.recent.newestStartS(slot) < oldestKeptS, maxScan);
  }
}
