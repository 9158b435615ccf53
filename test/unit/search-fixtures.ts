/** Events, CDRs and an in-memory local store shared by the search store tests (unit and live). */
import { Writable } from 'node:stream';
import { cdrIdFor, formatUs, EMPTY_EXTRAS, type CdrRecord } from '../../correlators/cdr';
import type { CallEvent } from '../../correlators/events';
import { createLogger, type Logger } from '../../src/observability/logger';
import type { CallStore, CommitBatch, CommitResult, OpenCall, StoredEvent } from '../../src/stores/store';
import { NOTHING_REJECTED } from '../../src/stores/store';

/** 2026-11-30T00:53:19.912345Z: microseconds that a float of seconds would not keep. */
export const T0_US = 1_796_000_000_000_000 + 912_345;

export function storedEvent(callId: string, kind: CallEvent['kind'], timeUs: number, extra: Partial<CallEvent> = {}): StoredEvent {
  const event: CallEvent = {
    id: `${callId}:${kind}:${timeUs}`,
    kind,
    callId,
    timeUs,
    caller: '+5511987654321',
    callee: '551133334444',
    replyCode: kind.endsWith('reply') ? 200 : null,
    direction: 'downstream',
    acc: null,
    ...extra,
  };
  return {
    event,
    eventName: `E_QBL_${kind.toUpperCase()}`,
    exchange: 'opensips',
    routingKey: 'qbl',
    body: Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: `E_QBL_${kind.toUpperCase()}`, params: { call_id: callId } })),
    receivedAtUs: timeUs + 1500,
  };
}

export function answeredCdr(callId: string, inviteUs: number): CdrRecord {
  return {
    cdr: {
      cdr_id: cdrIdFor(callId), call_id: callId, caller: '+5511987654321', callee: '551133334444',
      disposition: 'answered', final_code: 200, invite_at: formatUs(inviteUs), ringing_at: formatUs(inviteUs + 135_866),
      answer_at: formatUs(inviteUs + 4_094_658), end_at: formatUs(inviteUs + 65_587_655),
      pdd_us: 135_866, setup_us: 4_094_658, talk_us: 61_492_997, total_us: 65_587_655,
      bye_code: 200, hangup_by: 'caller', closed_by: 'bye', complete: true, events: 4, source: 'qbl',
    },
    extras: { ...EMPTY_EXTRAS, caller_e164: '+5511987654321', callee_e164: '+551133334444' },
    startUs: inviteUs,
  };
}

/** One answered call: its four events and its CDR. */
export function answeredCall(callId: string, inviteUs: number): CommitBatch {
  return {
    events: [
      storedEvent(callId, 'invite_request', inviteUs),
      storedEvent(callId, 'invite_reply', inviteUs + 4_094_658),
      storedEvent(callId, 'bye_request', inviteUs + 65_587_655),
      storedEvent(callId, 'bye_reply', inviteUs + 65_600_000),
    ],
    cdrs: [answeredCdr(callId, inviteUs)],
    openCalls: [],
    closedCallIds: [callId],
  };
}

/** A local store that keeps commits in memory: the search store only needs the CallStore contract. */
export class MemoryStore implements CallStore {
  readonly commits: CommitBatch[] = [];
  closed = false;

  async commit(batch: CommitBatch): Promise<CommitResult> {
    this.commits.push(batch);
    return NOTHING_REJECTED;
  }

  async eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>> {
    const out = new Map<string, CallEvent[]>();
    for (const batch of this.commits) {
      for (const { event } of batch.events) {
        if (callIds.includes(event.callId)) out.set(event.callId, [...(out.get(event.callId) ?? []), event]);
      }
    }
    return out;
  }

  async openCalls(): Promise<OpenCall[]> {
    return this.commits.flatMap((batch) => batch.openCalls);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A pino logger whose lines are kept for assertions. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

export const noSleep = (): Promise<void> => Promise.resolve();
