/**
 * Call documents: the correlator's join state on the search engine (docs/scaling.md). One
 * document per call in `<prefix>-calls`, id = the call's cdr_id, holding every distinct event of
 * the call (compact, as the correlator reads them), whether it is open and its deadline. A call's
 * state is the fold of these events, read back by id (real-time), so any instance, with an empty
 * disk, rebuilds it exactly.
 *
 * The event set only grows: every write is conditional on the document read just before
 * (if_seq_no/if_primary_term, or `create` when there was none) and is the union of what was read
 * and what the batch adds. So two writes with the same number of events hold the same events.
 */
import { cdrIdFor, formatUs, parseUs } from '../../../correlators/cdr';
import { type CallEvent, type Direction, type EventKind, isAccKind } from '../../../correlators/events';

export function callsIndex(prefix: string): string {
  return `${prefix}-calls`;
}

/** The calls index is one index (ids must be found without knowing any time): not monthly, no retention policy. */
export const CALL_PROPERTIES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = Object.freeze({
  call_id: { type: 'keyword' },
  open: { type: 'boolean' },
  deadline_us: { type: 'long' },
  event_count: { type: 'integer' },
  updated_at: { type: 'date_nanos', format: 'strict_date_optional_time_nanos' },
  // Read back whole by id, never searched.
  events: { type: 'object', enabled: false },
});

export interface CallDocument {
  readonly call_id: string;
  readonly open: boolean;
  /** The event-clock instant the call closes at if nothing else arrives; null once closed. */
  readonly deadline_us: number | null;
  readonly event_count: number;
  readonly updated_at: string;
  readonly events: readonly CallEvent[];
}

export function callDocumentId(callId: string): string {
  return cdrIdFor(callId);
}

export function callDocument(callId: string, events: readonly CallEvent[], open: boolean, deadlineUs: number | null, nowUs: number): CallDocument {
  return { call_id: callId, open, deadline_us: open ? deadlineUs : null, event_count: events.length, updated_at: formatUs(nowUs), events };
}

/** The stored events of a call document (none when the source holds none). */
export function eventsOf(source: Readonly<Record<string, unknown>>): CallEvent[] {
  return Array.isArray(source.events) ? (source.events as CallEvent[]) : [];
}

/** `stored` then the events of `added` not among them (by id): the set only grows. */
export function unionEvents(stored: readonly CallEvent[], added: readonly CallEvent[]): CallEvent[] {
  const ids = new Set(stored.map((event) => event.id));
  const out = [...stored];
  for (const event of added) {
    if (ids.has(event.id)) continue;
    ids.add(event.id);
    out.push(event);
  }
  return out;
}

/**
 * A raw event document back as the correlator's event: for calls written before call documents
 * existed (an upgrade), whose history is only in the events index.
 */
export function callEventFromSource(source: Readonly<Record<string, unknown>>): CallEvent {
  const orNull = <T>(name: string): T | null => (source[name] ?? null) as T | null;
  const kind = String(source.kind) as EventKind;
  return {
    id: String(source.id),
    kind,
    callId: String(source.call_id),
    timeUs: parseUs(String(source.time)) ?? 0,
    caller: orNull<string>('caller'),
    callee: orNull<string>('callee'),
    replyCode: orNull<number>('reply_code'),
    direction: orNull<Direction>('direction'),
    acc: isAccKind(kind) ? {
      method: orNull<string>('acc_method'),
      durationS: orNull<number>('acc_duration_s'),
      durationMs: orNull<number>('acc_duration_ms'),
      setupS: orNull<number>('acc_setup_s'),
      createdS: orNull<number>('acc_created_s'),
      sipReason: orNull<string>('acc_sip_reason'),
    } : null,
  };
}
