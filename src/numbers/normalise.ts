/**
 * Caller and callee as dialled → E.164, or null. Never a guess: every reading the dial plan
 * allows is tried, and a number is returned only when the readings that libphonenumber finds
 * valid (`isValid`, not merely `isPossible`) agree on one E.164 number.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { startsWithPrefix, type CountryCode, type DialPlan } from './dial-plan';

/** Longer inputs are junk, not numbers (E.164 has 15 digits; prefixes add a few). */
export const MAX_INPUT_CHARS = 64;
export const MAX_DIALLED_DIGITS = 24;

const SCHEME = /^(?:sips?|tel):/i;
const VISUAL_SEPARATORS = /[\s\-.()/\u00a0]/g;
const DIALLED = /^\+?[0-9]+$/;

/**
 * The user part as digits, with a leading `+` when it had one; null for anything that is not a
 * dialled number (`alice`, `*21#`, letters). Strips a `sip:`/`tel:` scheme, `@host`, `;params`
 * and the visual separators of RFC 3966 (spaces, `-`, `.`, parentheses) plus `/`.
 */
export function cleanDialled(raw: string): string | null {
  let text = raw.trim();
  if (text === '' || text.length > MAX_INPUT_CHARS) return null;
  text = text.replace(SCHEME, '');
  const at = text.indexOf('@');
  if (at >= 0) text = text.slice(0, at);
  const semicolon = text.indexOf(';');
  if (semicolon >= 0) text = text.slice(0, semicolon);
  text = text.replace(VISUAL_SEPARATORS, '');
  if (!DIALLED.test(text)) return null;
  const digits = text.startsWith('+') ? text.length - 1 : text.length;
  return digits === 0 || digits > MAX_DIALLED_DIGITS ? null : text;
}

function validInternational(significant: string): string | null {
  // Country code + national number: 15 digits at most (ITU-T E.164); the shortest valid ones have 7.
  if (significant.length < 7 || significant.length > 15 || significant.startsWith('0')) return null;
  const parsed = parsePhoneNumberFromString(`+${significant}`, { extract: false });
  return parsed !== undefined && parsed.isValid() ? parsed.number : null;
}

function validNational(dialled: string, country: CountryCode): string | null {
  const parsed = parsePhoneNumberFromString(dialled, { defaultCountry: country, extract: false });
  return parsed !== undefined && parsed.isValid() ? parsed.number : null;
}

/** The digit strings left after an optional strip prefix: the input itself and each stripped form. */
function bodiesOf(digits: string, stripPrefixes: readonly string[]): string[] {
  const bodies = [digits];
  for (const prefix of stripPrefixes) {
    if (digits.length > prefix.length && startsWithPrefix(digits, prefix)) bodies.push(digits.slice(prefix.length));
  }
  return bodies;
}

/** Every E.164 number the dial plan's readings of `dialled` produce (each valid for libphonenumber). */
export function readingsOf(dialled: string, plan: DialPlan): Set<string> {
  const found = new Set<string>();
  const add = (e164: string | null): void => {
    if (e164 !== null) found.add(e164);
  };
  if (dialled.startsWith('+')) {
    // Already international: the dial plan does not apply.
    add(validInternational(dialled.slice(1)));
    return found;
  }
  for (const body of bodiesOf(dialled, plan.stripPrefixes)) {
    for (const exit of plan.exitCodes) {
      if (!body.startsWith(exit)) continue;
      const rest = body.slice(exit.length);
      add(validInternational(rest));
      for (const carrier of plan.carrierPrefixes) {
        if (startsWithPrefix(rest, carrier)) add(validInternational(rest.slice(carrier.length)));
      }
    }
    const country = plan.defaultCountry;
    if (country === null) continue;
    add(validNational(body, country));
    if (body.startsWith('0')) {
      for (const carrier of plan.carrierPrefixes) {
        // 0 + carrier + area + number → 0 + area + number (the trunk prefix stays).
        if (startsWithPrefix(body.slice(1), carrier)) add(validNational(`0${body.slice(1 + carrier.length)}`, country));
      }
    }
  }
  return found;
}

/** E.164 (`+5511987654321`) or null: unparseable, invalid, or ambiguous under the dial plan. */
export function normaliseNumber(raw: string | null | undefined, plan: DialPlan): string | null {
  if (raw === null || raw === undefined) return null;
  const dialled = cleanDialled(raw);
  if (dialled === null) return null;
  const readings = readingsOf(dialled, plan);
  return readings.size === 1 ? (readings.values().next().value as string) : null;
}
