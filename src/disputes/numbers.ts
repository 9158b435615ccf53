/**
 * Numbers on both sides, ready to compare (pure, cached). Two numbers are the same when
 * - their digits agree once a `+`, an international exit code or a technical prefix (`1234#`)
 *   is taken off (`+5511987654321`, `5511987654321`, `005511987654321`): no lookup needed; or
 * - both normalise to the same E.164 number with the dial plan of the CDRs (exit codes, carrier and
 *   outside-line prefixes, national forms). A carrier's file is written for other carriers, so
 *   its numbers are read as international first (after `+`, an exit code, or E.164 without the
 *   `+`), and as national only when no international reading is valid: `0055 51 …` is Brazil,
 *   not Peru dialled through carrier 55. As everywhere, valid readings that differ give no number.
 * libphonenumber costs tens of µs a number, so it runs only when the cheap comparison fails,
 * once per distinct number.
 */
import type { DialPlan } from '../numbers/dial-plan';
import { RecentCache } from '../numbers/recent-cache';
import { cleanDialled, readingsOf } from '../numbers/normalise';

/** Grouping key length: calls are grouped by the last digits, which every written form keeps. */
const GROUP_DIGITS = 8;
/** Callers withheld or unknown, in the words switches and carriers use: all one "anonymous". */
const WITHHELD = /^(?:anonymous|anonym|unknown|unavailable|restricted|private|withheld|blocked|none|null|n\/a|-)?$/i;

export const ANONYMOUS = 'anonymous';

export interface PartyNumber {
  /** As written (trimmed). */
  readonly raw: string;
  /** Digits without `+`, exit code or technical prefix; `anonymous` for a withheld caller; raw text when not a number. */
  readonly digits: string;
  /** E.164 when already known (our stored `caller_e164`); undefined: normalise on demand. */
  readonly e164?: string | null;
}

export class NumberMatcher {
  private readonly cache = new RecentCache<string, string | null>(200_000);

  /** The plan without a default country: only its international readings. */
  private readonly international: DialPlan;

  constructor(private readonly plan: DialPlan) {
    this.international = { ...plan, defaultCountry: null };
  }

  /** A carrier's number; null when it is not a number at all (`alice`, `*21#`), except withheld callers. */
  carrierNumber(raw: string, allowWithheld: boolean): PartyNumber | null {
    const trimmed = raw.trim();
    if (allowWithheld && WITHHELD.test(trimmed)) return { raw: trimmed, digits: ANONYMOUS };
    const digits = this.digitsOf(trimmed);
    return digits === null ? null : { raw: trimmed, digits };
  }

  /** One of our CDR's numbers, with the E.164 form the service stored (may be null). */
  ourNumber(raw: string | null, e164: string | null): PartyNumber {
    const trimmed = (raw ?? '').trim();
    if (WITHHELD.test(trimmed)) return { raw: trimmed, digits: ANONYMOUS, e164 };
    const digits = this.digitsOf(trimmed) ?? trimmed.toLowerCase();
    return e164 === null ? { raw: trimmed, digits } : { raw: trimmed, digits, e164 };
  }

  /** The grouping key of a caller/callee pair. */
  static group(caller: PartyNumber, callee: PartyNumber): string {
    return `${caller.digits.slice(-GROUP_DIGITS)}|${callee.digits.slice(-GROUP_DIGITS)}`;
  }

  same(a: PartyNumber, b: PartyNumber): boolean {
    if (a.digits === b.digits) return true;
    if (a.digits === ANONYMOUS || b.digits === ANONYMOUS) return false;
    const left = this.e164(a);
    return left !== null && left === this.e164(b);
  }

  e164(number: PartyNumber): string | null {
    if (number.e164 !== undefined && number.e164 !== null) return number.e164;
    let found = this.cache.get(number.raw);
    if (found === undefined) {
      found = this.normalise(number.raw);
      this.cache.set(number.raw, found);
    }
    return found;
  }

  /** International readings first, then national ones; a number only when the readings agree. */
  private normalise(raw: string): string | null {
    const dialled = cleanDialled(stripTechnicalPrefix(raw));
    if (dialled === null) return null;
    const international = readingsOf(dialled, this.international);
    if (!dialled.startsWith('+')) for (const reading of readingsOf(`+${dialled}`, this.international)) international.add(reading);
    const readings = international.size > 0 ? international : readingsOf(dialled, this.plan);
    return readings.size === 1 ? (readings.values().next().value as string) : null;
  }

  private digitsOf(text: string): string | null {
    const dialled = cleanDialled(stripTechnicalPrefix(text));
    if (dialled === null) return null;
    if (dialled.startsWith('+')) return dialled.slice(1);
    for (const exit of this.plan.exitCodes) {
      if (dialled.length > exit.length + 6 && dialled.startsWith(exit)) return dialled.slice(exit.length);
    }
    return dialled;
  }
}

/** `1234#5511987654321` → `5511987654321`: routing prefixes some carriers glue in front. */
export function stripTechnicalPrefix(text: string): string {
  const hash = text.lastIndexOf('#');
  return hash > 0 && /^\d+$/.test(text.slice(0, hash)) ? text.slice(hash + 1) : text;
}
