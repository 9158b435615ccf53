/**
 * A store filled with simulated calls: the simulator's traffic decoded as the service decodes it
 * (raw events, bodies as published) and the CDRs its oracle says the service writes, with
 * normalised numbers. For tests that read stores (`qbl reconcile`, `qbl evidence`).
 */
import { parseUs, type CdrRecord } from '../../correlators/cdr';
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { DialPlan } from '../../src/numbers/dial-plan';
import { makeNumberEnricher } from '../../src/numbers/normaliser';
import { generateTraffic, type TrafficOptions } from '../../src/simulator/generator';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import type { CallStore, StoredEvent } from '../../src/stores/store';

/** Brazil's plan with the default exit codes: national numbers read as Brazilian. */
export const TEST_DIAL_PLAN: DialPlan = Object.freeze({
  defaultCountry: 'BR', exitCodes: Object.freeze(['00', '011']), carrierPrefixes: Object.freeze(['15', '21', '41']), stripPrefixes: Object.freeze(['9']),
});

export function simulatedCalls(options: Partial<TrafficOptions>, plan: DialPlan = TEST_DIAL_PLAN): { records: CdrRecord[]; events: StoredEvent[] } {
  const traffic = generateTraffic({ duplicateRate: 0, reorderRate: 0, lossRate: 0, format: 'mixed', ...options });
  const enrich = makeNumberEnricher(plan);
  const records = traffic.expected.map((cdr) => enrich({ cdr, extras: { caller_e164: null, callee_e164: null, acc_duration_ms: null, acc_setup_ms: null, acc_code: null, acc_mismatch: null }, startUs: parseUs(cdr.invite_at!)! }));
  const events: StoredEvent[] = [];
  for (const message of traffic.messages) {
    if (message.duplicate) continue;
    const decoded = decodeMessage(message.body, DEFAULT_DECODER_OPTIONS);
    if (!decoded.ok) throw new Error(`simulated message did not decode: ${decoded.detail}`);
    events.push({ event: decoded.event, eventName: decoded.eventName, exchange: 'opensips', routingKey: message.routingKey, body: message.body, receivedAtUs: message.timeUs + 1000 });
  }
  return { records, events };
}

export async function commitCalls(store: CallStore, calls: { records: CdrRecord[]; events: StoredEvent[] }): Promise<void> {
  for (let i = 0; i < Math.max(calls.records.length, calls.events.length); i += 2000) {
    await store.commit({ events: calls.events.slice(i, i + 2000), cdrs: calls.records.slice(i, i + 2000), openCalls: [], closedCallIds: [] });
  }
}

/** A SQLite file at `path` holding these calls, written as the service writes them, then closed. */
export async function sqliteWithCalls(path: string, calls: { records: CdrRecord[]; events: StoredEvent[] }): Promise<void> {
  const store = SqliteStore.open(path);
  try {
    await commitCalls(store, calls);
  } finally {
    await store.close();
  }
}
