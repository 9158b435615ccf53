/** The cached normaliser the pipeline runs for every CDR, and the enricher that fills extras. */
import type { CdrRecord } from '../../correlators/cdr';
import type { DialPlan } from './dial-plan';
import { RecentCache } from './recent-cache';
import { normaliseNumber } from './normalise';

/** Distinct numbers remembered; a busy switch sees far fewer distinct numbers per hour than this. */
export const DEFAULT_NUMBER_CACHE_ENTRIES = 50_000;

export type NumberNormaliser = (raw: string | null | undefined) => string | null;

export function createNormaliser(plan: DialPlan, cacheEntries = DEFAULT_NUMBER_CACHE_ENTRIES): NumberNormaliser {
  const cache = new RecentCache<string, string | null>(cacheEntries);
  return (raw) => {
    if (raw === null || raw === undefined) return null;
    const cached = cache.get(raw);
    if (cached !== undefined) return cached;
    const e164 = normaliseNumber(raw, plan);
    cache.set(raw, e164);
    return e164;
  };
}

/** Fills `extras.caller_e164` / `callee_e164`; the raw `caller` / `callee` stay untouched. */
export function makeNumberEnricher(plan: DialPlan, cacheEntries?: number): (record: CdrRecord) => CdrRecord {
  const normalise = createNormaliser(plan, cacheEntries);
  return (record) => ({
    ...record,
    extras: { ...record.extras, caller_e164: normalise(record.cdr.caller), callee_e164: normalise(record.cdr.callee) },
  });
}
