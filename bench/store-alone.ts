/**
 * The embedded store alone: the commits the service would make for the stream (its events, the
 * CDRs and open-call changes the correlator derives, CDRs enriched as the service does), written
 * to a fresh SQLite file with no broker and no decoding in the way. The batches are built first;
 * then only commits run, timed and with this process's CPU counted (every thread: the
 * checkpointer's work is the store's too).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Correlator } from '../correlators/correlator';
import type { CallEvent } from '../correlators/events';
import { loadConfig } from '../src/config/config';
import { makeNumberEnricher } from '../src/numbers/normaliser';
import type { CommitBatch, StoredEvent } from '../src/stores/store';
import { SqliteStore } from '../src/stores/sqlite/sqlite-store';
import type { BenchMessage } from './broker';
import { rate } from './limit';
import { decodeBenchMessage } from './correlator';

/** Decoding alone (body → event, id included): µs per message, single thread, after a warm-up pass. */
export function measureDecodeUs(messages: readonly BenchMessage[]): number {
  const pass = () => {
    for (const message of messages) decodeBenchMessage(message);
  };
  pass();
  const started = performance.now();
  pass();
  return ((performance.now() - started) * 1000) / messages.length;
}

export interface StoreAloneResult {
  readonly events: number;
  readonly commits: number;
  readonly perS: number;
  readonly cpuUsPerEvent: number;
}

/** The stream cut into batches of `batchSize`, each with what the pipeline would commit with it. */
export function commitBatches(messages: readonly BenchMessage[], batchSize: number): CommitBatch[] {
  const config = loadConfig({});
  const correlator = new Correlator(config.correlator);
  const enrich = makeNumberEnricher(config.dialPlan);
  const committed = new Map<string, CallEvent[]>();
  const batches: CommitBatch[] = [];
  let nowUs = Number.NEGATIVE_INFINITY;
  for (let from = 0; from < messages.length; from += batchSize) {
    const stored: StoredEvent[] = messages.slice(from, from + batchSize).map((message) => {
      const { event, eventName } = decodeBenchMessage(message);
      return { event, eventName, exchange: 'bench', routingKey: message.routingKey, body: message.body, receivedAtUs: Date.now() * 1000 };
    });
    const events = stored.map((s) => s.event);
    const history = new Map<string, CallEvent[]>();
    for (const event of events) {
      if (event.timeUs > nowUs) nowUs = event.timeUs;
      const past = committed.get(event.callId);
      if (!correlator.isOpen(event.callId) && past !== undefined) history.set(event.callId, past);
    }
    const step = correlator.ingest(events, history, nowUs);
    step.apply();
    for (const event of events) {
      const past = committed.get(event.callId);
      if (past === undefined) committed.set(event.callId, [event]);
      else past.push(event);
    }
    batches.push({ events: stored, cdrs: step.cdrs.map(enrich), openCalls: step.openCalls, closedCallIds: step.closedCallIds });
  }
  return batches;
}

export async function measureStoreAlone(messages: readonly BenchMessage[], batchSize: number): Promise<StoreAloneResult> {
  const batches = commitBatches(messages, batchSize);
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-store-'));
  const store = SqliteStore.open(join(dir, 'qbl.db'));
  try {
    let events = 0;
    // Nothing but commits runs from here on, so the whole process's CPU is the store's.
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (const batch of batches) {
      await store.commit(batch);
      events += batch.events.length;
    }
    const elapsedMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { events, commits: batches.length, perS: rate(events, elapsedMs), cpuUsPerEvent: (used.user + used.system) / events };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
