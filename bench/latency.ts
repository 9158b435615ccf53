/**
 * CDR latency: the service runs; a publisher paces the generator's messages at a steady rate;
 * for every call, the time from publishing its last distinct event to the commit of the CDR that
 * merges all of its events (a committed SQLite transaction is what a reader can query).
 */
import { performance } from 'node:perf_hooks';
import type { QueueType } from '../src/config/config';
import { benchTopology, delay, deleteTopology, openConnection } from './broker';
import { compareCdrs, startService, type IntakeFlags } from './service-run';
import type { TrafficMessage } from '../src/simulator/generator';
import type { Cdr } from '../correlators/cdr';

export interface LatencyOptions extends IntakeFlags {
  readonly queueType: QueueType;
  readonly ratePerS: number;
  /** After the last publish, calls still without their final CDR count as missing after this long. */
  readonly settleTimeoutMs?: number;
}

export interface LatencyResult {
  readonly calls: number;
  readonly messages: number;
  /** The rate the publisher actually held. */
  readonly publishedPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Calls whose complete CDR never appeared. */
  readonly missing: number;
  readonly matchingCdrs: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export async function measureLatency(messages: readonly TrafficMessage[], expected: readonly Cdr[], options: LatencyOptions): Promise<LatencyResult> {
  const wantEvents = new Map(expected.map((cdr) => [cdr.call_id, cdr.events]));
  const completeAtMs = new Map<string, number>();
  const lastPublishMs = new Map<string, number>();
  const topology = benchTopology(options.queueType, 'latency');
  const running = await startService({
    ...options,
    topology,
    onCommit: (note) => {
      for (const { cdr } of note.cdrs) {
        if (!completeAtMs.has(cdr.call_id) && cdr.events === wantEvents.get(cdr.call_id)) completeAtMs.set(cdr.call_id, note.atMs);
      }
    },
  });
  const model = await openConnection('qbl-bench-paced-publisher');
  try {
    const channel = await model.createChannel();
    const started = performance.now();
    let sent = 0;
    while (sent < messages.length) {
      const due = Math.min(messages.length, Math.floor(((performance.now() - started) * options.ratePerS) / 1000));
      for (; sent < due; sent += 1) {
        const message = messages[sent]!;
        const ok = channel.publish(topology.exchange, message.routingKey, message.body);
        if (!message.duplicate) lastPublishMs.set(message.callId, performance.now());
        if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
      }
      await delay(1);
    }
    const publishedPerS = messages.length / ((performance.now() - started) / 1000);
    const settleBy = Date.now() + (options.settleTimeoutMs ?? 30_000);
    while (completeAtMs.size < expected.length && Date.now() < settleBy) await delay(10);
    await channel.close();

    const latencies: number[] = [];
    for (const cdr of expected) {
      const done = completeAtMs.get(cdr.call_id);
      const published = lastPublishMs.get(cdr.call_id);
      if (done !== undefined && published !== undefined) latencies.push(Math.max(0, done - published));
    }
    latencies.sort((a, b) => a - b);
    const check = compareCdrs(await running.storedCdrs(), expected);
    return {
      calls: expected.length,
      messages: messages.length,
      publishedPerS,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1] ?? Number.NaN,
      missing: expected.length - latencies.length,
      matchingCdrs: check.matching,
    };
  } finally {
    await running.stop();
    await deleteTopology(model, topology);
    await model.close().catch(() => undefined);
  }
}

