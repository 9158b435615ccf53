/**
 * A call's state is a fold of its events in which every field is a minimum by event time
 * (with a deterministic tie-break), so merging is commutative, associative and idempotent:
 * the same set of events gives the same state whatever the order or duplication.
 *
 * The state is one flat object whose nested values (the id array, `acc`) are replaced, never
 * mutated: the copy a step merges into is one shallow object copy (cloneCallState), and merging
 * into it cannot touch the original. Times are plain fields rather than small {time, value}
 * objects, so a merge allocates little more than the new id array.
 */
import type { AccFigures, CallEvent, Direction, EventKind } from './events';
import { isAccKind } from './events';

export interface Timed<T> {
  atUs: number;
  value: T;
}

/** The acc module's view of the call (all second/millisecond resolution). Replaced, never mutated. */
export interface AccView {
  /** E_ACC_CDR (whole dialog) or E_ACC_MISSED_EVENT (failed call): the last word on the outcome. */
  readonly final: { kind: 'acc_cdr' | 'acc_missed'; timeUs: number; code: number | null; figures: AccFigures } | null;
  /** E_ACC_EVENT INVITE with a 2xx: when the dialog was answered, and the code. */
  readonly answer: Timed<number> | null;
  /** E_ACC_EVENT BYE: when the call ended, with the BYE's reply code. */
  readonly bye: Timed<number | null> | null;
}

/**
 * Each "first X by time" is a pair of fields, `xAtUs` (null: not seen) and its value.
 * caller/callee keep the key they were chosen by: the smallest (rank, time, kind order, event id)
 * among the events that carry one (the rank follows from the kind order: see rankOf).
 */
export interface CallState {
  readonly callId: string;
  /** Distinct event ids merged so far (exact duplicates count once). Replaced on every merge, never pushed to. */
  eventIds: readonly string[];
  /** Union of idBits of every merged id: an event whose bits are not all here was certainly not merged yet. */
  idBits: number;
  qblEvents: number;
  firstEventAtUs: number;
  inviteAtUs: number | null;
  ringingAtUs: number | null;
  /** First 2xx by time (later retransmissions do not move it), with its code. */
  answerAtUs: number | null;
  answerCode: number | null;
  /** First final failure (>= 300) by time; ties to the lower code. */
  failureAtUs: number | null;
  failureCode: number | null;
  /** First BYE request by time, with its direction. */
  byeAtUs: number | null;
  byeDirection: Direction | null;
  /** First final (>= 200) reply to a BYE by time. */
  byeReplyAtUs: number | null;
  byeReplyCode: number | null;
  caller: string | null;
  callerAtUs: number | null;
  callerKindOrder: number;
  callerEventId: string;
  callee: string | null;
  calleeAtUs: number | null;
  calleeKindOrder: number;
  calleeEventId: string;
  acc: AccView | null;
  /** Event-clock instant at which the call closes if nothing else arrives. */
  deadlineUs: number;
}

const NO_IDS: readonly string[] = Object.freeze([]);

export function newCallState(callId: string): CallState {
  return {
    callId,
    eventIds: NO_IDS,
    idBits: 0,
    qblEvents: 0,
    firstEventAtUs: Number.POSITIVE_INFINITY,
    inviteAtUs: null,
    ringingAtUs: null,
    answerAtUs: null,
    answerCode: null,
    failureAtUs: null,
    failureCode: null,
    byeAtUs: null,
    byeDirection: null,
    byeReplyAtUs: null,
    byeReplyCode: null,
    // While caller/callee are null their keys are never read (any candidate wins).
    caller: null,
    callerAtUs: null,
    callerKindOrder: 0,
    callerEventId: '',
    callee: null,
    calleeAtUs: null,
    calleeKindOrder: 0,
    calleeEventId: '',
    acc: null,
    deadlineUs: Number.POSITIVE_INFINITY,
  };
}

/** The order of kinds when two events carry a caller/callee at the same time (after the rank). */
function kindOrder(kind: EventKind): number {
  switch (kind) {
    case 'invite_request': return 0;
    case 'invite_reply': return 1;
    case 'bye_request': return 2;
    case 'bye_reply': return 3;
    case 'acc_event': return 4;
    case 'acc_missed': return 5;
    default: return 6; // acc_cdr
  }
}

/**
 * "caller_id of the initial INVITE request (else of the first event that carries one)": the
 * INVITE request first, then quick-billing-log events, then acc events.
 */
function rankOf(kindOrder: number): number {
  return kindOrder === 0 ? 0 : kindOrder <= 3 ? 1 : 2;
}

/**
 * Two of 30 bits, picked by the id's first four characters (ids are hashes, so these are as good
 * as random). Checking a call's ids this way first spares most events a scan that compares
 * strings scattered across the heap, one cache miss each.
 */
function idBits(id: string): number {
  const first = (id.charCodeAt(0) * 7 + id.charCodeAt(1)) % 30;
  const second = (id.charCodeAt(2) * 7 + id.charCodeAt(3)) % 30;
  return (1 << first) | (1 << second); // NaN (an id shorter than 4) shifts by 0: still a valid filter
}

/** Whether this very event (same id) was merged into the state already. */
export function hasMerged(state: CallState, event: CallEvent): boolean {
  return isMergedId(state, event.id, idBits(event.id));
}

function isMergedId(state: CallState, id: string, bits: number): boolean {
  return (state.idBits & bits) === bits && state.eventIds.includes(id);
}

/** `ids` plus `id`, in a new array of exactly that length (an open call holds it for minutes). */
function withId(ids: readonly string[], id: string): string[] {
  const count = ids.length;
  const next = new Array<string>(count + 1);
  for (let i = 0; i < count; i += 1) next[i] = ids[i]!;
  next[count] = id;
  return next;
}

/** Whether a value keyed (rank, time, kind order, event id) beats the current one; the order a `${kindOrder}:${id}` string gave. */
function beatsPick(atUs: number, order: number, eventId: string, curAtUs: number, curOrder: number, curEventId: string): boolean {
  const rank = rankOf(order);
  const curRank = rankOf(curOrder);
  if (rank !== curRank) return rank < curRank;
  if (atUs !== curAtUs) return atUs < curAtUs;
  if (order !== curOrder) return order < curOrder;
  return eventId < curEventId;
}

/** Merges one event into the state; returns false when the event was already merged. */
export function mergeEvent(state: CallState, event: CallEvent): boolean {
  const bits = idBits(event.id);
  if (isMergedId(state, event.id, bits)) return false;
  state.eventIds = withId(state.eventIds, event.id);
  state.idBits |= bits;
  const atUs = event.timeUs;
  if (atUs < state.firstEventAtUs) state.firstEventAtUs = atUs;

  const acc = isAccKind(event.kind);
  if (acc) {
    mergeAcc(state, event);
  } else {
    state.qblEvents += 1;
    mergeQbl(state, event);
  }
  const order = kindOrder(event.kind);
  const { caller, callee } = event;
  if (caller !== null && (state.caller === null ||
    beatsPick(atUs, order, event.id, state.callerAtUs!, state.callerKindOrder, state.callerEventId))) {
    state.caller = caller;
    state.callerAtUs = atUs;
    state.callerKindOrder = order;
    state.callerEventId = event.id;
  }
  if (callee !== null && (state.callee === null ||
    beatsPick(atUs, order, event.id, state.calleeAtUs!, state.calleeKindOrder, state.calleeEventId))) {
    state.callee = callee;
    state.calleeAtUs = atUs;
    state.calleeKindOrder = order;
    state.calleeEventId = event.id;
  }
  return true;
}

/** Whether an event at `atUs` with `value` comes before the current (atUs, value): earlier, or as early and `tieLess`. */
function isEarlier(atUs: number, currentAtUs: number | null, tieLess: boolean): boolean {
  return currentAtUs === null || atUs < currentAtUs || (atUs === currentAtUs && tieLess);
}

function mergeQbl(state: CallState, event: CallEvent): void {
  const code = event.replyCode;
  const atUs = event.timeUs;
  switch (event.kind) {
    case 'invite_request':
      if (state.inviteAtUs === null || atUs < state.inviteAtUs) state.inviteAtUs = atUs;
      break;
    case 'invite_reply':
      if (code === null) break;
      if (code === 180 || code === 183) {
        if (state.ringingAtUs === null || atUs < state.ringingAtUs) state.ringingAtUs = atUs;
      } else if (code >= 200 && code < 300) {
        if (isEarlier(atUs, state.answerAtUs, code < state.answerCode!)) {
          state.answerAtUs = atUs;
          state.answerCode = code;
        }
      } else if (code >= 300) {
        if (isEarlier(atUs, state.failureAtUs, code < state.failureCode!)) {
          state.failureAtUs = atUs;
          state.failureCode = code;
        }
      }
      break;
    case 'bye_request':
      // Ties to the lower direction, with null lowest.
      if (isEarlier(atUs, state.byeAtUs, (event.direction ?? '') < (state.byeDirection ?? ''))) {
        state.byeAtUs = atUs;
        state.byeDirection = event.direction;
      }
      break;
    case 'bye_reply':
      if (code !== null && code >= 200 && isEarlier(atUs, state.byeReplyAtUs, code < state.byeReplyCode!)) {
        state.byeReplyAtUs = atUs;
        state.byeReplyCode = code;
      }
      break;
    default:
      break;
  }
}

function earlierTimed<T>(current: Timed<T> | null, atUs: number, value: T, tieLess: (a: T, b: T) => boolean): Timed<T> | null {
  if (current === null || atUs < current.atUs || (atUs === current.atUs && tieLess(value, current.value))) {
    return { atUs, value };
  }
  return current;
}

const lowerCode = (a: number, b: number) => a < b;
const lowerNullableCode = (a: number | null, b: number | null) => (a ?? 0) < (b ?? 0);

/** acc events are rare beside the quick billing log's: `acc` is rebuilt on each, so copies of the state may share it. */
function mergeAcc(state: CallState, event: CallEvent): void {
  const acc: AccView = state.acc ?? { final: null, answer: null, bye: null };
  const figures = event.acc;
  const method = figures?.method?.toUpperCase() ?? null;
  const code = event.replyCode;
  let { final, answer, bye } = acc;
  if ((event.kind === 'acc_cdr' || event.kind === 'acc_missed') && figures !== null) {
    // One dialog has one such record; if two arrive, keep the earliest, ties to the CDR kind.
    if (final === null || event.timeUs < final.timeUs || (event.timeUs === final.timeUs && event.kind === 'acc_cdr')) {
      final = { kind: event.kind, timeUs: event.timeUs, code, figures };
    }
  } else if (event.kind === 'acc_event') {
    if (method === 'BYE') bye = earlierTimed(bye, event.timeUs, code, lowerNullableCode);
    else if (code !== null && code >= 200 && code < 300) answer = earlierTimed(answer, event.timeUs, code, lowerCode);
  }
  state.acc = { final, answer, bye };
}

/**
 * A copy that can be merged into without touching the original: nested values are replaced,
 * never mutated. Written out field by field (the compiler checks none is missing): a spread of
 * this 25-field object took V8's generic path, ~1 µs per copy against ~50 ns for the literal.
 */
export function cloneCallState(s: CallState): CallState {
  return {
    callId: s.callId,
    eventIds: s.eventIds,
    idBits: s.idBits,
    qblEvents: s.qblEvents,
    firstEventAtUs: s.firstEventAtUs,
    inviteAtUs: s.inviteAtUs,
    ringingAtUs: s.ringingAtUs,
    answerAtUs: s.answerAtUs,
    answerCode: s.answerCode,
    failureAtUs: s.failureAtUs,
    failureCode: s.failureCode,
    byeAtUs: s.byeAtUs,
    byeDirection: s.byeDirection,
    byeReplyAtUs: s.byeReplyAtUs,
    byeReplyCode: s.byeReplyCode,
    caller: s.caller,
    callerAtUs: s.callerAtUs,
    callerKindOrder: s.callerKindOrder,
    callerEventId: s.callerEventId,
    callee: s.callee,
    calleeAtUs: s.calleeAtUs,
    calleeKindOrder: s.calleeKindOrder,
    calleeEventId: s.calleeEventId,
    acc: s.acc,
    deadlineUs: s.deadlineUs,
  };
}

/** Rebuilds a state from stored events (after a restart, or for a late event on a closed call). */
export function foldEvents(callId: string, events: readonly CallEvent[]): CallState {
  const state = newCallState(callId);
  for (const event of events) mergeEvent(state, event);
  return state;
}
