/** Conversions between the pipeline's objects and SQLite rows (pure). */
import type { AccFigures, CallEvent, Direction, EventKind } from '../../../correlators/events';
import { formatUs, parseUs, type CdrRecord } from '../../../correlators/cdr';
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

export function eventToRow(stored: StoredEvent): EventRecordRow {
  const { event } = stored;
  return {
    id: event.id,
    call_id: event.callId,
    kind: event.kind,
    event_name: stored.eventName,
    time_us: event.timeUs,
    reply_code: event.replyCode,
    direction: event.direction,
    caller: event.caller,
    callee: event.callee,
    acc: event.acc === null ? null : JSON.stringify(event.acc),
    exchange: stored.exchange,
    routing_key: stored.routingKey,
    body: stored.body,
    received_at_us: stored.receivedAtUs,
  };
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

export interface CdrRecordRow {
  cdr_id: string;
  call_id: string;
  caller: string | null;
  callee: string | null;
  caller_e164: string | null;
  callee_e164: string | null;
  disposition: string;
  start_us: number;
  invite_at_us: number | null;
  source: string;
  record: string;
}

export function cdrToRow({ cdr, extras, startUs }: CdrRecord): CdrRecordRow {
  const stored: StoredCdr = { cdr, extras };
  return {
    cdr_id: cdr.cdr_id,
    call_id: cdr.call_id,
    caller: cdr.caller,
    callee: cdr.callee,
    caller_e164: extras.caller_e164,
    callee_e164: extras.callee_e164,
    disposition: cdr.disposition,
    start_us: startUs,
    invite_at_us: cdr.invite_at === null ? null : parseUs(cdr.invite_at),
    source: cdr.source,
    record: JSON.stringify(stored),
  };
}

export function recordToStoredCdr(record: string): StoredCdr {
  const { cdr, extras } = JSON.parse(record) as StoredCdr;
  return { cdr, extras };
}
