/** Raw attribute values → typed values. Both formats may carry numbers or strings of digits. */

const UINT64 = 1n << 64n;
const INT64_MAX = (1n << 63n) - 1n;
/** Up to 15 digits Number() is exact; longer strings go through BigInt. */
const EXACT_DIGITS = 15;
const MAX_DIGITS = 20;

/** True for null, undefined and '': OpenSIPS's "unset" in either format. */
export function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * An integer, null when missing, NaN when present but not an integer. Digit strings at or above
 * 2^63 are unsigned 64-bit renderings of negatives (2.x text prints `-1` as 18446744073709551615).
 */
export function readInt(value: unknown): number | null {
  if (isMissing(value)) return null;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : NaN;
  if (typeof value !== 'string') return NaN;
  return parseIntText(value);
}

function parseIntText(text: string): number {
  const length = text.length;
  const negative = text.charCodeAt(0) === 45; // '-'
  const first = negative ? 1 : 0;
  if (length === first || length - first > MAX_DIGITS) return NaN;
  for (let i = first; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return NaN;
  }
  if (length - first <= EXACT_DIGITS) return Number(text);
  let big = BigInt(text);
  if (big > INT64_MAX && big < UINT64) big -= UINT64;
  const result = Number(big);
  return Number.isSafeInteger(result) ? result : NaN;
}

/** A non-empty string; numbers become their decimal text; anything else is null. */
export function readText(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** ASCII case-insensitive comparison with an upper-case constant, without allocating. */
export function equalsUpper(value: string, upper: string): boolean {
  if (value.length !== upper.length) return false;
  for (let i = 0; i < upper.length; i++) {
    let code = value.charCodeAt(i);
    if (code >= 97 && code <= 122) code -= 32;
    if (code !== upper.charCodeAt(i)) return false;
  }
  return true;
}
