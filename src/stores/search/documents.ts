/**
 * Pure mapping from what the pipeline stores to search documents and bulk actions.
 * Ids are deterministic (cdr_id, event id) and the index comes from a time that never depends
 * on arrival order, so a redelivery or replay overwrites the same document.
 */
import { CDR_FIELDS, EMPTY_EXTRAS, cdrIdFor, formatUs, type Cdr, type CdrExtras, type CdrRecord } from '../../../correlators/cdr';
import type { EventRow, StoredCdr, StoredEvent } from '../store';
import type { BulkAction } from './engine';

export type DocumentKind = 'cdrs' | 'events';

/** `qbl-cdrs-2026.11`: one index per UTC month of the document's time. */
export function indexName(prefix: string, kind: DocumentKind, timeUs: number): string {
  const date = new Date(Math.floor(timeUs / 1000));
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  return `${prefix}-${kind}-${date.getUTCFullYear()}.${month}`;
}

/** The pattern that covers every monthly index of a kind (templates, searches, data views). */
export function indexPattern(prefix: string, kind: DocumentKind): string {
  return `${prefix}-${kind}-*`;
}

/**
 * cdr.md fields, the service's extras, `start_at`: the call's own start (never null), and
 * `written_at`: when this version was written (null when not given).
 */
export function cdrDocument(record: CdrRecord, writtenAtUs: number | null = null): Record<string, unknown> {
  return { ...record.cdr, ...record.extras, start_at: formatUs(record.startUs), written_at: writtenAtUs === null ? null : formatUs(writtenAtUs) };
}

/** Decodes the body as UTF-8; bytes that are not valid UTF-8 are kept exactly in `body_base64`. */
function bodyFields(body: Buffer): { body: string; body_base64: string | null } {
  const text = body.toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(body);
  return { body: text, body_base64: exact ? null : body.toString('base64') };
}

/**
 * `cdrIdFor` remembered for one batch: a call's events share its CDR id, a SHA-1 of the call id, so
 * a batch hashes each call once rather than once per event (the event's own id comes from decode).
 */
export function batchCdrIds(): (callId: string) => string {
  const ids = new Map<string, string>();
  return (callId) => {
    let id = ids.get(callId);
    if (id === undefined) {
      id = cdrIdFor(callId);
      ids.set(callId, id);
    }
    return id;
  };
}

/** A raw event: the EventRow fields plus when it was received, acc figures and the exact body. */
export function eventDocument(stored: StoredEvent): Record<string, unknown> {
  return eventDocumentWith(stored, cdrIdFor(stored.event.callId));
}

function eventDocumentWith(stored: StoredEvent, cdrId: string): Record<string, unknown> {
  const { event } = stored;
  const acc = event.acc;
  return {
    id: event.id,
    call_id: event.callId,
    cdr_id: cdrId,
    kind: event.kind,
    event_name: stored.eventName,
    time: formatUs(event.timeUs),
    reply_code: event.replyCode,
    direction: event.direction,
    caller: event.caller,
    callee: event.callee,
    exchange: stored.exchange,
    routing_key: stored.routingKey,
    received_at: formatUs(stored.receivedAtUs),
    acc_method: acc?.method ?? null,
    acc_duration_s: acc?.durationS ?? null,
    acc_duration_ms: acc?.durationMs ?? null,
    acc_setup_s: acc?.setupS ?? null,
    acc_created_s: acc?.createdS ?? null,
    acc_sip_reason: acc?.sipReason ?? null,
    ...bodyFields(stored.body),
  };
}

/** A CDR goes to the month of its call's start, so every rewrite of the call hits the same index. */
export function cdrAction(prefix: string, record: CdrRecord, writtenAtUs: number | null = null): BulkAction {
  return { index: indexName(prefix, 'cdrs', record.startUs), id: record.cdr.cdr_id, document: cdrDocument(record, writtenAtUs) };
}

/**
 * The CDR's index action, and, when a late event moved the call's start into another month,
 * the delete of the copy filed under the old start: one call, one CDR document.
 */
export function cdrActions(prefix: string, record: CdrRecord, writtenAtUs: number | null = null): BulkAction[] {
  const write = cdrAction(prefix, record, writtenAtUs);
  if (record.previousStartUs === undefined) return [write];
  const previousIndex = indexName(prefix, 'cdrs', record.previousStartUs);
  if (previousIndex === write.index) return [write];
  return [write, { index: previousIndex, id: write.id, document: {}, op: 'delete' }];
}

/**
 * An event goes to the month of its OWN time: that is part of its content, so every delivery of
 * the same event lands on the same document even when the call's start becomes known only later.
 * A call's events are found across months by call_id (`qbl-events-*`).
 */
export function eventAction(prefix: string, stored: StoredEvent, cdrIdOf: (callId: string) => string = cdrIdFor): BulkAction {
  return { index: indexName(prefix, 'events', stored.event.timeUs), id: stored.event.id, document: eventDocumentWith(stored, cdrIdOf(stored.event.callId)) };
}

/** Keeps the last action per (index, id): one commit never races two versions of a document. */
export function dedupeActions(actions: readonly BulkAction[]): BulkAction[] {
  const byKey = new Map<string, BulkAction>();
  for (const action of actions) {
    const key = `${action.index}\u0000${action.id}`;
    byKey.delete(key);
    byKey.set(key, action);
  }
  return [...byKey.values()];
}

// ---- documents back to the readers' shapes

/** The engines' default `index.max_result_window`: the most one search returns. */
export const MAX_SEARCH_SIZE = 10_000;

const EXTRA_FIELDS = Object.keys(EMPTY_EXTRAS) as Array<keyof CdrExtras>;

function pick<T>(source: Readonly<Record<string, unknown>>, fields: readonly (keyof T)[]): T {
  const out: Record<string, unknown> = {};
  for (const field of fields) out[field as string] = source[field as string] ?? null;
  return out as T;
}

export function storedCdrFromSource(source: Readonly<Record<string, unknown>>): StoredCdr {
  return { cdr: pick<Cdr>(source, CDR_FIELDS), extras: pick<CdrExtras>(source, EXTRA_FIELDS) };
}

export function eventRowFromSource(source: Readonly<Record<string, unknown>>): EventRow {
  const text = (name: string): string => String(source[name] ?? '');
  const orNull = <T>(name: string): T | null => (source[name] ?? null) as T | null;
  return {
    id: text('id'),
    call_id: text('call_id'),
    kind: text('kind'),
    event_name: text('event_name'),
    time: text('time'),
    reply_code: orNull<number>('reply_code'),
    direction: orNull<string>('direction'),
    caller: orNull<string>('caller'),
    callee: orNull<string>('callee'),
    exchange: text('exchange'),
    routing_key: text('routing_key'),
    body: text('body'),
  };
}
