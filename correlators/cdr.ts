/** The CDR contract (`shared/spec/cdr.md`): field names, types and the timestamp format. */
import { createHash } from 'node:crypto';

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

/** Calls get their CDR rebuilt on every late event: remember recent ids instead of hashing again. */
const recentCdrIds = new Map<string, string>();
const RECENT_CDR_IDS_MAX = 65_536;

export function cdrIdFor(callId: string): string {
  let id = recentCdrIds.get(callId);
  if (id === undefined) {
    id = createHash('sha1').update(callId, 'utf8').digest('hex');
    if (recentCdrIds.size >= RECENT_CDR_IDS_MAX) recentCdrIds.clear();
    recentCdrIds.set(callId, id);
  }
  return id;
}

const US_PER_S = 1_000_000;


/** `2026-11-27T13:05:09.123456Z`, by integer arithmetic (never through floating-point seconds). */
export function formatUs(timeUs: number): string {
  const seconds = Math.floor(timeUs / US_PER_S);
  const fraction = timeUs - seconds * US_PER_S;
  if (timeUs >= 0 && timeUs <= Number.MAX_SAFE_INTEGER) return `${civilSeconds(seconds)}.${pad(fraction, 6)}Z`;
  const iso = new Date(seconds * 1000).toISOString(); // ends in `.000Z`
  return `${iso.slice(0, -4)}${String(fraction).padStart(6, '0')}Z`;
}

function pad(value: number, digits: number): string {
  const text = String(value);
  return text.length >= digits ? text : '000000'.slice(0, digits - text.length) + text;
}

/**
 * `YYYY-MM-DDTHH:MM:SS` of unix seconds >= 0, without a Date (CDR building formats five of these
 * per call; Date + toISOString was the correlator's largest cost). Days to civil date: H. Hinnant.
 */
function civilSeconds(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const inDay = seconds - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(inDay / 3600);
  const minute = Math.floor((inDay - hour * 3600) / 60);
  const second = inDay - hour * 3600 - minute * 60;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
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
