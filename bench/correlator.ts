/**
 * The correlator alone: decoded events, in publish order, ingested in batches the way the
 * pipeline does (history of closed calls from memory instead of the store), every step applied,
 * a sweep every `sweepEveryBatches` batches and one at the end. Only the correlator's own calls
 * (ingest, apply, sweep) are timed: the in-memory stand-in for the store is not the correlator,
 * and it holds no more in the JS heap during a run than the pipeline does (see callLogs, keep).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Correlator } from '../correlators/correlator';
import { CDR_FIELDS, type Cdr, type CdrRecord } from '../correlators/cdr';
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
  /** Latest CDR per call at the end (rewrites replace earlier ones); empty when the run checked them against `expected` instead. */
  readonly cdrs: ReadonlyMap<string, CdrRecord>;
  /** Calls that got a CDR. */
  readonly calls: number;
  /** With `expected`: calls whose latest CDR differs from the expected one in some cdr.md field (or has none expected). */
  readonly mismatchedCalls: number;
  readonly openCallsLeft: number;
}

/** The service's decoder on one bench message; the generator's traffic always decodes, so a failure is a bug. */
export function decodeBenchMessage(message: BenchMessage): { event: CallEvent; eventName: string } {
  const result = decodeMessage(message.body, DEFAULT_DECODER_OPTIONS);
  if (!result.ok) throw new Error(`bench traffic does not decode: ${result.reason} ${result.detail}`);
  return result;
}

export function decodeAll(messages: readonly BenchMessage[]): CallEvent[] {
  return messages.map((message) => decodeBenchMessage(message).event);
}

const NO_HISTORY: ReadonlyMap<string, readonly CallEvent[]> = new Map();

/** One call's events in stream order, with their positions in the stream. */
interface CallLog {
  readonly events: CallEvent[];
  readonly positions: number[];
}

/**
 * The stand-in for the store, built once per stream and shared by every run: a call's history
 * before a batch is a prefix of its log. The real store keeps events out of the JS heap; a
 * stand-in that grew an array per call during each run made the runs' garbage collections
 * (timed, as they fall inside ingest) copy the store's contents.
 */
const callLogsByStream = new WeakMap<readonly CallEvent[], ReadonlyMap<string, CallLog>>();

function callLogs(events: readonly CallEvent[]): ReadonlyMap<string, CallLog> {
  let logs = callLogsByStream.get(events);
  if (logs === undefined) {
    const byCall = new Map<string, CallLog>();
    events.forEach((event, position) => {
      const log = byCall.get(event.callId);
      if (log === undefined) byCall.set(event.callId, { events: [event], positions: [position] });
      else {
        log.events.push(event);
        log.positions.push(position);
      }
    });
    logs = byCall;
    callLogsByStream.set(events, logs);
  }
  return logs;
}

/** The call's events committed before stream position `from` (every event, duplicates too, as the store keeps them). */
function committedBefore(log: CallLog, from: number): CallEvent[] {
  let count = 0;
  while (count < log.positions.length && log.positions[count]! < from) count += 1;
  return log.events.slice(0, count);
}

function sameCdr(got: Cdr, want: Cdr | undefined): boolean {
  return want !== undefined && CDR_FIELDS.every((field) => got[field] === want[field]);
}

/**
 * Without `expected`, every call's latest CDR record is kept and returned. With it, each CDR is
 * compared with the expected one when it is produced and only the verdict is kept: the pipeline
 * drops a CDR once its batch is committed, and a run that held all of them made every garbage
 * collection inside ingest copy a whole run's CDRs.
 */
export function measureCorrelator(events: readonly CallEvent[], batchSize: number, sweepEveryBatches = 10, expected?: readonly Cdr[]): CorrelatorResult {
  const correlator = new Correlator(loadConfig({}).correlator);
  const logs = callLogs(events);
  const expectedByCall = expected === undefined ? undefined : new Map(expected.map((cdr) => [cdr.call_id, cdr]));
  const cdrs = new Map<string, CdrRecord>();
  const verdicts = new Map<string, boolean>();
  const keep = (records: readonly CdrRecord[]) => {
    for (const record of records) {
      if (expectedByCall === undefined) cdrs.set(record.cdr.call_id, record);
      else verdicts.set(record.cdr.call_id, sameCdr(record.cdr, expectedByCall.get(record.cdr.call_id)));
    }
  };
  let nowUs = Number.NEGATIVE_INFINITY;
  let elapsedMs = 0;
  for (let from = 0, batch = 0; from < events.length; from += batchSize, batch += 1) {
    const slice = events.slice(from, from + batchSize);
    let history: Map<string, CallEvent[]> | undefined;
    for (const event of slice) {
      if (event.timeUs > nowUs) nowUs = event.timeUs;
      if (!correlator.isOpen(event.callId) && !history?.has(event.callId)) {
        const past = committedBefore(logs.get(event.callId)!, from);
        if (past.length > 0) (history ??= new Map()).set(event.callId, past);
      }
    }
    let started = performance.now();
    const step = correlator.ingest(slice, history ?? NO_HISTORY, nowUs);
    step.apply();
    elapsedMs += performance.now() - started;
    keep(step.cdrs);
    if (batch % sweepEveryBatches === sweepEveryBatches - 1) {
      started = performance.now();
      const swept = correlator.sweep(nowUs);
      swept.apply();
      elapsedMs += performance.now() - started;
      keep(swept.cdrs);
    }
  }
  const started = performance.now();
  const swept = correlator.sweep(nowUs);
  swept.apply();
  elapsedMs += performance.now() - started;
  keep(swept.cdrs);
  let mismatchedCalls = 0;
  for (const ok of verdicts.values()) if (!ok) mismatchedCalls += 1;
  return {
    events: events.length,
    elapsedMs,
    perS: rate(events.length, elapsedMs),
    cdrs,
    calls: expectedByCall === undefined ? cdrs.size : verdicts.size,
    mismatchedCalls,
    openCallsLeft: correlator.openCallCount,
  };
}

/**
 * The steady-state figure: one discarded run warms the JIT, then the median of `runs` runs
 * (a single run on a shared 2-core machine swings by a factor of two with GC timing).
 */
export function measureCorrelatorSteady(events: readonly CallEvent[], batchSize: number, expected: readonly Cdr[], runs = 5): CorrelatorResult {
  measureCorrelator(events, batchSize, 10, expected);
  const results = Array.from({ length: runs }, () => measureCorrelator(events, batchSize, 10, expected)).sort((a, b) => a.perS - b.perS);
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
