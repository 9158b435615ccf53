/**
 * Parsed parameters → the typed event (everything but its id). Decisions, each tested:
 * - time: requests read `request_time`, replies `reply_time`; when that one is absent (not when
 *   it is invalid) the other is used, since some scripts fill a single time attribute.
 * - `microseconds` absent → 0 (scripts reading only `$Ts`); present but outside 0..999999 → bad.
 * - caller/callee/direction are optional: a value of the wrong type becomes null, never a rejection.
 */
import type { AccFigures, CallEvent, Direction, EventKind } from '../../correlators/events';
import type { EventMapping, QblAttribute } from './options';
import { failure, lookup, quoteForDetail, type DecodeFailure, type RawParams } from './parsed';
import { equalsUpper, isMissing, readInt, readText } from './values';

export type DecodedFields = Omit<CallEvent, 'id'>;
type AttributeNames = Readonly<Record<QblAttribute, string>>;

/** [2000-01-01, 2100-01-01) in unix seconds: anything outside is a broken clock or a bad field. */
export const MIN_TIME_S = 946_684_800;
export const MAX_TIME_S = 4_102_444_800;
const US_PER_S = 1_000_000;

export function decodeFields(mapping: EventMapping, params: RawParams | null, names: AttributeNames): DecodedFields | DecodeFailure {
  if (mapping === 'acc_cdr' || mapping === 'acc_event' || mapping === 'acc_missed') return decodeAcc(mapping, params, names);
  const kind = mapping === 'auto' ? inferKind(params, names) : mapping;
  if (typeof kind !== 'string') return kind;

  const callId = readText(lookup(params, names.call_id));
  if (callId === null) return failure('decode.no_call_id', `${names.call_id} is ${quoteForDetail(lookup(params, names.call_id))}`);

  const isReply = kind === 'invite_reply' || kind === 'bye_reply';
  const own = isReply ? names.reply_time : names.request_time;
  const other = isReply ? names.request_time : names.reply_time;
  const timeName = isMissing(lookup(params, own)) && !isMissing(lookup(params, other)) ? other : own;
  const seconds = readInt(lookup(params, timeName));
  if (seconds === null || !(seconds >= MIN_TIME_S && seconds < MAX_TIME_S)) {
    return failure('decode.bad_time', `${timeName} is ${quoteForDetail(lookup(params, timeName))}, expected unix seconds in [${MIN_TIME_S}, ${MAX_TIME_S})`);
  }
  const micros = readInt(lookup(params, names.microseconds)) ?? 0;
  if (!(micros >= 0 && micros < US_PER_S)) {
    return failure('decode.bad_time', `${names.microseconds} is ${quoteForDetail(lookup(params, names.microseconds))}, expected 0..999999`);
  }

  let replyCode: number | null = null;
  if (isReply) {
    replyCode = readInt(lookup(params, names.reply_code));
    if (!isStatusCode(replyCode)) {
      return failure('decode.bad_field', `${names.reply_code} is ${quoteForDetail(lookup(params, names.reply_code))}, expected a SIP status 100..699`);
    }
  }

  return {
    kind,
    callId,
    timeUs: seconds * US_PER_S + micros,
    caller: readText(lookup(params, names.caller_id)),
    callee: readText(lookup(params, names.callee_id)),
    replyCode,
    direction: readDirection(lookup(params, names.direction)),
    acc: null,
  };
}

/** One event name for everything: `method` says INVITE or BYE, a `reply_code` makes it a reply. */
function inferKind(params: RawParams | null, names: AttributeNames): EventKind | DecodeFailure {
  const method = lookup(params, names.method);
  const isReply = !isMissing(lookup(params, names.reply_code));
  if (typeof method === 'string') {
    if (equalsUpper(method, 'INVITE')) return isReply ? 'invite_reply' : 'invite_request';
    if (equalsUpper(method, 'BYE')) return isReply ? 'bye_reply' : 'bye_request';
  }
  return failure('decode.bad_field', `${names.method} is ${quoteForDetail(method)}: cannot tell the event kind (expected INVITE or BYE)`);
}

function decodeAcc(kind: EventKind, params: RawParams | null, names: AttributeNames): DecodedFields | DecodeFailure {
  const callId = readText(lookup(params, 'callid'));
  if (callId === null) return failure('decode.no_call_id', `callid is ${quoteForDetail(lookup(params, 'callid'))}`);
  const seconds = readInt(lookup(params, 'time'));
  if (seconds === null || !(seconds >= MIN_TIME_S && seconds < MAX_TIME_S)) {
    return failure('decode.bad_time', `time is ${quoteForDetail(lookup(params, 'time'))}, expected unix seconds in [${MIN_TIME_S}, ${MAX_TIME_S})`);
  }
  const replyCode = readInt(lookup(params, 'sip_code'));
  if (!isStatusCode(replyCode)) {
    return failure('decode.bad_field', `sip_code is ${quoteForDetail(lookup(params, 'sip_code'))}, expected a SIP status 100..699`);
  }
  const figures: Array<[string, number | null]> = [];
  for (const name of ACC_FIGURES) {
    const value = readInt(lookup(params, name));
    if (value !== null && !(value >= 0)) {
      return failure('decode.bad_field', `${name} is ${quoteForDetail(lookup(params, name))}, expected a non-negative integer`);
    }
    figures.push([name, value]);
  }
  const method = lookup(params, 'method');
  const acc: AccFigures = {
    method: typeof method === 'string' && method !== '' ? method : null,
    durationS: figures[0][1],
    durationMs: figures[1][1],
    setupS: figures[2][1],
    createdS: figures[3][1],
    sipReason: readText(lookup(params, 'sip_reason')),
  };
  return {
    kind,
    callId,
    timeUs: seconds * US_PER_S,
    caller: readText(lookup(params, names.caller_id)),
    callee: readText(lookup(params, names.callee_id)),
    replyCode,
    direction: null,
    acc,
  };
}

const ACC_FIGURES = ['duration', 'ms_duration', 'setuptime', 'created'] as const;

function isStatusCode(code: number | null): code is number {
  return code !== null && code >= 100 && code <= 699;
}

function readDirection(value: unknown): Direction | null {
  if (typeof value !== 'string') return null;
  if (equalsUpper(value, 'DOWNSTREAM')) return 'downstream';
  if (equalsUpper(value, 'UPSTREAM')) return 'upstream';
  return null;
}
