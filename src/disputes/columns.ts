/**
 * Which of the carrier's columns hold what we need (pure). `--columns ours=theirs,…` names
 * them; without it the common names carriers use are recognised (case, spaces and punctuation
 * ignored). A start split over a date and a time column is written `start=Date+Time`.
 */
import { durationUnitOf, type DurationUnit } from './values';

export const OUR_FIELDS = ['start', 'caller', 'callee', 'duration', 'billed', 'rate', 'cost'] as const;
export type OurField = (typeof OUR_FIELDS)[number];
export const REQUIRED_FIELDS: readonly OurField[] = ['start', 'caller', 'callee', 'duration'];

/** Known header names per field, most specific first (normalised: lower case, letters and digits only). */
const KNOWN: Readonly<Record<OurField, readonly string[]>> = {
  start: [
    'starttime', 'callstart', 'callstarttime', 'connecttime', 'calldate', 'calldatetime', 'startdatetime', 'answertime',
    'seizetime', 'seizuretime', 'begintime', 'datetime', 'timestamp', 'start', 'startdate', 'calltime', 'date', 'datahora', 'fechahora', 'inicio',
  ],
  caller: [
    'ani', 'anumber', 'callingnumber', 'callingpartynumber', 'callingparty', 'cli', 'clinumber', 'callerid', 'callernumber',
    'caller', 'orignumber', 'originnumber', 'originatingnumber', 'source', 'sourcenumber', 'src', 'from', 'fromnumber', 'aparty', 'cgpn',
    // Portuguese and Spanish (Brazil, Latin America, Iberia).
    'numeroa', 'numerodeorigem', 'origem', 'origen', 'numeroorigen',
  ],
  callee: [
    'dnis', 'bnumber', 'callednumber', 'calledpartynumber', 'calledparty', 'dialednumber', 'diallednumber', 'dialed', 'dialled',
    'destinationnumber', 'destnumber', 'termnumber', 'terminatingnumber', 'callee', 'to', 'tonumber', 'dst', 'bparty', 'cdpn',
    'destination', 'numerob', 'numerodedestino', 'destino', 'numerodestino',
  ],
  duration: [
    'duration', 'durations', 'durationsec', 'durationsecs', 'durationseconds', 'durationinseconds', 'durationms', 'durationmin',
    'callduration', 'calldurations', 'realduration', 'actualduration', 'talktime', 'conversationtime', 'seconds', 'secs',
    'minutes', 'mins', 'durationmmss', 'durationhhmmss', 'length', 'duracao', 'duracion',
  ],
  billed: [
    'billedduration', 'billeddurations', 'billsec', 'billsecs', 'billableseconds', 'billablesecs', 'billableduration', 'billedseconds',
    'billedsecs', 'billedtime', 'roundedduration', 'roundedseconds', 'chargedtime', 'chargedduration', 'chargeableduration',
    'chargeabletime', 'billed', 'billedminutes', 'billableminutes',
  ],
  rate: ['rate', 'ratemin', 'rateperminute', 'ratepermin', 'priceperminute', 'pricepermin', 'pricemin', 'tariff', 'tariffmin', 'perminute'],
  cost: ['amount', 'cost', 'charge', 'price', 'total', 'totalcost', 'totalamount', 'totalcharge', 'callcost', 'callcharge', 'chargeamount', 'value'],
};

/** Split date and time columns, tried before a single start column. */
const SPLIT_STARTS: ReadonlyArray<readonly [string, string]> = [
  ['date', 'time'], ['calldate', 'calltime'], ['startdate', 'starttime'], ['connectdate', 'connecttime'],
];

export function normaliseHeader(name: string): string {
  return name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface ColumnMap {
  /** Column indices: one, or two for a split date and time. */
  readonly start: readonly number[];
  readonly caller: number;
  readonly callee: number;
  readonly duration: number;
  readonly durationUnit: DurationUnit;
  readonly billed: number | null;
  readonly billedUnit: DurationUnit;
  readonly rate: number | null;
  readonly cost: number | null;
  /** Their header names, for messages and for disputes.csv. */
  readonly header: readonly string[];
  /** `ours=theirs` as used, for the summary. */
  readonly used: Readonly<Record<string, string>>;
  /** Only a billed column: their duration is taken to be the billed seconds. */
  readonly durationFromBilled: boolean;
}

export type ColumnResult = { readonly ok: true; readonly map: ColumnMap } | { readonly ok: false; readonly reason: string };

/** `start=Call Start,caller=A Number` → pairs; throws nothing: bad pairs come back as a reason. */
export function parseColumnsFlag(text: string): { ok: true; pairs: Map<OurField, string> } | { ok: false; reason: string } {
  const pairs = new Map<OurField, string>();
  for (const item of text.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const eq = item.indexOf('=');
    const ours = eq < 0 ? item : item.slice(0, eq).trim();
    const theirs = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!(OUR_FIELDS as readonly string[]).includes(ours) || theirs === '') {
      return { ok: false, reason: `expected ours=theirs pairs with ours one of ${OUR_FIELDS.join(', ')}, got ${JSON.stringify(item)}` };
    }
    pairs.set(ours as OurField, theirs);
  }
  return { ok: true, pairs };
}

/** Finds every field's column in the header row. */
export function mapColumns(header: readonly string[], given: ReadonlyMap<OurField, string> = new Map()): ColumnResult {
  const names = header.map((name) => name.trim());
  const normalised = names.map(normaliseHeader);
  const find = (theirs: string): number => {
    const exact = names.indexOf(theirs);
    return exact >= 0 ? exact : normalised.indexOf(normaliseHeader(theirs));
  };
  const taken = new Set<number>();
  const used: Record<string, string> = {};
  const pick = (field: OurField): number[] | null | string => {
    const theirs = given.get(field);
    if (theirs !== undefined) {
      const parts = field === 'start' ? theirs.split('+').map((p) => p.trim()) : [theirs];
      const indices = parts.map(find);
      const missing = parts.find((_, i) => indices[i]! < 0);
      if (missing !== undefined) return `--columns ${field}=${theirs}: no column ${JSON.stringify(missing)} in the header (${names.join(', ')})`;
      return indices;
    }
    if (field === 'start') {
      for (const [date, time] of SPLIT_STARTS) {
        const d = normalised.indexOf(date);
        const t = normalised.indexOf(time);
        if (d >= 0 && t >= 0 && !taken.has(d) && !taken.has(t)) return [d, t];
      }
    }
    for (const known of KNOWN[field]) {
      const index = normalised.indexOf(known);
      if (index >= 0 && !taken.has(index)) return [index];
    }
    return null;
  };
  const found: Partial<Record<OurField, number[]>> = {};
  // Given columns first, so recognition never takes a column the user assigned elsewhere.
  const order = [...OUR_FIELDS].sort((a, b) => Number(given.has(b)) - Number(given.has(a)));
  for (const field of order) {
    const result = pick(field);
    if (typeof result === 'string') return { ok: false, reason: result };
    if (result === null) continue;
    found[field] = result;
    for (const index of result) taken.add(index);
    used[field] = result.map((i) => names[i]).join('+');
  }
  let durationFromBilled = false;
  if (found.duration === undefined && found.billed !== undefined) {
    found.duration = found.billed;
    durationFromBilled = true;
  }
  const missing = REQUIRED_FIELDS.filter((field) => found[field] === undefined);
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `no column for ${missing.join(', ')} in the header (${names.join(', ')}): name it with --columns, e.g. --columns '${missing.map((f) => `${f}=<their header>`).join(',')}'`,
    };
  }
  const one = (field: OurField): number | null => found[field]?.[0] ?? null;
  return {
    ok: true,
    map: Object.freeze({
      start: found.start!,
      caller: one('caller')!,
      callee: one('callee')!,
      duration: one('duration')!,
      durationUnit: durationUnitOf(names[one('duration')!]!),
      billed: durationFromBilled ? null : one('billed'),
      billedUnit: found.billed ? durationUnitOf(names[found.billed[0]!]!) : 's',
      rate: one('rate'),
      cost: one('cost'),
      header: names,
      used: Object.freeze(used),
      durationFromBilled,
    }),
  };
}
