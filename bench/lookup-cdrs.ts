/** Synthetic CDRs for the lookup's rebuild figure: a week of calls over a realistic spread of numbers. */
import { cdrIdFor, EMPTY_EXTRAS, formatUs, type CdrRecord } from '../correlators/cdr';

const WEEK_US = 7 * 86_400_000_000;

/** The k-th CDR: about five calls per destination, twenty per caller, a quarter failed (a few with 404). */
export function syntheticCdr(k: number, nowUs: number): CdrRecord {
  const callee = `+55119${String(10_000_000 + ((k * 7919) % Math.max(1, Math.floor(k / 5) + 1))).padStart(8, '0')}`;
  const caller = `+55219${String(10_000_000 + (k % 50_000)).padStart(8, '0')}`;
  const startUs = nowUs - WEEK_US + Math.floor(((k * 104_729) % 1_000_000) * (WEEK_US / 1_000_000));
  const code = k % 4 === 0 ? (k % 12 === 0 ? 404 : 486) : 200;
  const answered = code === 200;
  const talkUs = answered ? 30_000_000 + (k % 300) * 1_000_000 : 0;
  const callId = `rebuild-${k}@bench`;
  return {
    startUs,
    cdr: {
      cdr_id: cdrIdFor(callId), call_id: callId, caller, callee, disposition: answered ? 'answered' : code === 486 ? 'busy' : 'failed',
      final_code: code, invite_at: formatUs(startUs), ringing_at: null, answer_at: answered ? formatUs(startUs + 5_000_000) : null,
      end_at: formatUs(startUs + 5_000_000 + talkUs), pdd_us: null, setup_us: 5_000_000, talk_us: talkUs, total_us: 5_000_000 + talkUs,
      bye_code: answered ? 200 : null, hangup_by: answered ? 'caller' : null, closed_by: answered ? 'bye' : 'final_reply',
      complete: true, events: answered ? 4 : 2, source: 'qbl',
    },
    extras: { ...EMPTY_EXTRAS, caller_e164: caller, callee_e164: callee },
  };
}
