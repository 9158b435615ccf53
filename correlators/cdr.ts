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
  /** The call's own start (invite_at, else its earliest event): picks time-based indices, never changes. */
  startUs: number;
}

export const EMPTY_EXTRAS: CdrExtras = Object.freeze({
  caller_e164: null, callee_e164: null, acc_duration_ms: null, acc_setup_ms: null, acc_code: null, acc_mismatch: null,
}) as CdrExtras;

export function cdrIdFor(callId: string): string {
  return createHash('sha1').update(callId, 'utf8').digest('hex');
}

const US_PER_S = 1_000_000;

/** `2026-11-27T13:05:09.123456Z`, by integer arithmetic (never through floating-point seconds). */
export function formatUs(timeUs: number): string {
  const seconds = Math.floor(timeUs / US_PER_S);
  const fraction = timeUs - seconds * US_PER_S;
  const iso = new Date(seconds * 1000).toISOString(); // ends in `.000Z`
  return `${iso.slice(0, -4)}${String(fraction).padStart(6, '0')}Z`;
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
