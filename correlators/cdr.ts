/** The CDR contract (docs/cdr.md): field names, types and the timestamp format. */
import { sha1Hex } from './sha1';

export type Disposition = 'answered' | 'busy' | 'no_answer' | 'cancelled' | 'failed' | 'unknown';
export type ClosedBy = 'bye' | 'final_reply' | 'timeout';
export type HangupBy = 'caller' | 'callee';
export type CdrSource = 'qbl' | 'acc';

export const DISPOSITIONS: readonly Disposition[] = ['answered', 'busy', 'no_answer', 'cancelled', 'failed', 'unknown'];

/** Exactly the fields of cdr.md, in its order. Timestamps are RFC 3339 UTC with six fractional digits. */
export interface Cdr {
  cdr_id: string;
  call_id: string;
  caller: string | null;
  callee: string | null;
  disposition: Disposition;
  final_code: number | null;
  invite_at: string | null;
  ringing_at: string | null;
  answer_at: string | null;
  end_at: string | null;
  pdd_us: number | null;
  setup_us: number | null;
  talk_us: number | null;
  total_us: number | null;
  bye_code: number | null;
  hangup_by: HangupBy | null;
  closed_by: ClosedBy;
  complete: boolean;
  events: number;
  source: CdrSource;
}

export const CDR_FIELDS: readonly (keyof Cdr)[] = [
  'cdr_id', 'call_id', 'caller', 'callee', 'disposition', 'final_code', 'invite_at', 'ringing_at',
  'answer_at', 'end_at', 'pdd_us', 'setup_us', 'talk_us', 'total_us', 'bye_code', 'hangup_by',
  'closed_by', 'complete', 'events', 'source',
];

/** What the acc module said about a call that also has quick-billing-log events. */
export interface AccComparison {
  acc_duration_ms: number | null;
  acc_setup_ms: number | null;
  acc_code: number | null;
  /** True when acc and qbl talk time differ by more than the configured tolerance; null when not comparable. */
  acc_mismatch: boolean | null;
}

/** Fields beyond cdr.md that the service adds (kept apart so `cdr.md` output stays exact). */
export interface CdrExtras extends AccComparison {
  caller_e164: string | null;
  callee_e164: string | null;
}

/** A CDR as the pipeline hands it to the stores. */
export interface CdrRecord {
  cdr: Cdr;
  extras: CdrExtras;
  /** The call's own start (invite_at, else its earliest event): picks time-based indices. */
  startUs: number;
  /**
   * Set on a rewrite whose start moved (a late INVITE, an earlier straggler): the start the
   * previous version was written under, so a store that files by time can remove that copy.
   */
  previousStartUs?: number;
}

export const EMPTY_EXTRAS: CdrExtras = Object.freeze({
  caller_e164: null, callee_e164: null, acc_duration_ms: null, acc_setup_ms: null, acc_code: null, acc_mismatch: null,
}) as CdrExtras;

/**
 * `sha1(call_id)`, hashed every time: the one-shot hash (~0.9 µs) costs no more than looking the
 * id up in the cache of recent calls this replaced (a lookup in a large Map is mostly cache
 * misses), and nearly every call is hashed once anyway.
 */
export function cdrIdFor(callId: string): string {
  return sha1Hex(callId);
}

const US_PER_S = 1_000_000;

/** `00`…`59` followed by the decimal point: the seconds of a timestamp. */
const SECONDS_DOT = Array.from({ length: 60 }, (_, s) => `${String(s).padStart(2, '0')}.`);
/** `000`…`999`: the first three fractional digits; the last three come with the closing `Z`. */
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
const THREE_DIGITS_Z = THREE_DIGITS.map((digits) => `${digits}Z`);

/**
 * `YYYY-MM-DDTHH:MM:` of recent minutes, direct-mapped by minute: a CDR's timestamps, and the
 * CDRs closed by one batch, fall within a few minutes of each other, so the date arithmetic
 * runs about once a minute instead of five times per CDR.
 */
const MINUTE_SLOTS = 16;
const cachedMinutes = new Float64Array(MINUTE_SLOTS).fill(-1);
const cachedMinutePrefixes: string[] = new Array<string>(MINUTE_SLOTS).fill('');

/** `2026-11-27T13:05:09.123456Z`, by integer arithmetic (never through floating-point seconds). */
export function formatUs(timeUs: number): string {
  const seconds = Math.floor(timeUs / US_PER_S);
  const fraction = timeUs - seconds * US_PER_S;
  if (timeUs >= 0 && timeUs <= Number.MAX_SAFE_INTEGER) {
    const minute = Math.floor(seconds / 60);
    const slot = minute % MINUTE_SLOTS;
    let prefix = cachedMinutePrefixes[slot]!;
    if (cachedMinutes[slot] !== minute) {
      prefix = civilMinute(minute);
      cachedMinutes[slot] = minute;
      cachedMinutePrefixes[slot] = prefix;
    }
    const millis = Math.floor(fraction / 1000);
    return prefix + SECONDS_DOT[seconds - minute * 60]! + THREE_DIGITS[millis]! + THREE_DIGITS_Z[fraction - millis * 1000]!;
  }
  const iso = new Date(seconds * 1000).toISOString(); // ends in `.000Z`
  return `${iso.slice(0, -4)}${String(fraction).padStart(6, '0')}Z`;
}

function pad(value: number, digits: number): string {
  const text = String(value);
  return text.length >= digits ? text : '000000'.slice(0, digits - text.length) + text;
}

/**
 * `YYYY-MM-DDTHH:MM:` of unix minutes >= 0, without a Date (Date + toISOString was once the
 * correlator's largest cost). Days to civil date: H. Hinnant.
 */
function civilMinute(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const inDay = minutes - days * 1440;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(inDay / 60);
  const minute = inDay - hour * 60;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:`;
}

export function formatUsOrNull(timeUs: number | null): string | null {
  return timeUs === null ? null : formatUs(timeUs);
}

const RFC3339_US = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp into integer microseconds (digits beyond the sixth are dropped). */
export function parseUs(text: string): number | null {
  const match = RFC3339_US.exec(text);
  if (!match) return null;
  const millis = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(millis)) return null;
  const fraction = Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
  return millis * 1000 + fraction;
}
