/** What the two body parsers hand to the field mapper, and how any stage says no. */
import type { DeadLetterReason } from '../../src/errors';

export interface DecodeFailure {
  readonly ok: false;
  readonly reason: DeadLetterReason;
  readonly detail: string;
}

/** Attribute name → raw value (`undefined` when absent). Null-prototype or JSON.parse objects. */
export type RawParams = Readonly<Record<string, unknown>>;

export interface ParsedBody {
  readonly ok: true;
  readonly eventName: string;
  /** null when the notification carried no parameters at all. */
  readonly params: RawParams | null;
}

export function failure(reason: DeadLetterReason, detail: string): DecodeFailure {
  return { ok: false, reason, detail };
}

const MAX_QUOTED_CHARS = 64;

/** A short, printable rendering of untrusted input for a dead-letter detail. */
export function quoteForDetail(value: unknown): string {
  if (value === undefined) return 'absent';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value !== 'string') return String(value); // bare, so 7 and "7" stay apart
  const cut = value.length > MAX_QUOTED_CHARS ? `${value.slice(0, MAX_QUOTED_CHARS)}…` : value;
  return JSON.stringify(cut);
}

export function lookup(params: RawParams | null, name: string): unknown {
  return params !== null && Object.hasOwn(params, name) ? params[name] : undefined;
}
