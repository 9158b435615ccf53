/**
 * The CDR the service must produce for a call, from the events actually published.
 * Deliberately an independent implementation of cdr.md (only types, formatUs and cdrIdFor come
 * from correlators/), so an end-to-end run can catch correlator bugs. Corner-case rules are the
 * lead's (closed_by, talk_us, complete, ties): see the comments on each field.
 */
import { cdrIdFor, formatUs, type ClosedBy, type Cdr, type Disposition } from '../../correlators/cdr';
import type { QblEventKind } from '../../correlators/events';
import type { SimEvent } from './call-model';

const KIND_ORDER: Readonly<Record<QblEventKind, number>> = {
  invite_request: 0, invite_reply: 1, bye_request: 2, bye_reply: 3,
};

function isQbl(event: SimEvent): event is SimEvent & { kind: QblEventKind } {
  return event.kind in KIND_ORDER;
}

/** Everything the decoded event holds: equal keys are exact duplicates, counted once. */
export function eventKey(event: SimEvent): string {
  const parties = JSON.stringify([event.caller, event.callee]);
  const acc = event.accParams === null ? '' : JSON.stringify(event.accParams);
  return `${event.kind}|${event.timeUs}|${event.replyCode}|${event.direction}|${parties}|${acc}`;
}

/** The distinct events among those published (exact duplicates removed). */
export function distinctEvents(published: readonly SimEvent[]): SimEvent[] {
  const seen = new Map<string, SimEvent>();
  for (const event of published) {
    const key = eventKey(event);
    if (!seen.has(key)) seen.set(key, event);
  }
  return [...seen.values()];
}

type Qbl = SimEvent & { kind: QblEventKind };

/** Earliest first: by time, then code ascending, then kind order; the content key makes it total. */
function compareEvents(a: Qbl, b: Qbl): number {
  return a.timeUs - b.timeUs
    || (a.replyCode ?? -1) - (b.replyCode ?? -1)
    || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]
    || (eventKey(a) < eventKey(b) ? -1 : eventKey(a) > eventKey(b) ? 1 : 0);
}

/** Caller/callee order: by time, then kind order (then code, then content, for a total order). */
function comparePartyOrder(a: Qbl, b: Qbl): number {
  return a.timeUs - b.timeUs || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareEvents(a, b);
}

function dispositionOf(code: number | null): Disposition {
  if (code === null) return 'unknown';
  if (code >= 200 && code < 300) return 'answered';
  if (code === 486 || code === 600) return 'busy';
  if (code === 408 || code === 480) return 'no_answer';
  if (code === 487) return 'cancelled';
  return 'failed';
}

const minus = (later: number | null, earlier: number | null): number | null =>
  later === null || earlier === null ? null : later - earlier;

/**
 * The expected CDR, or null when no quick-billing-log event of the call was published
 * (acc-only calls are left to the correlator's acc rules, not predicted here).
 */
export function expectedCdr(callId: string, published: readonly SimEvent[]): Cdr | null {
  const distinct = distinctEvents(published);
  const qbl = distinct.filter(isQbl).sort(compareEvents);
  if (qbl.length === 0) return null;

  const first = (predicate: (e: Qbl) => boolean): Qbl | null => qbl.find(predicate) ?? null;
  const invite = first((e) => e.kind === 'invite_request');
  const isReply = (e: Qbl) => e.kind === 'invite_reply' && e.replyCode !== null;
  const ringing = first((e) => isReply(e) && (e.replyCode === 180 || e.replyCode === 183));
  const answer = first((e) => isReply(e) && e.replyCode! >= 200 && e.replyCode! < 300);
  const failure = first((e) => isReply(e) && e.replyCode! >= 300);
  const deciding = answer ?? failure; // a later final is evidence, not the outcome
  const bye = first((e) => e.kind === 'bye_request');
  const byeFinal = first((e) => e.kind === 'bye_reply' && e.replyCode !== null && e.replyCode >= 200);

  const answered = answer !== null;
  const inviteAt = invite?.timeUs ?? null;
  const answerAt = answer?.timeUs ?? null;
  const endAt = answered ? (bye?.timeUs ?? null) : (failure?.timeUs ?? null);

  let closedBy: ClosedBy;
  if (answered) closedBy = bye ? 'bye' : 'timeout';
  else closedBy = failure ? 'final_reply' : bye ? 'bye' : 'timeout';

  let talkUs: number | null;
  if (!answered) talkUs = 0;
  else talkUs = bye ? Math.max(0, bye.timeUs - answerAt!) : null;

  const byParty = [...qbl].sort(comparePartyOrder);
  const party = (field: 'caller' | 'callee'): string | null =>
    invite?.[field] ?? byParty.find((e) => e[field] !== null)?.[field] ?? null;

  return {
    cdr_id: cdrIdFor(callId),
    call_id: callId,
    caller: party('caller'),
    callee: party('callee'),
    disposition: dispositionOf(deciding?.replyCode ?? null),
    final_code: deciding?.replyCode ?? null,
    invite_at: inviteAt === null ? null : formatUs(inviteAt),
    ringing_at: ringing ? formatUs(ringing.timeUs) : null,
    answer_at: answerAt === null ? null : formatUs(answerAt),
    end_at: endAt === null ? null : formatUs(endAt),
    pdd_us: minus(ringing?.timeUs ?? null, inviteAt),
    setup_us: minus(deciding?.timeUs ?? null, inviteAt),
    talk_us: talkUs,
    total_us: minus(endAt, inviteAt),
    bye_code: byeFinal?.replyCode ?? null,
    hangup_by: bye?.direction === 'downstream' ? 'caller' : bye?.direction === 'upstream' ? 'callee' : null,
    closed_by: closedBy,
    complete: invite !== null && deciding !== null && (!answered || (bye !== null && byeFinal !== null)),
    events: distinct.length,
    source: 'qbl',
  };
}
