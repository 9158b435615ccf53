/**
 * summary.json (pure): counts per class, billed minutes of both sides and their difference,
 * money when rates are known, the same per day, bad rows, and the top disputed calls. Totals
 * are kept in integers (µs, money micro-units) so a million rows add up exactly.
 */
import { CLASSES, DISPUTED_CLASSES, type Classified, type MatchClass, type ReconcileRecord } from './classify';
import type { BadRow, BadRowReason } from './carrier-row';

/** A dispute is customary above this share of the invoice (GSC practice). */
export const DISPUTE_THRESHOLD_PCT = 1;
/** Bad rows listed one by one in summary.json (all are counted, and all are in bad-rows.csv). */
export const BAD_ROWS_LISTED = 1000;

interface Totals {
  counts: Record<MatchClass, number>;
  carrierBilledUs: number;
  ourBilledUs: number;
  carrierCostMicro: number;
  ourCostMicro: number;
  /** Rows whose money is known on both sides. */
  priced: number;
}

function emptyTotals(): Totals {
  return {
    counts: Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<MatchClass, number>,
    carrierBilledUs: 0, ourBilledUs: 0, carrierCostMicro: 0, ourCostMicro: 0, priced: 0,
  };
}

const minutes = (us: number): number => Math.round(us / 600_000) / 100;
const money = (micro: number): number => Math.round(micro / 10_000) / 100;

function totalsJson(totals: Totals, withMoney: boolean) {
  const carrier = minutes(totals.carrierBilledUs);
  const ours = minutes(totals.ourBilledUs);
  const difference = minutes(totals.carrierBilledUs - totals.ourBilledUs);
  return {
    counts: totals.counts,
    billed_minutes: {
      carrier,
      ours,
      difference,
      // Of their invoice: the figure a dispute threshold is stated in.
      difference_pct: totals.carrierBilledUs === 0 ? null : Math.round(((totals.carrierBilledUs - totals.ourBilledUs) / totals.carrierBilledUs) * 10_000) / 100,
    },
    money: withMoney
      ? {
        carrier: money(totals.carrierCostMicro),
        ours: money(totals.ourCostMicro),
        difference: money(totals.carrierCostMicro - totals.ourCostMicro),
        difference_pct: totals.carrierCostMicro === 0 ? null : Math.round(((totals.carrierCostMicro - totals.ourCostMicro) / totals.carrierCostMicro) * 10_000) / 100,
        priced_rows: totals.priced,
      }
      : null,
  };
}

export interface TopEntry<T> {
  readonly record: ReconcileRecord;
  /** What the caller keeps with the record (the CDR, for the evidence). */
  readonly payload: T;
  /** Money (micro-units) when known, else billed µs: what the ranking is by. */
  readonly score: number;
}

/** The N largest by score, kept in a small sorted array (N is tens). */
export class TopDisputes<T> {
  private readonly entries: TopEntry<T>[] = [];

  constructor(readonly size: number, readonly byMoney: boolean) {}

  offer(classified: Classified, payload: T): void {
    const { record, figures } = classified;
    if (record.row === null || !DISPUTED_CLASSES.has(record.class)) return;
    const score = this.byMoney && record.delta_cost !== null
      ? Math.abs((figures.carrierCostMicro ?? 0) - (figures.ourCostMicro ?? 0))
      : Math.abs(figures.carrierBilledUs - figures.ourBilledUs);
    if (score === 0 || this.size === 0) return;
    if (this.entries.length === this.size && score <= this.entries[this.entries.length - 1]!.score) return;
    let at = this.entries.findIndex((e) => score > e.score || (score === e.score && record.row! < e.record.row!));
    if (at < 0) at = this.entries.length;
    this.entries.splice(at, 0, { record, payload, score });
    if (this.entries.length > this.size) this.entries.pop();
  }

  list(): readonly TopEntry<T>[] {
    return this.entries;
  }
}

export class SummaryBuilder {
  private readonly total = emptyTotals();
  private readonly days = new Map<string, Totals>();
  private readonly badByReason = new Map<BadRowReason, number>();
  private readonly badListed: BadRow[] = [];
  private badCount = 0;
  private rows = 0;
  /** Start differences (theirs − ours) of matched answered calls, in 10 ms buckets across the window. */
  private readonly skew: Int32Array;
  /** The same against the other start of ours (the INVITE when comparing answers, and back). */
  private readonly otherSkew: Int32Array;

  constructor(private readonly windowUs: number) {
    this.skew = new Int32Array(Math.ceil((2 * windowUs) / 10_000) + 1);
    this.otherSkew = new Int32Array(this.skew.length);
  }

  add(classified: Classified, day: string): void {
    const { record, figures } = classified;
    if (record.row !== null) this.rows += 1;
    let dayTotals = this.days.get(day);
    if (dayTotals === undefined) this.days.set(day, (dayTotals = emptyTotals()));
    for (const totals of [this.total, dayTotals]) {
      totals.counts[record.class] += 1;
      totals.carrierBilledUs += figures.carrierBilledUs;
      totals.ourBilledUs += figures.ourBilledUs;
      if (figures.carrierCostMicro !== null && figures.ourCostMicro !== null) {
        totals.carrierCostMicro += figures.carrierCostMicro;
        totals.ourCostMicro += figures.ourCostMicro;
        totals.priced += 1;
      } else if (figures.carrierCostMicro !== null && record.class !== 'not_billed') {
        totals.carrierCostMicro += figures.carrierCostMicro;
      }
    }
  }

  /** Theirs − ours of a matched call's start, against the start compared and against the other one. */
  addSkew(deltaUs: number, otherDeltaUs: number): void {
    for (const [histogram, delta] of [[this.skew, deltaUs], [this.otherSkew, otherDeltaUs]] as const) {
      const bucket = Math.round((delta + this.windowUs) / 10_000);
      if (bucket >= 0 && bucket < histogram.length) histogram[bucket]! += 1;
    }
  }

  addBad(bad: BadRow): void {
    this.badCount += 1;
    this.badByReason.set(bad.reason, (this.badByReason.get(bad.reason) ?? 0) + 1);
    if (this.badListed.length < BAD_ROWS_LISTED) this.badListed.push(bad);
  }

  get badRows(): number {
    return this.badCount;
  }

  get carrierRows(): number {
    return this.rows;
  }

  private skewPercentile(fraction: number, histogram: Int32Array = this.skew): number | null {
    let total = 0;
    for (const count of histogram) total += count;
    if (total === 0) return null;
    const wanted = Math.ceil(total * fraction);
    let seen = 0;
    for (let bucket = 0; bucket < histogram.length; bucket += 1) {
      seen += histogram[bucket]!;
      if (seen >= wanted) return Math.round(bucket * 10_000 - this.windowUs) / 1_000_000;
    }
    return null;
  }

  /** `withMoney`: the file had a rate or cost column. */
  build(header: Readonly<Record<string, unknown>>, withMoney: boolean, startIs: 'answer' | 'invite' = 'answer') {
    const overall = totalsJson(this.total, withMoney);
    const median = this.skewPercentile(0.5);
    const otherMedian = this.skewPercentile(0.5, this.otherSkew);
    // Their starts sit seconds off ours but close to our other start: they count from that one.
    const other = startIs === 'answer' ? 'invite' : 'answer';
    const hint = median !== null && otherMedian !== null && Math.abs(median) >= 2 && Math.abs(otherMedian) < Math.abs(median) / 2
      ? `their starts are ${Math.abs(median)} s ${median < 0 ? 'before' : 'after'} our ${startIs === 'answer' ? 'answers' : 'INVITEs'} but ${Math.abs(otherMedian)} s from our ${other === 'invite' ? 'INVITEs' : 'answers'}: try --start-is ${other}`
      : null;
    const pct = overall.billed_minutes.difference_pct;
    return {
      ...header,
      rows: { carrier: this.rows, bad: this.badCount, not_billed: this.total.counts.not_billed },
      ...overall,
      dispute: {
        threshold_pct: DISPUTE_THRESHOLD_PCT,
        recommended: pct !== null && pct > DISPUTE_THRESHOLD_PCT,
      },
      start_skew_s: {
        median,
        p05: this.skewPercentile(0.05),
        p95: this.skewPercentile(0.95),
        hint,
      },
      days: [...this.days.keys()].sort().map((day) => ({ day, ...totalsJson(this.days.get(day)!, withMoney) })),
      bad_rows: {
        count: this.badCount,
        by_reason: Object.fromEntries([...this.badByReason.entries()].sort()),
        listed: this.badListed.map((bad) => ({ row: bad.row, reason: bad.reason, detail: bad.detail })),
      },
    };
  }
}

export type Summary = ReturnType<SummaryBuilder['build']>;
