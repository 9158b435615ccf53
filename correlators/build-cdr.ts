/** From a call's state to its CDR, exactly as docs/cdr.md defines the fields. */
import type { CallState } from './call-state';
import {
  type Cdr, type CdrExtras, type CdrRecord, type ClosedBy, type Disposition, type HangupBy,
  cdrIdFor, EMPTY_EXTRAS, formatUsOrNull,
} from './cdr';

const US_PER_MS = 1000;
const US_PER_S = 1_000_000;

export function dispositionFor(code: number | null): Disposition {
  if (code === null) return 'unknown';
  if (code >= 200 && code < 300) return 'answered';
  if (code === 486 || code === 600) return 'busy';
  if (code === 408 || code === 480) return 'no_answer';
  if (code === 487) return 'cancelled';
  if (code >= 300) return 'failed';
  return 'unknown';
}

function hangupFrom(direction: string | null | undefined): HangupBy | null {
  if (direction === 'downstream') return 'caller';
  if (direction === 'upstream') return 'callee';
  return null;
}

function diff(later: number | null, earlier: number | null): number | null {
  return later === null || earlier === null ? null : later - earlier;
}

/**
 * The event times that decide a CDR, whichever source they came from (same names and types as the
 * call state's; `failureAtUs`/`failureCode` are the deciding failure: both null when answered).
 */
interface Timeline extends Pick<CallState, 'inviteAtUs' | 'ringingAtUs' | 'answerAtUs' | 'answerCode' | 'failureAtUs' | 'failureCode' | 'byeAtUs'> {
  hangupBy: HangupBy | null;
  byeCode: number | null;
  complete: boolean;
}

function qblTimeline(state: CallState): Timeline {
  const answered = state.answerAtUs !== null;
  const failed = !answered && state.failureAtUs !== null;
  return {
    inviteAtUs: state.inviteAtUs,
    ringingAtUs: state.ringingAtUs,
    answerAtUs: state.answerAtUs,
    answerCode: state.answerCode,
    failureAtUs: failed ? state.failureAtUs : null,
    failureCode: failed ? state.failureCode : null,
    byeAtUs: state.byeAtUs,
    hangupBy: hangupFrom(state.byeDirection),
    byeCode: state.byeReplyCode,
    complete: state.inviteAtUs !== null && (answered || failed) && (!answered || (state.byeAtUs !== null && state.byeReplyAtUs !== null)),
  };
}

/** A call the quick billing log never mentioned: what the acc module said, at its resolution. */
function accTimeline(state: CallState): Timeline {
  const acc = state.acc!;
  const final = acc.final;
  const figures = final?.figures ?? null;
  const createdUs = figures?.createdS != null ? figures.createdS * US_PER_S : null;
  let answerAtUs = acc.answer?.atUs ?? null;
  let answerCode = acc.answer?.value ?? null;
  let failureAtUs: number | null = null;
  let failureCode: number | null = null;
  let byeAtUs = acc.bye?.atUs ?? null;
  if (final?.kind === 'acc_cdr') {
    answerAtUs = final.timeUs;
    answerCode = final.code ?? 200;
    if (figures?.durationMs != null) byeAtUs = final.timeUs + figures.durationMs * US_PER_MS;
  } else if (final?.kind === 'acc_missed' && final.code !== null && answerAtUs === null) {
    failureAtUs = final.timeUs;
    failureCode = final.code;
  }
  return {
    inviteAtUs: createdUs,
    ringingAtUs: null,
    answerAtUs,
    answerCode,
    failureAtUs,
    failureCode,
    byeAtUs,
    hangupBy: null,
    byeCode: final?.kind === 'acc_cdr' ? null : acc.bye?.value ?? null,
    // The acc module reports a dialog (or a missed call) only once it is over.
    complete: final !== null,
  };
}

/** The extras of a call with quick-billing-log events: no numbers yet (the pipeline adds them), and the acc comparison. */
function qblExtras(state: CallState, talkUs: number | null, finalCode: number | null, toleranceMs: number): CdrExtras {
  const final = state.acc?.final;
  if (!final) return { caller_e164: null, callee_e164: null, acc_duration_ms: null, acc_setup_ms: null, acc_code: null, acc_mismatch: null };
  const durationMs = final.kind === 'acc_cdr' ? final.figures.durationMs : 0;
  const setupS = final.figures.setupS;
  let mismatch: boolean | null = null;
  if (finalCode !== null && final.code !== null && finalCode !== final.code) mismatch = true;
  else if (talkUs !== null && durationMs !== null) mismatch = Math.abs(talkUs - durationMs * US_PER_MS) > toleranceMs * US_PER_MS;
  else if (finalCode !== null && final.code !== null) mismatch = false;
  return {
    caller_e164: null,
    callee_e164: null,
    acc_duration_ms: durationMs,
    acc_setup_ms: setupS === null ? null : setupS * 1000,
    acc_code: final.code,
    acc_mismatch: mismatch,
  };
}

export function buildCdr(state: CallState, accToleranceMs: number): CdrRecord {
  const fromQbl = state.qblEvents > 0;
  const t = fromQbl ? qblTimeline(state) : accTimeline(state);
  const answered = t.answerAtUs !== null;
  const failed = t.failureAtUs !== null;
  const finalCode = answered ? t.answerCode : t.failureCode;
  const endAtUs = answered ? t.byeAtUs : t.failureAtUs;

  let closedBy: ClosedBy;
  if (answered) closedBy = t.byeAtUs !== null ? 'bye' : 'timeout';
  else if (failed) closedBy = 'final_reply';
  else closedBy = t.byeAtUs !== null ? 'bye' : 'timeout';

  let talkUs: number | null = 0;
  if (answered) talkUs = endAtUs === null ? null : Math.max(0, endAtUs - t.answerAtUs!);

  const cdr: Cdr = {
    cdr_id: cdrIdFor(state.callId),
    call_id: state.callId,
    caller: state.caller,
    callee: state.callee,
    disposition: dispositionFor(finalCode),
    final_code: finalCode,
    invite_at: formatUsOrNull(t.inviteAtUs),
    ringing_at: formatUsOrNull(t.ringingAtUs),
    answer_at: formatUsOrNull(t.answerAtUs),
    end_at: formatUsOrNull(endAtUs),
    pdd_us: diff(t.ringingAtUs, t.inviteAtUs),
    setup_us: diff(t.answerAtUs ?? t.failureAtUs, t.inviteAtUs),
    talk_us: talkUs,
    total_us: diff(endAtUs, t.inviteAtUs),
    bye_code: t.byeCode,
    hangup_by: t.hangupBy,
    closed_by: closedBy,
    complete: t.complete,
    events: state.eventIds.length,
    source: fromQbl ? 'qbl' : 'acc',
  };
  const extras = fromQbl ? qblExtras(state, talkUs, finalCode, accToleranceMs) : EMPTY_EXTRAS;
  return { cdr, extras, startUs: t.inviteAtUs ?? state.firstEventAtUs };
}

/** The `startUs` buildCdr gives the state, without building the CDR. */
export function callStartUs(state: CallState): number {
  if (state.qblEvents > 0) return state.inviteAtUs ?? state.firstEventAtUs;
  const createdS = state.acc?.final?.figures.createdS;
  return createdS != null ? createdS * US_PER_S : state.firstEventAtUs;
}
