/** Our stored CDRs as the matcher sees them: the time compared with theirs and the numbers. */
import type { StreamedCdr } from '../stores/store';
import type { OurCall } from './classify';
import { NumberMatcher, type PartyNumber } from './numbers';

export interface OurMatchable extends OurCall {
  readonly cdrId: string;
  readonly timeUs: number;
  /** Our other start (the INVITE when comparing answers, the answer when comparing INVITEs): for the skew hint. */
  readonly otherUs: number;
  readonly group: string;
  readonly caller: PartyNumber;
  readonly callee: PartyNumber;
  readonly stored: StreamedCdr;
}

export function ourMatchable(stored: StreamedCdr, startIs: 'answer' | 'invite', numbers: NumberMatcher): OurMatchable {
  const { cdr, extras } = stored;
  const invite = parseStamp(cdr.invite_at) ?? stored.startUs;
  const answer = parseStamp(cdr.answer_at) ?? parseStamp(cdr.end_at) ?? invite;
  const [matchUs, otherUs] = startIs === 'answer' ? [answer, invite] : [invite, answer];
  const caller = numbers.ourNumber(cdr.caller, extras.caller_e164);
  const callee = numbers.ourNumber(cdr.callee, extras.callee_e164);
  return { cdr, matchUs, otherUs, cdrId: cdr.cdr_id, timeUs: matchUs, group: NumberMatcher.group(caller, callee), caller, callee, stored };
}

/** `2026-11-27T13:05:09.123456Z` → µs (our own timestamps: always this exact layout). */
function parseStamp(text: string | null): number | null {
  if (text === null) return null;
  const seconds = Date.parse(`${text.slice(0, 19)}Z`);
  return Number.isNaN(seconds) ? null : seconds * 1000 + Number(text.slice(20, 26));
}
