/**
 * The acc module's own events for a simulated call, as `do_accounting("evi", "cdr|missed")`
 * raises them (spec: "acc module events"): second resolution, `sip_code` a string,
 * `duration` rounded up, `ms_duration` exact.
 */
import type { EventKind } from '../../correlators/events';
import type { WireParams } from './opensips-wire';
import type { CallModel, SimEvent } from './call-model';

const MS = 1000;
const S = 1_000_000;

export const SIP_REASONS: Readonly<Record<number, string>> = Object.freeze({
  200: 'OK', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist', 486: 'Busy Here', 487: 'Request Terminated', 500: 'Server Internal Error',
  503: 'Service Unavailable', 600: 'Busy Everywhere', 603: 'Decline',
});

const seconds = (timeUs: number) => Math.floor(timeUs / S);

/** E_ACC_CDR (+ E_ACC_EVENT for the BYE) for an answered call, E_ACC_MISSED_EVENT for a failed one. */
export function accEvents(model: CallModel, events: readonly SimEvent[]): SimEvent[] {
  const invite = events.find((e) => e.kind === 'invite_request')!;
  const createdS = seconds(invite.timeUs);
  const base = (method: string, toTag: string | null, code: number, timeS: number): Array<[string, string | number | null]> => [
    ['method', method], ['from_tag', model.fromTag], ['to_tag', toTag], ['callid', model.callId],
    ['sip_code', String(code)], ['sip_reason', SIP_REASONS[code] ?? 'Unknown'], ['time', timeS],
  ];
  const accEvent = (kind: EventKind, timeUs: number, params: WireParams): SimEvent => ({
    kind, timeUs, replyCode: null, direction: null, caller: null, callee: null, accParams: params,
  });
  if (model.outcome !== 'answered') {
    const final = events.find((e) => e.kind === 'invite_reply' && (e.replyCode ?? 0) >= 300)!;
    const timeS = seconds(final.timeUs);
    const toTag = final.replyCode === 408 ? null : model.toTag; // the proxy's own 408 has no To tag
    return [accEvent('acc_missed', final.timeUs, [
      ...base('INVITE', toTag, final.replyCode!, timeS),
      ['caller_id', model.caller], ['callee_id', model.callee], ['setuptime', timeS - createdS], ['created', createdS],
    ])];
  }
  const answer = events.find((e) => e.kind === 'invite_reply' && e.replyCode === 200)!;
  const bye = events.find((e) => e.kind === 'bye_request')!;
  const byeReply = events.find((e) => e.kind === 'bye_reply')!;
  const answerS = seconds(answer.timeUs);
  const talkMs = Math.floor((bye.timeUs - answer.timeUs) / MS);
  const out: SimEvent[] = [accEvent('acc_cdr', byeReply.timeUs, [
    ...base('INVITE', model.toTag, 200, answerS),
    ['caller_id', model.caller], ['callee_id', model.callee],
    ['duration', Math.ceil(talkMs / 1000)], ['ms_duration', talkMs], ['setuptime', answerS - createdS], ['created', createdS],
  ])];
  if (byeReply.replyCode === 200) {
    // The BYE's own transaction; its tags follow the BYE's direction, and caller/callee are unset.
    const [fromTag, toTag] = bye.direction === 'downstream' ? [model.fromTag, model.toTag] : [model.toTag, model.fromTag];
    out.push(accEvent('acc_event', byeReply.timeUs, [
      ['method', 'BYE'], ['from_tag', fromTag], ['to_tag', toTag], ['callid', model.callId],
      ['sip_code', '200'], ['sip_reason', 'OK'], ['time', seconds(byeReply.timeUs)], ['caller_id', null], ['callee_id', null],
    ]));
  }
  return out;
}
