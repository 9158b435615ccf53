/**
 * Carrier CDR files made from our own (simulated) calls, with every reconcile class injected at
 * known rows, and what each row must come out as. For the tests and the bench: the layouts
 * vary the way real carriers' files do (header names, separators, time formats and zones,
 * duration forms, increments, numbers without `+`, with `00`, national, with technical prefixes).
 */
import { DateTime } from 'luxon';
import type { Cdr, CdrExtras } from '../../correlators/cdr';
import { billedUs, type Increment } from '../disputes/increment';
import type { MatchClass } from '../disputes/classify';

export interface CarrierLayout {
  /** Header per field; `start` may be two names (date and time columns). */
  readonly headers: {
    readonly start: readonly string[]; readonly caller: string; readonly callee: string; readonly duration: string;
    readonly billed?: string; readonly rate?: string; readonly cost?: string;
  };
  /** Columns they add that we ignore. */
  readonly extraColumns?: readonly string[];
  readonly separator: ',' | ';' | '\t' | '|';
  /** luxon formats of the start (one per start column), written in `zone`. */
  readonly startFormats: readonly string[];
  readonly zone: string;
  /** `int`: whole seconds; `decimal-comma`: tenths with a comma; `hms`: h:mm:ss; `ms`: milliseconds. */
  readonly durationStyle: 'int' | 'decimal-comma' | 'hms' | 'ms';
  readonly increment: Increment;
  /** How they write numbers. */
  readonly numberStyle: 'no-plus' | '00' | 'national' | 'tech' | 'mixed';
  /** Per-minute rate in micro-units (with a rate and/or cost column). */
  readonly rateMicro?: number;
  /** Their start is our answer (default) or our invite. */
  readonly startIs?: 'answer' | 'invite';
  /** Their clock runs this far from ours (the 200 OK timing skew), µs. */
  readonly skewUs?: number;
}

export interface OurCallForFile {
  readonly cdr: Cdr;
  readonly extras: CdrExtras;
}

export interface ExpectedRow {
  readonly row: number;
  readonly class: MatchClass;
  readonly cdrId: string | null;
  readonly carrierBilledUs: number;
  readonly ourBilledUs: number;
  readonly ourTalkUs: number | null;
  readonly carrierCostMicro: number | null;
  readonly ourCostMicro: number | null;
}

export type BadKind = 'columns' | 'start' | 'callee' | 'duration';

export interface CarrierFile {
  readonly text: string;
  readonly expected: ReadonlyMap<number, ExpectedRow>;
  readonly bad: ReadonlyMap<number, BadKind>;
  /** Answered calls left out of the file: cdr_id → the start compared with theirs. */
  readonly notBilled: ReadonlyMap<string, number>;
  /** UTC starts of the file's first and last good rows. */
  readonly firstStartUs: number;
  readonly lastStartUs: number;
}

/** Which class an answered call is made into, by its index among answered calls. */
export type Plan = (answeredIndex: number, talkUs: number) => 'match' | 'within_tolerance' | 'overbilled' | 'hung' | 'underbilled' | 'duplicate' | 'not_billed';

export const DEFAULT_PLAN: Plan = (i, talkUs) => {
  switch (i % 12) {
    case 1: return 'within_tolerance';
    case 3: return 'overbilled';
    case 5: return talkUs >= 190_000_000 ? 'underbilled' : 'match';
    case 7: return 'duplicate';
    case 9: return 'not_billed';
    case 11: return i % 24 === 11 ? 'hung' : 'match';
    default: return 'match';
  }
};

const S = 1_000_000;
const ceilTo = (us: number, step: number) => Math.ceil(us / step) * step;
const floorTo = (us: number, step: number) => Math.floor(us / step) * step;
const resolutionUs = (style: CarrierLayout['durationStyle']) => (style === 'decimal-comma' ? 100_000 : style === 'ms' ? 1000 : S);

function formatDuration(us: number, style: CarrierLayout['durationStyle']): string {
  switch (style) {
    case 'int': return String(us / S);
    case 'ms': return String(us / 1000);
    case 'decimal-comma': return (us / S).toFixed(1).replace('.', ',');
    case 'hms': {
      const total = us / S;
      return `${Math.floor(total / 3600)}:${String(Math.floor(total / 60) % 60).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
    }
  }
}

function parseStamp(text: string): number {
  return Date.parse(`${text.slice(0, 19)}Z`) * 1000 + Number(text.slice(20, 26));
}

/** Their way of writing one of our numbers (E.164 when we know it, else the raw string). */
function writeNumber(e164: string | null, raw: string | null, style: CarrierLayout['numberStyle'], index: number): string {
  if (e164 === null) return raw ?? '';
  const digits = e164.slice(1);
  const pick = style === 'mixed' ? (['no-plus', '00', 'national', 'tech'] as const)[index % 4]! : style;
  switch (pick) {
    case 'no-plus': return digits;
    case '00': return `00${digits}`;
    case 'tech': return `7788#${digits}`;
    case 'national': return digits.startsWith('55') && !digits.startsWith('5511') ? `0${digits.slice(2)}` : digits;
  }
}

export function buildCarrierFile(calls: readonly OurCallForFile[], layout: CarrierLayout, plan: Plan = DEFAULT_PLAN): CarrierFile {
  const inc = layout.increment;
  const res = resolutionUs(layout.durationStyle);
  const startIs = layout.startIs ?? 'answer';
  interface Pending { startUs: number; fields: () => string[]; expected: Omit<ExpectedRow, 'row'> | null; bad?: BadKind; order: number }
  const pending: Pending[] = [];
  const notBilled = new Map<string, number>();
  const rate = layout.rateMicro ?? null;
  const cost = (billed: number) => (rate === null ? null : Math.round((rate * billed) / 60_000_000 / 100) * 100);
  const ourCost = (billed: number) => (rate === null ? null : Math.round((rate * billed) / 60_000_000));

  const fieldsFor = (startUs: number, caller: string, callee: string, durationUs: number, theirBilledUs: number): string[] => {
    const time = DateTime.fromMillis(Math.floor(startUs / 1000), { zone: layout.zone });
    const out = [...layout.startFormats.map((format) => time.toFormat(format)), caller, callee, formatDuration(durationUs, layout.durationStyle)];
    if (layout.headers.billed) out.push(formatDuration(theirBilledUs, layout.durationStyle === 'ms' ? 'int' : layout.durationStyle));
    if (layout.headers.rate) out.push((rate! / S).toFixed(4));
    if (layout.headers.cost) out.push((cost(theirBilledUs)! / S).toFixed(4));
    for (const name of layout.extraColumns ?? []) out.push(name === 'Trunk' ? 'TRK-07' : 'x');
    return out;
  };

  let answered = 0;
  let unanswered = 0;
  let order = 0;
  for (const call of calls) {
    const { cdr, extras } = call;
    const inviteUs = parseStamp(cdr.invite_at!);
    const ourStartUs = startIs === 'invite' ? inviteUs : cdr.answer_at !== null ? parseStamp(cdr.answer_at) : parseStamp(cdr.end_at ?? cdr.invite_at!);
    // Whole seconds, as carriers write them: truncation is part of the skew a window absorbs.
    const theirStartUs = floorTo(ourStartUs + (layout.skewUs ?? 0), S);
    const caller = writeNumber(extras.caller_e164, cdr.caller, layout.numberStyle, order);
    const callee = writeNumber(extras.callee_e164, cdr.callee, layout.numberStyle, order + 1);
    order += 1;
    if (cdr.disposition !== 'answered') {
      if (unanswered++ % 5 === 0) {
        const d = 30 * S;
        const b = billedUs(d, inc);
        pending.push({ startUs: theirStartUs, order, fields: () => fieldsFor(theirStartUs, caller, callee, d, b),
          expected: { class: 'not_answered', cdrId: cdr.cdr_id, carrierBilledUs: b, ourBilledUs: 0, ourTalkUs: 0, carrierCostMicro: cost(b), ourCostMicro: ourCost(0) } });
      }
      continue;
    }
    if (cdr.talk_us === null) continue;
    const talk = cdr.talk_us;
    const ours = billedUs(talk, inc);
    let aim = plan(answered++, talk);
    if (aim === 'underbilled' && talk < 190 * S) aim = 'match';
    if (aim === 'within_tolerance' && !layout.headers.billed && (floorTo(talk, res) === talk || billedUs(floorTo(talk, res), inc) === ours)) aim = 'match';
    if (aim === 'not_billed') {
      notBilled.set(cdr.cdr_id, ourStartUs);
      continue;
    }
    let d = ceilTo(talk, res);
    let b = billedUs(d, inc);
    let cls: MatchClass = 'match';
    if (aim === 'within_tolerance') {
      cls = 'within_tolerance';
      if (layout.headers.billed) b = ours + inc.nextUs;
      else {
        d = floorTo(talk, res);
        b = billedUs(d, inc);
      }
    } else if (aim === 'overbilled' || aim === 'hung') {
      cls = 'overbilled';
      d += aim === 'hung' ? 7200 * S : 125 * S;
      b = billedUs(d, inc);
    } else if (aim === 'underbilled') {
      cls = 'underbilled';
      d -= 125 * S;
      b = billedUs(d, inc);
    }
    const expected = { class: cls, cdrId: cdr.cdr_id, carrierBilledUs: b, ourBilledUs: ours, ourTalkUs: talk, carrierCostMicro: cost(b), ourCostMicro: ourCost(ours) };
    const dd = d;
    const bb = b;
    pending.push({ startUs: theirStartUs, order, fields: () => fieldsFor(theirStartUs, caller, callee, dd, bb), expected });
    if (aim === 'duplicate') {
      // The same row again, a little later in the file: the first keeps the call.
      pending.push({ startUs: theirStartUs, order: order + 0.5, fields: () => fieldsFor(theirStartUs, caller, callee, dd, bb),
        expected: { class: 'duplicate', cdrId: cdr.cdr_id, carrierBilledUs: bb, ourBilledUs: 0, ourTalkUs: null, carrierCostMicro: cost(bb), ourCostMicro: ourCost(0) } });
    }
    if (answered % 40 === 0) {
      // A call we never had: numbers nobody in our traffic uses.
      const d2 = 45 * S;
      const b2 = billedUs(d2, inc);
      const unknownCallee = `44207946${String(answered % 1000).padStart(4, '0')}`;
      pending.push({ startUs: theirStartUs + 7 * S, order: order + 0.7, fields: () => fieldsFor(theirStartUs + 7 * S, caller, unknownCallee, d2, b2),
        expected: { class: 'unknown_call', cdrId: null, carrierBilledUs: b2, ourBilledUs: 0, ourTalkUs: null, carrierCostMicro: cost(b2), ourCostMicro: ourCost(0) } });
    }
  }
  pending.sort((a, b) => a.startUs - b.startUs || a.order - b.order);

  const header = [...layout.headers.start, layout.headers.caller, layout.headers.callee, layout.headers.duration,
    ...(layout.headers.billed ? [layout.headers.billed] : []), ...(layout.headers.rate ? [layout.headers.rate] : []),
    ...(layout.headers.cost ? [layout.headers.cost] : []), ...(layout.extraColumns ?? [])];
  // Bad rows at known places: one of each kind early on, and again near the end.
  const badAt = new Map<number, BadKind>();
  const kinds: BadKind[] = ['columns', 'start', 'callee', 'duration'];
  const total = pending.length + 8;
  kinds.forEach((kind, k) => {
    badAt.set(3 + k * 7, kind);
    badAt.set(total - 2 - k * 3, kind);
  });
  const lines: string[] = [header.join(layout.separator)];
  const expected = new Map<number, ExpectedRow>();
  const bad = new Map<number, BadKind>();
  let next = 0;
  for (let row = 1; row <= total; row += 1) {
    const kind = badAt.get(row);
    if (kind !== undefined || next >= pending.length) {
      const template = pending[Math.min(next, pending.length - 1)]!.fields();
      const badKind = kind ?? 'columns';
      if (badKind === 'columns') template.pop();
      else if (badKind === 'start') template[0] = 'yesterday-ish';
      else if (badKind === 'callee') template[layout.headers.start.length + 1] = 'alice';
      else template[layout.headers.start.length + 2] = `-${template[layout.headers.start.length + 2]}`;
      lines.push(template.join(layout.separator));
      bad.set(row, badKind);
      continue;
    }
    const item = pending[next++]!;
    lines.push(item.fields().join(layout.separator));
    if (item.expected) expected.set(row, { row, ...item.expected });
  }
  return { text: `${lines.join('\r\n')}\r\n`, expected, bad, notBilled, firstStartUs: pending[0]!.startUs, lastStartUs: pending[pending.length - 1]!.startUs };
}
