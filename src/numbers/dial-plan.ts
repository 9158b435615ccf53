/**
 * The dial-plan rules applied to a dialled string before libphonenumber sees it.
 * docs/opensips.md ("Numbers as people dial them") explains each rule with real dial plans.
 */
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';

export type { CountryCode };

export interface DialPlan {
  /** Country of national numbers (ISO 3166 alpha-2); null: national numbers stay unnormalised. */
  readonly defaultCountry: CountryCode | null;
  /** International exit prefixes (`00`, NANP `011`, Australia `0011`, Japan `010`). */
  readonly exitCodes: readonly string[];
  /** Carrier-selection codes dialled right after the trunk `0` or an exit code (Brazil: 0 + CSP + area). */
  readonly carrierPrefixes: readonly string[];
  /** Leading digits removed first (a PBX outside-line `9`, Germany's call-by-call `010xx`). */
  readonly stripPrefixes: readonly string[];
}

export const DEFAULT_EXIT_CODES: readonly string[] = Object.freeze(['00', '011']);

export const DEFAULT_DIAL_PLAN: DialPlan = Object.freeze({
  defaultCountry: null,
  exitCodes: DEFAULT_EXIT_CODES,
  carrierPrefixes: Object.freeze([]),
  stripPrefixes: Object.freeze([]),
});

/** Exit codes are plain digits; carrier and strip prefixes may use `x` for any one digit. */
export const EXIT_CODE_PATTERN = /^[0-9]{1,6}$/;
export const WILDCARD_PREFIX_PATTERN = /^[0-9x]{1,8}$/;

export function toCountryCode(text: string): CountryCode | null {
  const upper = text.toUpperCase();
  return /^[A-Z]{2}$/.test(upper) && isSupportedCountry(upper) ? upper : null;
}

/** True when `digits` starts with `prefix`, where `x` in the prefix matches any digit. */
export function startsWithPrefix(digits: string, prefix: string): boolean {
  if (digits.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i += 1) {
    const p = prefix.charCodeAt(i);
    if (p !== 120 /* x */ && p !== digits.charCodeAt(i)) return false;
  }
  return true;
}
