/**
 * The correlator alone: decoded events, in publish order, ingested in batches the way the
 * pipeline does (history of closed calls from memory instead of the store), every step applied,
 * a sweep every `sweepEveryBatches` batches and one at the end. Only the correlator's own calls
 * (ingest, apply, sweep) are timed: the in-memory stand-in for the store is not the correlator.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Correlator } from '../correlators/correlator';
import type { CdrRecord } from '../correlators/cdr';
import type { CallEvent } from '../correlators/events';
import { decodeMessage } from '../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../consumers/decode/options';
import { loadConfig } from '../src/config/config';
import type { BenchMessage } from './broker';
import { rate } from './limit';

export interface CorrelatorResult {
  readonly events: number;
  readonly elapsedMs: number;
  readonly perS: number;
  /** Latest CDR per call at the end (rewrites replace earlier ones). */
  readonly cdrs: ReadonlyMap<string, CdrRecord>;
  readonly openCallsLeft: number;
}

export function decodeAll(messages: readonly BenchMessage[]): CallEvent[] {
  return messages.map((message) => {
    const result = decodeMessage(message.body, DEFAULT_DECODER_OPTIONS);
    if (!result.ok) throw new Error(`bench traffic does not decode: ${result.reason} ${result.detail}`);
    return result.event;
  });
}

const NO_HISTORY: ReadonlyMap<string, readonly CallEvent[]> = new Map();

export function measureCorrelator(events: readonly CallEvent[], batchSize: number, sweepEveryBatches = 10): CorrelatorResult {
  const correlator = new Correlator(loadConfig({}).correlator);
  // Stand-in for the store: every call's events, so a late event on a closed call refolds it.
  const stored = new Map<string, CallEvent[]>();
  const cdrs = new Map<string, CdrRecord>();
  let nowUs = Number.NEGATIVE_INFINITY;
  let elapsedMs = 0;
  for (let from = 0, batch = 0; from < events.length; from += batchSize, batch += 1) {
    const slice = events.slice(from, from + batchSize);
    let history: Map<string, CallEvent[]> | undefined;
    for (const event of slice) {
      if (event.timeUs > nowUs) nowUs = event.timeUs;
      if (!correlator.isOpen(event.callId)) {
        const past = stored.get(event.callId);
        if (past !== undefined) (history ??= new Map()).set(event.callId, past);
      }
    }
    let started = performance.now();
    const step = correlator.ingest(slice, history ?? NO_HISTORY, nowUs);
    step.apply();
    elapsedMs += performance.now() - started;
    for (const event of slice) {
      const list = stored.get(event.callId);
      if (list === undefined) stored.set(event.callId, [event]);
      else list.push(event);
    }
    for (const record of step.cdrs) cdrs.set(record.cdr.call_id, record);
    if (batch % sweepEveryBatches === sweepEveryBatches - 1) {
      started = performance.now();
      const swept = correlator.sweep(nowUs);
      swept.apply();
      elapsedMs += performance.now() - started;
      for (const record of swept.cdrs) cdrs.set(record.cdr.call_id, record);
    }
  }
  const started = performance.now();
  const swept = correlator.sweep(nowUs);
  swept.apply();
  elapsedMs += performance.now() - started;
  for (const record of swept.cdrs) cdrs.set(record.cdr.call_id, record);
  return { events: events.length, elapsedMs, perS: rate(events.length, elapsedMs), cdrs, openCallsLeft: correlator.openCallCount };
}

/**
 * The steady-state figure: one discarded run warms the JIT, then the median of `runs` runs
 * (a single run on a shared 2-core machine swings by a factor of two with GC timing).
 */
export function measureCorrelatorSteady(events: readonly CallEvent[], batchSize: number, runs = 5): CorrelatorResult {
  measureCorrelator(events, batchSize);
  const results = Array.from({ length: runs }, () => measureCorrelator(events, batchSize)).sort((a, b) => a.perS - b.perS);
  return results[Math.floor(runs / 2)]!;
}

/** Same runtime flags as `make run`, so the figure is the service's own. */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=64'];

/** measureCorrelatorSteady in a fresh process (correlator-child.ts), on the bench's traffic. */
export async function measureCorrelatorIsolated(messages: number, seed: number, batchSize: number): Promise<{ perS: number; events: number }> {
  const child = join(__dirname, 'correlator-child.js');
  const { stdout } = await promisify(execFile)(process.execPath, [...SERVICE_NODE_FLAGS, child, String(messages), String(seed), String(batchSize)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as { perS: number; events: number };
}
