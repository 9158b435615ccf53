/**
 * Every carrier row gets exactly one class, and every answered CDR of ours that no row matched
 * gets `not_billed`; each with the figures of records.ndjson and a reason in words (pure).
 */
import { formatUs, type Cdr } from '../../correlators/cdr';
import type { CarrierRow } from './carrier-row';
import { billedUs, type Increment } from './increment';
import { microToMoney, usToSeconds } from './values';

export const ROW_CLASSES = ['match', 'within_tolerance', 'overbilled', 'underbilled', 'not_answered', 'unknown_call', 'duplicate'] as const;
export const CLASSES = [...ROW_CLASSES, 'not_billed'] as const;
export type MatchClass = (typeof CLASSES)[number];

/** Classes that put a carrier row in disputes.csv (when its billed time or money differs). */
export const DISPUTED_CLASSES: ReadonlySet<MatchClass> = new Set(['overbilled', 'underbilled', 'not_answered', 'unknown_call', 'duplicate']);

export interface ClassifySettings {
  readonly increment: Increment;
  readonly toleranceUs: number;
}

/** What we know of one of our calls, for matching and for the record. */
export interface OurCall {
  readonly cdr: Cdr;
  /** The time compared with theirs (answer or invite). */
  readonly matchUs: number;
}

/** One line of records.ndjson: the issue's fields first, then helpers for people. */
export interface ReconcileRecord {
  readonly row: number | null;
  readonly class: MatchClass;
  readonly cdr_id: string | null;
  readonly call_id: string | null;
  readonly carrier_start: string | null;
  readonly carrier_duration_s: number | null;
  readonly carrier_billed_s: number | null;
  readonly our_talk_s: number | null;
  readonly our_billed_s: number | null;
  readonly delta_billed_s: number | null;
  readonly delta_cost: number | null;
  readonly our_start: string | null;
  readonly caller: string | null;
  readonly callee: string | null;
  readonly carrier_cost: number | null;
  readonly our_cost: number | null;
  readonly reason: string;
}

/** The figures behind a record, in integers (µs and money micro-units), for the summary. */
export interface RecordFigures {
  readonly carrierBilledUs: number;
  readonly ourBilledUs: number;
  readonly carrierCostMicro: number | null;
  readonly ourCostMicro: number | null;
  /** The start the day is taken from (theirs after the fix, or ours for not_billed). */
  readonly startUs: number;
}

export interface Classified {
  readonly record: ReconcileRecord;
  readonly figures: RecordFigures;
}

const seconds = (us: number): string => `${(us / 1_000_000).toFixed(6).replace(/\.?0+$/, '')} s`;

/** Their billed time: the billed column, else their duration at the increment. */
export function carrierBilledUs(row: CarrierRow, increment: Increment): number {
  return row.billedUs ?? billedUs(row.durationUs, increment);
}

/** Their per-minute rate: the rate column, else their cost over their billed minutes. */
function rateMicroOf(row: CarrierRow, theirBilledUs: number): number | null {
  if (row.rateMicro !== null) return row.rateMicro;
  if (row.costMicro !== null && theirBilledUs > 0) return (row.costMicro * 60_000_000) / theirBilledUs;
  return null;
}

const moneyFor = (rateMicro: number | null, billed: number): number | null =>
  rateMicro === null ? null : Math.round((rateMicro * billed) / 60_000_000);

export function classifyRow(
  row: CarrierRow,
  utcStartUs: number,
  outcome: { kind: 'pair'; call: OurCall } | { kind: 'duplicate'; of: OurCall } | { kind: 'unknown' },
  settings: ClassifySettings,
): Classified {
  const theirBilledUs = carrierBilledUs(row, settings.increment);
  const rateMicro = rateMicroOf(row, theirBilledUs);
  const carrierCostMicro = row.costMicro ?? moneyFor(rateMicro, theirBilledUs);
  const call = outcome.kind === 'pair' ? outcome.call : outcome.kind === 'duplicate' ? outcome.of : null;
  const cdr = call?.cdr ?? null;

  let cls: MatchClass;
  let reason: string;
  let talkUs: number | null = null;
  let ourBilled = 0;
  if (outcome.kind === 'unknown') {
    cls = 'unknown_call';
    reason = 'no call of ours between these numbers near this time';
  } else if (outcome.kind === 'duplicate') {
    cls = 'duplicate';
    reason = `the call is already billed by another row of the file (${outcome.of.cdr.call_id})`;
  } else if (cdr!.disposition !== 'answered') {
    talkUs = 0;
    cls = theirBilledUs > 0 ? 'not_answered' : 'match';
    reason = theirBilledUs > 0
      ? `the call was not answered (${cdr!.disposition}${cdr!.final_code === null ? '' : `, ${cdr!.final_code}`}) but is billed ${seconds(theirBilledUs)}`
      : 'not answered, and not billed';
  } else if (cdr!.talk_us === null) {
    // Answered but no BYE seen: our talk time is unknown, so the row cannot be disputed.
    cls = 'within_tolerance';
    reason = 'our talk time is unknown (no BYE seen; the call was closed by timeout): not disputable';
  } else {
    talkUs = cdr!.talk_us;
    ourBilled = billedUs(talkUs, settings.increment);
    const rawDeltaUs = row.durationUs - talkUs;
    if (theirBilledUs === ourBilled) {
      cls = 'match';
      reason = 'billed time agrees';
    } else if (Math.abs(rawDeltaUs) <= settings.toleranceUs) {
      cls = 'within_tolerance';
      reason = `durations differ by ${seconds(Math.abs(rawDeltaUs))}, within the tolerance; billed ${seconds(theirBilledUs)} vs ${seconds(ourBilled)} at ${settings.increment.label}`;
    } else if (theirBilledUs > ourBilled) {
      cls = 'overbilled';
      reason = `billed ${seconds(theirBilledUs)}, our talk time ${seconds(talkUs)} bills ${seconds(ourBilled)} at ${settings.increment.label}`
        + (rawDeltaUs > 600_000_000 ? ' (hung call? their duration is over 10 minutes longer)' : '');
    } else {
      cls = 'underbilled';
      reason = `billed ${seconds(theirBilledUs)}, our talk time ${seconds(talkUs)} bills ${seconds(ourBilled)} at ${settings.increment.label}`;
    }
  }
  const ourCostMicro = rateMicro === null ? null : moneyFor(rateMicro, ourBilled);
  const deltaCost = carrierCostMicro === null || ourCostMicro === null ? null : carrierCostMicro - ourCostMicro;
  const record: ReconcileRecord = {
    row: row.row,
    class: cls,
    cdr_id: cdr?.cdr_id ?? null,
    call_id: cdr?.call_id ?? null,
    carrier_start: formatUs(utcStartUs),
    carrier_duration_s: usToSeconds(row.durationUs),
    carrier_billed_s: usToSeconds(theirBilledUs),
    our_talk_s: talkUs === null ? null : usToSeconds(talkUs),
    our_billed_s: outcome.kind === 'pair' && cdr!.disposition === 'answered' && cdr!.talk_us === null ? null : usToSeconds(ourBilled),
    delta_billed_s: outcome.kind === 'pair' && cdr!.disposition === 'answered' && cdr!.talk_us === null ? null : usToSeconds(theirBilledUs - ourBilled),
    delta_cost: deltaCost === null ? null : microToMoney(deltaCost),
    our_start: call === null ? null : formatUs(call.matchUs),
    caller: row.caller.raw,
    callee: row.callee.raw,
    carrier_cost: carrierCostMicro === null ? null : microToMoney(carrierCostMicro),
    our_cost: ourCostMicro === null ? null : microToMoney(ourCostMicro),
    reason,
  };
  const unknownTalk = record.our_billed_s === null;
  return {
    record,
    figures: {
      carrierBilledUs: theirBilledUs,
      // A call whose talk time we do not know counts as billed right, in both totals.
      ourBilledUs: unknownTalk ? theirBilledUs : ourBilled,
      carrierCostMicro,
      ourCostMicro: unknownTalk ? carrierCostMicro : ourCostMicro,
      startUs: utcStartUs,
    },
  };
}

/** One of our answered calls that no row bills. */
export function classifyNotBilled(call: OurCall, settings: ClassifySettings): Classified {
  const talkUs = call.cdr.talk_us;
  const ourBilled = talkUs === null ? 0 : billedUs(talkUs, settings.increment);
  return {
    record: {
      row: null,
      class: 'not_billed',
      cdr_id: call.cdr.cdr_id,
      call_id: call.cdr.call_id,
      carrier_start: null,
      carrier_duration_s: null,
      carrier_billed_s: null,
      our_talk_s: talkUs === null ? null : usToSeconds(talkUs),
      our_billed_s: talkUs === null ? null : usToSeconds(ourBilled),
      delta_billed_s: talkUs === null ? null : usToSeconds(-ourBilled),
      delta_cost: null,
      our_start: formatUs(call.matchUs),
      caller: call.cdr.caller,
      callee: call.cdr.callee,
      carrier_cost: null,
      our_cost: null,
      reason: talkUs === null ? 'answered, not in their file (our talk time is unknown)' : 'answered, not in their file',
    },
    figures: { carrierBilledUs: 0, ourBilledUs: ourBilled, carrierCostMicro: null, ourCostMicro: null, startUs: call.matchUs },
  };
}
