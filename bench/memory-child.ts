/**
 * Child process of memory.ts (run with --expose-gc): opens `N` calls in a Correlator, committing
 * them to a temporary SQLite store as the pipeline would, and prints one JSON line (MemoryResult).
 * Calls stay open because only their INVITE and its non-failure replies are fed (answered calls
 * in talk, and calls still ringing).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Correlator } from '../correlators/correlator';
import type { CallEvent } from '../correlators/events';
import { decodeMessage } from '../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../consumers/decode/options';
import { loadConfig } from '../src/config/config';
import { SqliteStore } from '../src/stores/sqlite/sqlite-store';
import type { StoredEvent } from '../src/stores/store';
import { generateTraffic } from '../src/simulator/generator';
import type { MemoryResult } from './memory';

const CHUNK_CALLS = 10_000;
const BATCH = 1000;
const OPEN_TABLES = ['events', 'sqlite_autoindex_events_1', 'events_call_time', 'open_calls', 'sqlite_autoindex_open_calls_1'];

function gcHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Stored messages of `calls` calls that leave each call open. */
function openingMessages(calls: number, seed: number, startTimeUs: number): StoredEvent[] {
  const traffic = generateTraffic({ calls, seed, cps: 800, concurrency: 10_000_000, startTimeUs, duplicateRate: 0, reorderRate: 0 });
  const out: StoredEvent[] = [];
  for (const message of traffic.messages) {
    if (message.eventName !== 'E_QBL_INVITE_REQUEST' && message.eventName !== 'E_QBL_INVITE_REPLY') continue;
    const result = decodeMessage(message.body, DEFAULT_DECODER_OPTIONS);
    if (!result.ok) throw new Error(result.detail);
    if (result.event.replyCode !== null && result.event.replyCode >= 300) continue;
    out.push({ event: result.event, eventName: result.eventName, exchange: 'opensips', routingKey: message.routingKey, body: message.body, receivedAtUs: Date.now() * 1000 });
  }
  return out;
}

async function main(): Promise<void> {
  const openCalls = Number(process.argv[2]);
  const seed = Number(process.argv[3] ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-mem-'));
  const path = join(dir, 'qbl.db');
  try {
    const store = SqliteStore.open(path);
    const correlator = new Correlator(loadConfig({}).correlator);
    const emptySize = statSync(path).size + sizeIfAny(`${path}-wal`);
    const before = gcHeap();
    let events = 0;
    let nowUs = 0;
    const startUs = Date.now() * 1000;
    for (let done = 0; done < openCalls; done += CHUNK_CALLS) {
      const calls = Math.min(CHUNK_CALLS, openCalls - done);
      const stored = openingMessages(calls, seed + done, startUs);
      for (let i = 0; i < stored.length; i += BATCH) {
        const batch = stored.slice(i, i + BATCH);
        const batchEvents: CallEvent[] = batch.map((s) => s.event);
        for (const event of batchEvents) nowUs = Math.max(nowUs, event.timeUs);
        const step = correlator.ingest(batchEvents, new Map(), nowUs);
        await store.commit({ events: batch, cdrs: step.cdrs, openCalls: step.openCalls, closedCallIds: step.closedCallIds });
        step.apply();
      }
      events += stored.length;
    }
    const after = gcHeap();
    const held = correlator.openCallCount;
    await store.close();
    const stored = storedBytes(path);
    const result: MemoryResult = {
      openCalls: held,
      events,
      heapBytesPerOpenCall: Math.round((after - before) / held),
      storedBytesPerOpenCall: Math.round((stored ?? statSync(path).size - emptySize) / held),
      storedMethod: stored === null ? 'file' : 'dbstat',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sizeIfAny(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Bytes of the pages holding open calls and their events; null when SQLite lacks dbstat. */
function storedBytes(path: string): number | null {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name').all() as Array<{ name: string; bytes: number }>;
    return rows.filter((row) => OPEN_TABLES.includes(row.name)).reduce((sum, row) => sum + row.bytes, 0);
  } catch {
    return null;
  } finally {
    db.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`memory bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
