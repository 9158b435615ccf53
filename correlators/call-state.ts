/**
 * A call's state is a fold of its events in which every field is a minimum by event time
 * (with a deterministic tie-break), so merging is commutative, associative and idempotent:
 * the same set of events gives the same state whatever the order or duplication.
 */
import type { AccFigures, CallEvent, Direction, EventKind } from './events';
import { isAccKind } from './events';

/** A value chosen by the smallest (rank, time, kind order, event id) among the events that carry one. */
interface Pick<T> {
  value: T;
  rank: number;
  atUs: number;
  kindOrder: number;
  eventId: string;
}

export interface Timed<T> {
  atUs: number;
  value: T;
}

/** The acc module's view of the call (all second/millisecond resolution). */
export interface AccView {
  /** E_ACC_CDR (whole dialog) or E_ACC_MISSED_EVENT (failed call): the last word on the outcome. */
  final: { kind: 'acc_cdr' | 'acc_missed'; timeUs: number; code: number | null; figures: AccFigures } | null;
  /** E_ACC_EVENT INVITE with a 2xx: when the dialog was answered, and the code. */
  answer: Timed<number> | null;
  /** E_ACC_EVENT BYE: when the call ended, with the BYE's reply code. */
  bye: Timed<number | null> | null;
}

export interface CallState {
  readonly callId: string;
  /** Distinct event ids merged so far (exact duplicates count once). Replaced, not only pushed to: see compactIds. */
  eventIds: string[];
  qblEvents: number;
  firstEventAtUs: number;
  inviteAtUs: number | null;
  ringingAtUs: number | null;
  /** First 2xx by time (later retransmissions do not move it), with its code. */
  answer: Timed<number> | null;
  /** First final failure (>= 300) by time; ties to the lower code. */
  failure: Timed<number> | null;
  /** First BYE request by time. */
  bye: Timed<Direction | null> | null;
  /** First final (>= 200) reply to a BYE by time. */
  byeReply: Timed<number> | null;
  caller: Pick<string> | null;
  callee: Pick<string> | null;
  acc: AccView | null;
  /** Closed calls are no longer in memory; a late event reloads them and rewrites their CDR. */
  closed: boolean;
  /** Event-clock instant at which the call closes if nothing else arrives. */
  deadlineUs: number;
}

export function newCallState(callId: string): CallState {
  return {
    callId,
    eventIds: [],
    qblEvents: 0,
    firstEventAtUs: Number.POSITIVE_INFINITY,
    inviteAtUs: null,
    ringingAtUs: null,
    answer: null,
    failure: null,
    bye: null,
    byeReply: null,
    caller: null,
    callee: null,
    acc: null,
    closed: false,
    deadlineUs: Number.POSITIVE_INFINITY,
  };
}

const KIND_ORDER: Record<EventKind, number> = {
  invite_request: 0, invite_reply: 1, bye_request: 2, bye_reply: 3, acc_event: 4, acc_missed: 5, acc_cdr: 6,
};

function minTime(current: number | null, candidate: number): number {
  return current === null || candidate < current ? candidate : current;
}

function earlierTimed<T>(current: Timed<T> | null, atUs: number, value: T, tieLess: (a: T, b: T) => boolean): Timed<T> | null {
  if (current === null || atUs < current.atUs || (atUs === current.atUs && tieLess(value, current.value))) {
    return { atUs, value };
  }
  return current;
}

const lowerCode = (a: number, b: number) => a < b;
const lowerDirection = (a: Direction | null, b: Direction | null) => (a ?? '') < (b ?? '');
const lowerNullableCode = (a: number | null, b: number | null) => (a ?? 0) < (b ?? 0);

/** The tie-break compares (kind order, event id): the order a `${kindOrder}:${id}` string gave, without building one per event. */
function betterPick<T>(current: Pick<T> | null, value: T, rank: number, atUs: number, kindOrder: number, eventId: string): Pick<T> | null {
  if (
    current === null || rank < current.rank ||
    (rank === current.rank && (atUs < current.atUs || (atUs === current.atUs &&
      (kindOrder < current.kindOrder || (kindOrder === current.kindOrder && eventId < current.eventId)))))
  ) {
    return { value, rank, atUs, kindOrder, eventId };
  }
  return current;
}

/** Merges one event into the state; returns false when the event was already merged. */
export function mergeEvent(state: CallState, event: CallEvent): boolean {
  if (state.eventIds.includes(event.id)) return false;
  state.eventIds.push(event.id);
  if (event.timeUs < state.firstEventAtUs) state.firstEventAtUs = event.timeUs;

  if (isAccKind(event.kind)) {
    mergeAcc(state, event);
  } else {
    state.qblEvents += 1;
    mergeQbl(state, event);
  }
  // "caller_id of the initial INVITE request (else of the first event that carries one)".
  const rank = event.kind === 'invite_request' ? 0 : isAccKind(event.kind) ? 2 : 1;
  const kindOrder = KIND_ORDER[event.kind];
  if (event.caller !== null) state.caller = betterPick(state.caller, event.caller, rank, event.timeUs, kindOrder, event.id);
  if (event.callee !== null) state.callee = betterPick(state.callee, event.callee, rank, event.timeUs, kindOrder, event.id);
  return true;
}

function mergeQbl(state: CallState, event: CallEvent): void {
  const code = event.replyCode;
  switch (event.kind) {
    case 'invite_request':
      state.inviteAtUs = minTime(state.inviteAtUs, event.timeUs);
      break;
    case 'invite_reply':
      if (code === null) break;
      if (code === 180 || code === 183) state.ringingAtUs = minTime(state.ringingAtUs, event.timeUs);
      else if (code >= 200 && code < 300) state.answer = earlierTimed(state.answer, event.timeUs, code, lowerCode);
      else if (code >= 300) state.failure = earlierTimed(state.failure, event.timeUs, code, lowerCode);
      break;
    case 'bye_request':
      state.bye = earlierTimed(state.bye, event.timeUs, event.direction, lowerDirection);
      break;
    case 'bye_reply':
      if (code !== null && code >= 200) state.byeReply = earlierTimed(state.byeReply, event.timeUs, code, lowerCode);
      break;
    default:
      break;
  }
}

function mergeAcc(state: CallState, event: CallEvent): void {
  const acc = (state.acc ??= { final: null, answer: null, bye: null });
  const figures = event.acc;
  const method = figures?.method?.toUpperCase() ?? null;
  const code = event.replyCode;
  if ((event.kind === 'acc_cdr' || event.kind === 'acc_missed') && figures !== null) {
    // One dialog has one such record; if two arrive, keep the earliest, ties to the CDR kind.
    const current = acc.final;
    if (current === null || event.timeUs < current.timeUs || (event.timeUs === current.timeUs && event.kind === 'acc_cdr')) {
      acc.final = { kind: event.kind, timeUs: event.timeUs, code, figures };
    }
  } else if (event.kind === 'acc_event') {
    if (method === 'BYE') acc.bye = earlierTimed(acc.bye, event.timeUs, code, lowerNullableCode);
    else if (code !== null && code >= 200 && code < 300) acc.answer = earlierTimed(acc.answer, event.timeUs, code, lowerCode);
  }
}

/** A copy that can be merged into without touching the original (nested values are replaced, never mutated, except `acc`). */
export function cloneCallState(state: CallState): CallState {
  return { ...state, eventIds: state.eventIds.slice(), acc: state.acc === null ? null : { ...state.acc } };
}

/**
 * Drops the spare capacity `push` leaves in the id array (V8 grows an array to 17 slots on its
 * first push): an open call is held for minutes, so its few ids should take just their slots.
 */
export function compactIds(state: CallState): void {
  state.eventIds = state.eventIds.slice();
}

/** Rebuilds a state from stored events (after a restart, or for a late event on a closed call). */
export function foldEvents(callId: string, events: readonly CallEvent[]): CallState {
  const state = newCallState(callId);
  for (const event of events) mergeEvent(state, event);
  return state;
}
