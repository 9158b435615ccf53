/** Pure renderers for `qbl cdrs` and `qbl events`: table (people), csv (spreadsheets), ndjson (tools). */
import { CDR_FIELDS, type Cdr, type CdrExtras } from '../../correlators/cdr';
import type { EventRow, StoredCdr } from '../stores/store';
import { spreadsheetLine } from '../export/csv';
import { UTC_TIME, type ShowTime } from './local-time';

export type CdrFormat = 'table' | 'csv' | 'ndjson';
export type EventFormat = 'table' | 'csv' | 'ndjson';
export const CDR_FORMATS: readonly CdrFormat[] = ['table', 'csv', 'ndjson'];
export const EVENT_FORMATS: readonly EventFormat[] = ['table', 'csv', 'ndjson'];

export const EVENT_ROW_FIELDS: readonly (keyof EventRow)[] = [
  'id', 'call_id', 'kind', 'event_name', 'time', 'reply_code', 'direction', 'caller', 'callee', 'exchange', 'routing_key', 'body',
];

type Cell = string | number | boolean | null;

/** Fields the service adds beyond cdr.md, shown with `--extras`. */
export const EXTRA_FIELDS: readonly (keyof CdrExtras)[] = [
  'caller_e164', 'callee_e164', 'acc_duration_ms', 'acc_setup_ms', 'acc_code', 'acc_mismatch',
];

/** What to show beyond the cdr.md fields, and in which zone (`--tz`; stored times are UTC). */
export interface CdrRenderOptions {
  readonly extras?: boolean;
  readonly showTime?: ShowTime;
}

export interface EventRenderOptions {
  readonly showTime?: ShowTime;
}

/** The CDR with its times in the zone asked for. */
function shownCdr(cdr: Cdr, show: ShowTime = UTC_TIME): Cdr {
  if (show === UTC_TIME) return cdr;
  return { ...cdr, invite_at: show(cdr.invite_at), ringing_at: show(cdr.ringing_at), answer_at: show(cdr.answer_at), end_at: show(cdr.end_at) };
}

function shownRows(rows: readonly StoredCdr[], show: ShowTime = UTC_TIME): readonly StoredCdr[] {
  return show === UTC_TIME ? rows : rows.map((row) => ({ ...row, cdr: shownCdr(row.cdr, show) }));
}

function shownEvents(rows: readonly EventRow[], show: ShowTime = UTC_TIME): readonly EventRow[] {
  return show === UTC_TIME ? rows : rows.map((row) => ({ ...row, time: show(row.time) ?? row.time }));
}

/** Exactly the cdr.md fields, in CDR_FIELDS order (extras are left out on purpose). */
export function cdrFields(cdr: Cdr): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const field of CDR_FIELDS) out[field] = cdr[field];
  return out;
}

/** `12.000345` from 12000345 µs, by integer arithmetic. */
export function talkSeconds(talkUs: number | null): string | null {
  if (talkUs === null) return null;
  const sign = talkUs < 0 ? '-' : '';
  const abs = Math.abs(talkUs);
  const whole = Math.floor(abs / 1_000_000);
  return `${sign}${whole}.${String(abs - whole * 1_000_000).padStart(6, '0')}`;
}

// ---- ndjson

function withExtras(row: StoredCdr): Record<string, Cell> {
  const out = cdrFields(row.cdr);
  for (const field of EXTRA_FIELDS) out[field] = row.extras[field];
  return out;
}

export function cdrsToNdjson(rows: readonly StoredCdr[], options: CdrRenderOptions = {}): string {
  const fields = options.extras ? withExtras : (row: StoredCdr) => cdrFields(row.cdr);
  return shownRows(rows, options.showTime).map((row) => `${JSON.stringify(fields(row))}\n`).join('');
}

function eventFields(row: EventRow): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const field of EVENT_ROW_FIELDS) out[field] = row[field];
  return out;
}

export function eventsToNdjson(rows: readonly EventRow[], options: EventRenderOptions = {}): string {
  return shownEvents(rows, options.showTime).map((row) => `${JSON.stringify(eventFields(row))}\n`).join('');
}

// ---- csv: src/export/csv.ts's spreadsheet-safe cells (caller ids are attacker-controlled)

export function cdrCsvHeader(options: CdrRenderOptions = {}): string {
  return spreadsheetLine([...CDR_FIELDS, ...(options.extras ? EXTRA_FIELDS : [])]);
}

export function cdrCsvRows(rows: readonly StoredCdr[], options: CdrRenderOptions = {}): string {
  const extras = options.extras ? EXTRA_FIELDS : [];
  return shownRows(rows, options.showTime)
    .map((row) => spreadsheetLine([...CDR_FIELDS.map((field) => row.cdr[field]), ...extras.map((field) => row.extras[field])]))
    .join('');
}

export function cdrsToCsv(rows: readonly StoredCdr[], options: CdrRenderOptions = {}): string {
  return cdrCsvHeader(options) + cdrCsvRows(rows, options);
}

export function eventsToCsv(rows: readonly EventRow[], options: EventRenderOptions = {}): string {
  return spreadsheetLine(EVENT_ROW_FIELDS) + shownEvents(rows, options.showTime).map((row) => spreadsheetLine(EVENT_ROW_FIELDS.map((field) => row[field]))).join('');
}

/** An export in pieces: the header once, then each page of rows as it comes (`qbl cdrs` without --limit). */
export function cdrExportHeader(format: 'csv' | 'ndjson', options: CdrRenderOptions = {}): string {
  return format === 'csv' ? cdrCsvHeader(options) : '';
}

export function cdrExportRows(rows: readonly StoredCdr[], format: 'csv' | 'ndjson', options: CdrRenderOptions = {}): string {
  return format === 'csv' ? cdrCsvRows(rows, options) : cdrsToNdjson(rows, options);
}

// ---- table

interface Column<T> {
  header: string;
  value(row: T): Cell;
  alignRight?: boolean;
}

/** Published values are untrusted: show control characters escaped, never send them to a terminal. */
function printable(value: Cell): string {
  if (value === null) return '-';
  // eslint-disable-next-line no-control-regex
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((column) => printable(column.value(row))));
  // A loop, not Math.max(...cells): up to 100 000 rows would overflow the argument list.
  const widths = columns.map((column) => column.header.length);
  for (const line of cells) line.forEach((cell, i) => { widths[i] = Math.max(widths[i]!, cell.length); });
  const render = (line: readonly string[]) => line
    .map((cell, i) => (columns[i]!.alignRight ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
  return [columns.map((column) => column.header), ...cells].map((line) => `${render(line)}\n`).join('');
}

const CDR_COLUMNS: readonly Column<StoredCdr>[] = [
  { header: 'call_id', value: (r) => r.cdr.call_id },
  { header: 'caller', value: (r) => r.cdr.caller },
  { header: 'callee', value: (r) => r.cdr.callee },
  { header: 'disposition', value: (r) => r.cdr.disposition },
  { header: 'final_code', value: (r) => r.cdr.final_code, alignRight: true },
  { header: 'invite_at', value: (r) => r.cdr.invite_at },
  { header: 'answer_at', value: (r) => r.cdr.answer_at },
  { header: 'end_at', value: (r) => r.cdr.end_at },
  { header: 'talk_s', value: (r) => talkSeconds(r.cdr.talk_us), alignRight: true },
  { header: 'hangup_by', value: (r) => r.cdr.hangup_by },
  { header: 'complete', value: (r) => (r.cdr.complete ? 'yes' : 'no') },
];

const EVENT_COLUMNS: readonly Column<EventRow>[] = [
  { header: 'time', value: (r) => r.time },
  { header: 'kind', value: (r) => r.kind },
  { header: 'event_name', value: (r) => r.event_name },
  { header: 'reply_code', value: (r) => r.reply_code, alignRight: true },
  { header: 'direction', value: (r) => r.direction },
  { header: 'caller', value: (r) => r.caller },
  { header: 'callee', value: (r) => r.callee },
  { header: 'routing_key', value: (r) => r.routing_key },
  { header: 'id', value: (r) => r.id },
];

/** Beside the caller and callee as dialled, what a dispute needs: normalised numbers and acc's own view. */
const EXTRA_COLUMNS: readonly Column<StoredCdr>[] = [
  { header: 'caller_e164', value: (r) => r.extras.caller_e164 },
  { header: 'callee_e164', value: (r) => r.extras.callee_e164 },
  { header: 'acc_talk_s', value: (r) => talkSeconds(r.extras.acc_duration_ms === null ? null : r.extras.acc_duration_ms * 1000), alignRight: true },
  { header: 'acc_mismatch', value: (r) => (r.extras.acc_mismatch === null ? null : r.extras.acc_mismatch ? 'YES' : 'no') },
];

export function cdrsToTable(rows: readonly StoredCdr[], options: CdrRenderOptions = {}): string {
  return renderTable(options.extras ? [...CDR_COLUMNS, ...EXTRA_COLUMNS] : CDR_COLUMNS, shownRows(rows, options.showTime));
}

export function eventsToTable(rows: readonly EventRow[], options: EventRenderOptions = {}): string {
  return renderTable(EVENT_COLUMNS, shownEvents(rows, options.showTime));
}

export function renderCdrs(rows: readonly StoredCdr[], format: CdrFormat, options: CdrRenderOptions = {}): string {
  switch (format) {
    case 'table': return cdrsToTable(rows, options);
    case 'csv': return cdrsToCsv(rows, options);
    case 'ndjson': return cdrsToNdjson(rows, options);
  }
}

export function renderEvents(rows: readonly EventRow[], format: EventFormat, options: EventRenderOptions = {}): string {
  switch (format) {
    case 'table': return eventsToTable(rows, options);
    case 'csv': return eventsToCsv(rows, options);
    case 'ndjson': return eventsToNdjson(rows, options);
  }
}
