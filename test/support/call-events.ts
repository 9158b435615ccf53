/** Builders for CallEvents in tests, and an in-memory stand-in for the store's call history. */
import { createHash } from 'node:crypto';
import type { CallEvent, Direction, EventKind, AccFigures } from '../../correlators/events';
import type { CdrRecord } from '../../correlators/cdr';
import { Correlator, type CorrelatorOptions } from '../../correlators/correlator';

export const S = 1_000_000;
export const T0 = 1_796_000_000 * S;

export interface EventFields {
  code?: number | null;
  direction?: Direction | null;
  caller?: string | null;
  callee?: string | null;
  acc?: AccFigures | null;
}

export function callEvent(kind: EventKind, callId: string, timeUs: number, fields: EventFields = {}): CallEvent {
  const body = {
    kind, callId, timeUs,
    replyCode: fields.code ?? null,
    direction: fields.direction === undefined ? 'downstream' : fields.direction,
    caller: fields.caller === undefined ? 'alice' : fields.caller,
    callee: fields.callee === undefined ? 'bob' : fields.callee,
    acc: fields.acc ?? null,
  };
  const id = createHash('sha1').update(JSON.stringify(body)).digest('hex');
  return { id, ...body };
}

export const OPTIONS: CorrelatorOptions = {
  setupTimeoutUs: 300 * S,
  maxCallDurationUs: 4 * 3600 * S,
  byeGraceUs: 5 * S,
  accToleranceMs: 1000,
};

/**
 * Drives a Correlator the way the pipeline does: history for calls not in memory comes from
 * what was "committed", and every step is applied only after its commit.
 */
export class CorrelatorHarness {
  readonly correlator: Correlator;
  readonly committedEvents = new Map<string, CallEvent[]>();
  readonly openCalls = new Set<string>();
  readonly cdrs = new Map<string, CdrRecord>();
  cdrWrites = 0;

  constructor(options: CorrelatorOptions = OPTIONS) {
    this.correlator = new Correlator(options);
  }

  ingest(events: readonly CallEvent[], nowUs: number): void {
    const unknown = [...new Set(events.map((e) => e.callId))].filter((id) => !this.correlator.isOpen(id));
    const history = new Map<string, CallEvent[]>();
    for (const id of unknown) {
      const past = this.committedEvents.get(id);
      if (past) history.set(id, past);
    }
    const step = this.correlator.ingest(events, history, nowUs);
    for (const event of events) {
      const list = this.committedEvents.get(event.callId) ?? [];
      if (!list.some((e) => e.id === event.id)) list.push(event);
      this.committedEvents.set(event.callId, list);
    }
    this.commit(step);
  }

  sweep(nowUs: number): void {
    this.commit(this.correlator.sweep(nowUs));
  }

  private commit(step: ReturnType<Correlator['sweep']>): void {
    for (const record of step.cdrs) {
      this.cdrs.set(record.cdr.call_id, record);
      this.cdrWrites += 1;
    }
    for (const open of step.openCalls) this.openCalls.add(open.callId);
    for (const id of step.closedCallIds) this.openCalls.delete(id);
    step.apply();
  }

  /** Simulates a restart: a new correlator rebuilt from what was committed. */
  restart(options: CorrelatorOptions = OPTIONS): CorrelatorHarness {
    const next = new CorrelatorHarness(options);
    for (const [id, events] of this.committedEvents) next.committedEvents.set(id, [...events]);
    for (const [id, cdr] of this.cdrs) next.cdrs.set(id, cdr);
    for (const id of this.openCalls) {
      next.openCalls.add(id);
      next.correlator.restoreOpen(id, this.committedEvents.get(id) ?? []);
    }
    return next;
  }
}
