/** Conversions between the pipeline's objects and SQLite rows (pure). */
import type { AccFigures, CallEvent, Direction, EventKind } from '../../../correlators/events';
import { formatUs, parseUs, type CdrRecord } from '../../../correlators/cdr';
import type { Statement } from 'better-sqlite3';
import type { EventRow, StoredCdr, StoredEvent } from '../store';

export interface EventRecordRow {
  id: string;
  call_id: string;
  kind: string;
  event_name: string;
  time_us: number;
  reply_code: number | null;
  direction: string | null;
  caller: string | null;
  callee: string | null;
  acc: string | null;
  exchange: string;
  routing_key: string;
  body: Buffer;
  received_at_us: number;
}

/** The events table's columns, in the order of `insertEventRow`'s parameters. */
export const EVENT_COLUMNS = [
  'id', 'call_id', 'kind', 'event_name', 'time_us', 'reply_code', 'direction', 'caller', 'callee', 'acc',
  'exchange', 'routing_key', 'body', 'received_at_us',
] as const;

/**
 * Runs `insert` (its parameters in EVENT_COLUMNS order) for one event. The values go as separate
 * arguments, not an array: better-sqlite3 reads an array's elements through V8's API, one call per
 * column (measured: ~13 % of the commit's native instructions), and binding by name costs more.
 */
export function insertEventRow(insert: Statement, stored: StoredEvent): void {
  const event = stored.event;
  insert.run(
    event.id, event.callId, event.kind, stored.eventName, event.timeUs, event.replyCode, event.direction,
    event.caller, event.callee, event.acc === null ? null : JSON.stringify(event.acc),
    stored.exchange, stored.routingKey, stored.body, stored.receivedAtUs,
  );
}

function accFromJson(text: string | null): AccFigures | null {
  if (text === null) return null;
  const acc = JSON.parse(text) as AccFigures;
  return {
    method: acc.method ?? null,
    durationS: acc.durationS ?? null,
    durationMs: acc.durationMs ?? null,
    setupS: acc.setupS ?? null,
    createdS: acc.createdS ?? null,
    sipReason: acc.sipReason ?? null,
  };
}

/** The CallEvent exactly as it was committed. */
export function rowToEvent(row: EventRecordRow): CallEvent {
  return {
    id: row.id,
    kind: row.kind as EventKind,
    callId: row.call_id,
    timeUs: row.time_us,
    caller: row.caller,
    callee: row.callee,
    replyCode: row.reply_code,
    direction: row.direction as Direction | null,
    acc: accFromJson(row.acc),
  };
}

export function rowToEventRow(row: EventRecordRow): EventRow {
  return {
    id: row.id,
    call_id: row.call_id,
    kind: row.kind,
    event_name: row.event_name,
    time: formatUs(row.time_us),
    reply_code: row.reply_code,
    direction: row.direction,
    caller: row.caller,
    callee: row.callee,
    exchange: row.exchange,
    routing_key: row.routing_key,
    body: row.body.toString('utf8'),
  };
}

/** The cdrs table's columns, in the order of `upsertCdrRow`'s parameters. */
export const CDR_COLUMNS = [
  'cdr_id', 'call_id', 'caller', 'callee', 'caller_e164', 'callee_e164', 'disposition', 'start_us', 'invite_at_us',
  'source', 'record',
] as const;

/** Runs `upsert` (its parameters in CDR_COLUMNS order) for one CDR, as separate arguments like insertEventRow. */
export function upsertCdrRow(upsert: Statement, { cdr, extras, startUs }: CdrRecord): void {
  const stored: StoredCdr = { cdr, extras };
  upsert.run(
    cdr.cdr_id, cdr.call_id, cdr.caller, cdr.callee, extras.caller_e164, extras.callee_e164, cdr.disposition, startUs,
    cdr.invite_at === null ? null : parseUs(cdr.invite_at), cdr.source, JSON.stringify(stored),
  );
}

export function recordToStoredCdr(record: string): StoredCdr {
  const { cdr, extras } = JSON.parse(record) as StoredCdr;
  return { cdr, extras };
}
