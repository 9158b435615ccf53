/**
 * How a dialled string becomes the key its figures and block-list entries are filed under, and
 * whether it can be a number at all. The same rules run on the CDRs the pipeline writes and on the
 * numbers OpenSIPS asks about, so `00 55 11 98765-4321` and `+5511987654321` meet on one key.
 */
import { startsWithPrefix, type DialPlan } from '../numbers/dial-plan';
import { cleanDialled, MAX_INPUT_CHARS, readingsOf } from '../numbers/normalise';

export interface NumberReading {
  /** E.164 when the dial plan reads the number one way only; null otherwise. */
  readonly e164: string | null;
  /** What figures and the block list are keyed by: the E.164 number, else the dialled digits; null when not dialled digits at all. */
  readonly key: string | null;
  /** Cannot be a number under the dial plan (see isMalformed). */
  readonly malformed: boolean;
}

/** Up to this many digits without `+` is a short code (112, 190, voicemail 1234): never `malformed`. */
export const SHORT_CODE_MAX_DIGITS = 6;

const NOT_A_NUMBER: NumberReading = Object.freeze({ e164: null, key: null, malformed: true });

/** The key of a number the dial plan already normalised (a CDR's `callee_e164`), else of its dialled form. */
export function destinationKey(raw: string | null, e164: string | null): string | null {
  if (e164 !== null) return e164;
  return raw === null ? null : cleanDialled(raw);
}

/**
 * The key of a caller: its number when it has one, else the account name as sent (`alice`),
 * lower-cased and capped, so a burst from a SIP account without a number is still seen.
 */
export function callerKey(raw: string | null, e164: string | null): string | null {
  const key = destinationKey(raw, e164);
  if (key !== null || raw === null) return key;
  const name = raw.trim().toLowerCase();
  return name === '' ? null : name.slice(0, MAX_INPUT_CHARS);
}

/** Written with `+` or an international exit code, so the dial plan can judge it. */
function international(dialled: string, plan: DialPlan): boolean {
  if (dialled.startsWith('+')) return true;
  const bodies = [dialled, ...plan.stripPrefixes.filter((p) => startsWithPrefix(dialled, p)).map((p) => dialled.slice(p.length))];
  return bodies.some((body) => plan.exitCodes.some((exit) => body.startsWith(exit)));
}

/**
 * Malformed: not dialled digits (`alice`, `*21#`, 70 characters), or no valid reading where the
 * dial plan can judge — an international form, or a national one longer than a short code when
 * QBL_DEFAULT_COUNTRY says which country's plan applies. A national number without a default
 * country, or one read two valid ways, is unknown, not malformed.
 */
export function readNumber(raw: string, plan: DialPlan): NumberReading {
  const dialled = cleanDialled(raw);
  if (dialled === null) return NOT_A_NUMBER;
  const readings = readingsOf(dialled, plan);
  if (readings.size === 1) {
    const e164 = readings.values().next().value as string;
    return { e164, key: e164, malformed: false };
  }
  if (readings.size > 1) return { e164: null, key: dialled, malformed: false };
  const digits = dialled.startsWith('+') ? dialled.length - 1 : dialled.length;
  const judged = dialled.startsWith('+')
    || (digits > SHORT_CODE_MAX_DIGITS && (international(dialled, plan) || plan.defaultCountry !== null));
  return { e164: null, key: dialled, malformed: judged };
}
