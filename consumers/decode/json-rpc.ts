/**
 * OpenSIPS 3.1.1+ bodies: a JSON-RPC 2.0 notification whose `method` is the event name.
 *
 * Duplicate keys in `params`: OpenSIPS emits keys in reverse assignment order, so the FIRST
 * occurrence is the script's latest assignment, and that is the one we keep. JSON.parse keeps the
 * last, so the members in the source are counted (first all of them, cheaply; then those of
 * `params`, by a linear walk, only when the first count leaves a doubt); only when the count
 * differs from the parsed object's (duplicates exist) is `params` rebuilt, first occurrence wins.
 */
import { failure, quoteForDetail, type DecodeFailure, type ParsedBody, type RawParams } from './parsed';

const MAX_ERROR_CHARS = 120;

export function parseJsonRpc(text: string): ParsedBody | DecodeFailure {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.slice(0, MAX_ERROR_CHARS) : 'parse error';
    return failure('decode.not_json', `body starts like JSON but does not parse: ${message}`);
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    return failure('decode.bad_body', 'JSON body is not an object');
  }
  const rpc = root as Record<string, unknown>;
  // Lenient: a missing `jsonrpc` is accepted (nothing else could be meant); a wrong one is not.
  const version = Object.hasOwn(rpc, 'jsonrpc') ? rpc.jsonrpc : undefined;
  if (version !== undefined && version !== '2.0') {
    return failure('decode.bad_body', `jsonrpc is ${quoteForDetail(version)}, expected "2.0"`);
  }
  const method = Object.hasOwn(rpc, 'method') ? rpc.method : undefined;
  if (typeof method !== 'string' || method === '') {
    return failure('decode.bad_body', `method is ${quoteForDetail(method)}, expected the event name`);
  }
  const params = Object.hasOwn(rpc, 'params') ? rpc.params : undefined;
  if (params === undefined) return { ok: true, eventName: method, params: null };
  if (Array.isArray(params)) {
    // acc's operator extras sit between its fixed fields and its figures, unnamed: not mappable.
    return failure('decode.bad_body', 'params is an array (unnamed parameters)');
  }
  if (typeof params !== 'object' || params === null) {
    return failure('decode.bad_body', `params is ${quoteForDetail(params)}, expected an object`);
  }
  if (noDuplicateKeys(text, rpc, params as RawParams)) return { ok: true, eventName: method, params: params as RawParams };
  return { ok: true, eventName: method, params: firstOccurrenceWins(text, params as RawParams) };
}

/**
 * The common case, cheaply: true when the source has exactly as many members as the parsed root
 * and `params` together, so no key of either is repeated (each parsed key came from at least one
 * source member). First the colons are counted (as many as members: done); else the members, strings
 * skipped with the native `indexOf`, not walked a character at a time, a key being a string followed
 * by `:`. False, so the exact walk below decides, when the counts differ
 * or a value of the root or of `params` is itself an object or array (its members would count too).
 */
function noDuplicateKeys(text: string, root: Record<string, unknown>, params: RawParams): boolean {
  const rootValues = Object.values(root);
  for (const value of rootValues) if (value !== params && typeof value === 'object' && value !== null) return false;
  const paramValues = Object.values(params);
  for (const value of paramValues) if (typeof value === 'object' && value !== null) return false;
  const parsedMembers = rootValues.length + paramValues.length;
  // Every member has a `:` of its own and strings may hold more, so no more colons than parsed
  // members leaves no room for a repeated one (a SIP URI in a value sends us to the count below).
  let colons = 0;
  for (let at = text.indexOf(':'); at >= 0 && colons <= parsedMembers; at = text.indexOf(':', at + 1)) colons++;
  if (colons === parsedMembers) return true;
  let sourceMembers = 0;
  for (let open = text.indexOf('"'); open >= 0;) {
    let close = text.indexOf('"', open + 1);
    while (isEscaped(text, close)) close = text.indexOf('"', close + 1);
    const next = skipSpace(text, close + 1);
    if (text.charCodeAt(next) === COLON) sourceMembers++;
    open = text.indexOf('"', next);
  }
  return sourceMembers === parsedMembers;
}

/** The quote at `at` is preceded by an odd number of backslashes (inside a string: an escaped quote). */
function isEscaped(text: string, at: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

function firstOccurrenceWins(text: string, parsed: RawParams): RawParams {
  const found = findParamsObject(text);
  if (found === null) return parsed; // `params` spelled with escapes: nothing cheap to compare against
  if (found.count === Object.keys(parsed).length) return parsed;
  const members: Array<[string, string]> = [];
  walkObject(text, found.open, members);
  const rebuilt: Record<string, unknown> = Object.create(null);
  for (const [keySource, valueSource] of members) {
    const key = JSON.parse(keySource) as string;
    if (!Object.hasOwn(rebuilt, key)) rebuilt[key] = JSON.parse(valueSource);
  }
  return rebuilt;
}

/**
 * The `{` of the last top-level `"params"` member (JSON.parse's choice) and its member count in
 * the source, or null. One pass: each `params` object is counted as it is skipped.
 */
function findParamsObject(text: string): { open: number; count: number } | null {
  let i = skipSpace(text, 0) + 1;
  let open = -1;
  let count = 0;
  for (;;) {
    i = skipSpace(text, i);
    if (text.charCodeAt(i) !== QUOTE) return open < 0 ? null : { open, count }; // `}`
    const keyStart = i;
    i = skipString(text, i);
    const isParams = i - keyStart === 8 && text.startsWith('"params"', keyStart);
    i = skipSpace(text, skipSpace(text, i) + 1); // past `:`
    if (isParams && text.charCodeAt(i) === OPEN_BRACE) {
      open = i;
      const walked = walkObject(text, i, null);
      count = walked.count;
      i = walked.end;
    } else {
      i = skipValue(text, i);
    }
    i = skipSpace(text, i);
    if (text.charCodeAt(i) === COMMA) i++;
  }
}

/** Counts (and optionally collects the source of) the members of the object at `open`. */
function walkObject(text: string, open: number, collect: Array<[string, string]> | null): { count: number; end: number } {
  let i = open + 1;
  let count = 0;
  for (;;) {
    i = skipSpace(text, i);
    if (text.charCodeAt(i) !== QUOTE) return { count, end: i + 1 };
    const keyStart = i;
    i = skipString(text, i);
    const keyEnd = i;
    i = skipSpace(text, skipSpace(text, i) + 1);
    const valueStart = i;
    i = skipValue(text, i);
    count++;
    if (collect) collect.push([text.slice(keyStart, keyEnd), text.slice(valueStart, i)]);
    i = skipSpace(text, i);
    if (text.charCodeAt(i) === COMMA) i++;
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

function skipSpace(text: string, i: number): number {
  for (;;) {
    const code = text.charCodeAt(i);
    if (code !== 32 && code !== 10 && code !== 13 && code !== 9) return i;
    i++;
  }
}

/** `i` is at an opening quote of valid JSON; returns the index after the closing quote. */
function skipString(text: string, i: number): number {
  for (i++; ; i++) {
    const code = text.charCodeAt(i);
    if (code === BACKSLASH) i++;
    else if (code === QUOTE) return i + 1;
  }
}

/** The source is valid JSON (JSON.parse accepted it), so this walk needs no error handling. */
function skipValue(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) return skipString(text, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (;;) {
      const code = text.charCodeAt(i);
      if (code === QUOTE) {
        i = skipString(text, i);
        continue;
      }
      if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
      else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
  }
  for (;;) {
    const code = text.charCodeAt(i);
    if (code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || code === 32 || code === 10 || code === 13 || code === 9 || Number.isNaN(code)) return i;
    i++;
  }
}
