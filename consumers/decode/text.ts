/**
 * OpenSIPS 2.1 – 3.0 bodies: the event name, then `\nname::value` per parameter.
 *
 * - Parameters come in assignment order, so for a duplicate name the LAST occurrence (the
 *   script's latest assignment) wins, matching the JSON decoder's choice.
 * - A value starting with `"` is a quoted multi-line value only when its closing `"` (not after
 *   a backslash, followed by a newline or the end) lies on a later line; OpenSIPS quotes nothing
 *   else, so `"Alice"` on one line stays as written. Without a closing quote (a truncated body),
 *   the line is taken as it is. A value ending in a backslash cannot round-trip (OpenSIPS never
 *   escapes backslashes).
 * - Every search is cached by position so a hostile body stays linear in its size.
 */
import { failure, quoteForDetail, type DecodeFailure, type ParsedBody } from './parsed';

const EVENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,254}$/;

export function parseText(text: string): ParsedBody | DecodeFailure {
  const firstEnd = lineEnd(text, 0);
  const eventName = text.slice(0, firstEnd);
  if (!EVENT_NAME.test(eventName)) {
    return failure('decode.bad_text', `neither JSON nor the text layout: first line ${quoteForDetail(eventName)} is not an event name`);
  }
  if (firstEnd === text.length) return { ok: true, eventName, params: null };

  const params: Record<string, string | null> = Object.create(null);
  const separators = new CachedFinder(text, (from) => text.indexOf('::', from));
  const closings = new CachedFinder(text, (from) => closingQuote(text, from));
  let pos = firstEnd + 1;
  let first = true;
  while (pos <= text.length) {
    let end = lineEnd(text, pos);
    const separator = separators.find(pos);
    if (separator < 0 || separator > end) {
      if (first) return failure('decode.bad_body', 'parameters are unnamed (no "name::" prefix)');
      pos = end + 1; // an unnamed line among named ones: nothing we could map it to
      continue;
    }
    const name = text.slice(pos, separator);
    const valueStart = separator + 2;
    let value: string;
    const close = text.charCodeAt(valueStart) === 34 ? closings.find(valueStart + 1) : -1;
    if (close > end) {
      value = text.slice(valueStart + 1, close).replaceAll('\\"', '"');
      end = close + 1;
    } else {
      value = text.slice(valueStart, end);
    }
    params[name] = value === '' ? null : value;
    first = false;
    pos = end + 1;
  }
  return { ok: true, eventName, params };
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end < 0 ? text.length : end;
}

/** First `"` at or after `from` that is not escaped and ends a line (or the body); -1 if none. */
function closingQuote(text: string, from: number): number {
  for (let i = text.indexOf('"', from); i >= 0; i = text.indexOf('"', i + 1)) {
    if (text.charCodeAt(i - 1) === 92) continue;
    if (i + 1 === text.length || text.charCodeAt(i + 1) === 10) return i;
  }
  return -1;
}

/**
 * Memoises a "first match at or after `from`" search: positions only move forward, so a result
 * (or a miss) stays valid for every later start up to it, and each byte is scanned once.
 */
class CachedFinder {
  private from = Infinity;
  private result = -1;

  constructor(private readonly text: string, private readonly search: (from: number) => number) {}

  find(from: number): number {
    if (from >= this.from && (this.result < 0 || from <= this.result)) return this.result;
    this.from = from;
    this.result = this.search(from);
    return this.result;
  }
}
