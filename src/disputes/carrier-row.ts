/** One data record of the carrier's file → a row we can match, or the reason it is bad (pure). */
import type { ColumnMap } from './columns';
import type { NumberMatcher, PartyNumber } from './numbers';
import type { ParsedTime, TimeParser } from './time-format';
import { parseDurationUs, parseScaled, unwrapSpreadsheetText } from './values';

export interface CarrierRow {
  /** The file's data row number, 1-based (the header is row 0). */
  readonly row: number;
  readonly start: ParsedTime;
  readonly caller: PartyNumber;
  readonly callee: PartyNumber;
  readonly durationUs: number;
  /** Their billed time; null when the file has no billed column (then their duration at the increment). */
  readonly billedUs: number | null;
  /** Money in micro-units: per minute, and for the call. */
  readonly rateMicro: number | null;
  readonly costMicro: number | null;
}

export type BadRowReason = 'columns' | 'start' | 'caller' | 'callee' | 'duration' | 'billed' | 'rate' | 'cost';

export interface BadRow {
  readonly row: number;
  readonly reason: BadRowReason;
  readonly detail: string;
}

export type RowResult = { readonly ok: true; readonly row: CarrierRow } | { readonly ok: false; readonly bad: BadRow };

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export function readCarrierRow(
  row: number,
  cells: readonly string[],
  columns: ColumnMap,
  parseTime: TimeParser,
  numbers: NumberMatcher,
): RowResult {
  const bad = (reason: BadRowReason, detail: string): RowResult => ({ ok: false, bad: { row, reason, detail } });
  const fields = cells.map(unwrapSpreadsheetText);
  const expected = columns.header.length;
  // Extra empty fields at the end (a trailing separator) are harmless.
  let count = fields.length;
  while (count > expected && fields[count - 1]!.trim() === '') count -= 1;
  if (count !== expected) return bad('columns', `expected ${expected} columns, found ${fields.length}`);

  const startText = columns.start.map((i) => fields[i]!.trim()).join(' ');
  const start = parseTime(startText);
  if (start === null) return bad('start', `unreadable start time ${quote(startText)}`);
  const caller = numbers.carrierNumber(fields[columns.caller]!, true);
  if (caller === null) return bad('caller', `caller ${quote(fields[columns.caller]!)} is not a phone number`);
  const callee = numbers.carrierNumber(fields[columns.callee]!, false);
  if (callee === null) return bad('callee', `callee ${quote(fields[columns.callee]!)} is not a phone number`);

  const durationText = fields[columns.duration]!;
  const durationUs = parseDurationUs(durationText, columns.durationUnit);
  if (durationUs === null) return bad('duration', `unreadable duration ${quote(durationText)}`);
  if (durationUs < 0) return bad('duration', `negative duration ${quote(durationText)}`);

  let billedUs: number | null = null;
  if (columns.billed !== null) {
    const text = fields[columns.billed]!;
    billedUs = parseDurationUs(text, columns.billedUnit);
    if (billedUs === null) return bad('billed', `unreadable billed time ${quote(text)}`);
    if (billedUs < 0) return bad('billed', `negative billed time ${quote(text)}`);
  }
  const money = (index: number | null, reason: 'rate' | 'cost'): number | null | RowResult => {
    if (index === null || fields[index]!.trim() === '') return null;
    const value = parseScaled(fields[index]!, 1_000_000);
    if (value === null) return bad(reason, `unreadable ${reason} ${quote(fields[index]!)}`);
    return value;
  };
  const rateMicro = money(columns.rate, 'rate');
  if (typeof rateMicro === 'object' && rateMicro !== null) return rateMicro;
  const costMicro = money(columns.cost, 'cost');
  if (typeof costMicro === 'object' && costMicro !== null) return costMicro;
  return {
    ok: true,
    row: { row, start, caller, callee, durationUs, billedUs, rateMicro: rateMicro as number | null, costMicro: costMicro as number | null },
  };
}
