/**
 * Everything a lookup answers from, in memory: the number figures, the burst figures and the block
 * list. Pure apart from what is passed in (facts, block-list versions, the time); the worker thread
 * owns one and serves it over HTTP.
 */
import { formatUs } from '../../correlators/cdr';
import type { DialPlan } from '../numbers/dial-plan';
import { RecentCache } from '../numbers/recent-cache';
import { BlockList, type BlockEntry } from './blocklist';
import { BurstFigures } from './burst-figures';
import type { CallFact } from './facts';
import { NumberFigures } from './number-figures';
import { callerKey, readNumber, type NumberReading } from './number-key';
import type { LookupLimits, LookupRules, Reason } from './options';
import { decide, type Verdict } from './rules';

export type { LookupLimits };

/** Distinct numbers asked about whose reading is remembered (normalising costs 15–20 µs). */
export const READING_CACHE_ENTRIES = 50_000;

export interface LookupAnswer {
  readonly number: string;
  readonly e164: string | null;
  readonly verdict: Verdict;
  readonly reasons: readonly Reason[];
  readonly figures: {
    readonly window_days: number;
    readonly calls: number;
    readonly answered: number;
    readonly invalid: number;
    readonly last_final_code: number | null;
    readonly last_seen: string | null;
  };
  readonly burst: {
    readonly caller: string;
    readonly prefix: string;
    readonly window_s: number;
    readonly calls: number;
    readonly short_or_unanswered: number;
  } | null;
  readonly blocklist: { readonly entry: string; readonly reason: string; readonly expires_at: string | null } | null;
}

export interface LookupStats {
  readonly numbers: number;
  readonly pairs: number;
  readonly blockEntries: number;
  readonly evictedNumbers: number;
  readonly evictedPairs: number;
  /** Calls folded in since start (rebuild included). */
  readonly facts: number;
}

const S_PER_US = 1_000_000;
/** Expired entries and tombstones are kept this long: longer than any poll overlap (BLOCKLIST_OVERLAP_US). */
export const TOMBSTONE_KEEP_US = 3_600_000_000;

export class LookupState {
  private readonly numbers: NumberFigures;
  private readonly bursts: BurstFigures;
  private readonly blocklist = new BlockList();
  private readonly readings = new RecentCache<string, NumberReading>(READING_CACHE_ENTRIES);
  private facts = 0;

  constructor(private readonly rules: LookupRules, limits: LookupLimits, private readonly plan: DialPlan) {
    this.numbers = new NumberFigures(limits.maxNumbers, rules.invalidCalls, rules.windowDays, rules.invalidCodes);
    this.bursts = new BurstFigures(limits.maxPairs, rules.burstCalls, rules.burstWindowS, rules.burstPrefixDigits, rules.burstShortS * 1000);
  }

  ingest(facts: Iterable<CallFact>): void {
    for (const fact of facts) {
      this.numbers.add(fact);
      this.bursts.add(fact);
      this.facts += 1;
      // The CDR already says how the dial plan reads these strings: a lookup of them is a cache hit.
      this.learn(fact.calleeDialled, fact.callee);
      this.learn(fact.callerDialled, fact.caller);
    }
  }

  private learn(dialled: string | undefined, e164: string | null): void {
    if (dialled === undefined || e164 === null || this.readings.has(dialled)) return;
    this.readings.set(dialled, { e164, key: e164, malformed: false });
  }

  applyBlocklist(entries: Iterable<BlockEntry>): void {
    this.blocklist.apply(entries);
  }

  /** Forgets figures that left their windows and expired block-list entries; `maxScan` bounds the work per call. */
  prune(nowMs: number, maxScan: number): void {
    const nowS = Math.floor(nowMs / 1000);
    this.numbers.prune(nowS, maxScan);
    this.bursts.prune(nowS, maxScan);
    this.blocklist.dropExpired(nowMs * 1000, TOMBSTONE_KEEP_US);
  }

  stats(): LookupStats {
    return {
      numbers: this.numbers.size, pairs: this.bursts.size, blockEntries: this.blocklist.size,
      evictedNumbers: this.numbers.evictions, evictedPairs: this.bursts.evictions, facts: this.facts,
    };
  }

  private read(raw: string): NumberReading {
    let reading = this.readings.get(raw);
    if (reading === undefined) {
      reading = readNumber(raw, this.plan);
      this.readings.set(raw, reading);
    }
    return reading;
  }

  /** `number` and `caller` as OpenSIPS sent them (already URL-decoded and length-checked). */
  answer(number: string, caller: string | undefined, nowMs: number): LookupAnswer {
    const nowS = Math.floor(nowMs / 1000);
    const { rules } = this;
    const found = new Set<Reason>();
    const reading = this.read(number);
    if (reading.malformed) found.add('malformed');
    const key = reading.key;

    const block = key === null ? null : this.blocklist.match(key, nowMs * 1000);
    if (block !== null) found.add('blocklisted');

    const view = key === null ? null : this.numbers.view(key, nowS);
    if (view?.invalidStreak === true) found.add('invalid_number');

    let burst: LookupAnswer['burst'] = null;
    if (caller !== undefined && key !== null) {
      const from = callerKey(caller, this.read(caller).e164);
      if (from !== null) {
        const figures = this.bursts.view(from, key, nowS);
        if (figures.burst) found.add('fraud_burst');
        burst = { caller: from, prefix: figures.prefix, window_s: rules.burstWindowS, calls: figures.calls, short_or_unanswered: figures.shortOrUnanswered };
      }
    }

    const { verdict, reasons } = decide(found, rules.actions);
    return {
      number,
      e164: reading.e164,
      verdict,
      reasons,
      figures: {
        window_days: rules.windowDays,
        calls: view?.calls ?? 0,
        answered: view?.answered ?? 0,
        invalid: view?.invalid ?? 0,
        last_final_code: view?.lastFinalCode ?? null,
        last_seen: view === null ? null : formatUs(view.lastSeenS * S_PER_US),
      },
      burst,
      blocklist: block === null ? null : {
        entry: block.entry, reason: block.reason, expires_at: block.expiresAtUs === null ? null : formatUs(block.expiresAtUs),
      },
    };
  }
}
