/**
 * The service's own rate: the real Service (decode → correlate → SQLite commit → ack) draining
 * the same kind of pre-published stream as the bare consumer, from its first delivery to its
 * last commit; then the stored CDRs are checked against the generator's expected ones.
 */
import type { QueueType } from '../src/config/config';
import type { Cdr } from '../correlators/cdr';
import { type BenchMessage, benchTopology, declare, delay, deleteTopology, openConnection, publishConfirmed, waitForDepth } from './broker';
import { rate, type RateResult } from './limit';
import { type CpuPerEvent, cpuPerEvent, findBrokerPid, processCpuUs, sampleCpu } from './cpu';
import { compareCdrs, startService, type IntakeFlags, type RunningService } from './service-run';

/** Something run while the service drains (the lookup bench's load): started once it runs, stopped at its last commit. */
export type DrainCompanion = (running: RunningService) => Promise<{ stop(): Promise<void> }>;

export interface PipelineResult extends RateResult {
  readonly committedEvents: number;
  readonly expectedCdrs: number;
  readonly storedCdrs: number;
  /** Stored CDRs equal, field for field, to the expected ones. */
  readonly matchingCdrs: number;
  readonly mismatchedCallIds: readonly string[];
  readonly openCallsLeft: number;
  readonly commits: number;
  /** CPU per event from the end of the service's start-up to its last commit: the service's (every thread), and the broker's. */
  readonly cpu: CpuPerEvent;
  /** The search node's CPU µs per event over the same interval, when `enginePid` was given and readable. */
  readonly engineCpuUs: number | null;
  /** Epoch ms of the first delivery and of the last commit: the interval the rate covers. */
  readonly firstReceivedAtMs: number;
  readonly lastCommitAtMs: number;
}

export interface PipelineOptions extends IntakeFlags {
  readonly queueType: QueueType;
  /** The service on the search store (OPENSEARCH_URL or ELASTICSEARCH_URL); its CDRs are read back from the engine. */
  readonly search?: boolean;
  /** Gives up waiting for the last commit after this long without progress. */
  readonly stallTimeoutMs?: number;
  /** Turns the number lookup on, on this port. */
  readonly lookupPort?: number;
  readonly alongside?: DrainCompanion;
  /** A search node on this host whose CPU time to account (bench/cpu.ts findListenerPid). */
  readonly enginePid?: number | null;
}

export async function measurePipeline(messages: readonly BenchMessage[], expected: readonly Cdr[], options: PipelineOptions): Promise<PipelineResult> {
  // Declared as the service will declare it: on the search store, with single-active-consumer.
  const topology = options.search
    ? { ...benchTopology(options.queueType, 'search'), consumers: 'single-active' as const }
    : benchTopology(options.queueType, 'pipeline');
  const model = await openConnection('qbl-bench-publisher');
  try {
    await declare(model, topology);
    await publishConfirmed(model, topology.exchange, messages);
    await waitForDepth(model, topology.queue, messages.length);
    const brokerPid = findBrokerPid();
    const running = await startService({ ...options, topology });
    // After the start-up (SQLite open, connect, declare): the rate does not count it either.
    const cpuAtStart = sampleCpu(brokerPid);
    const engineAtStart = processCpuUs(options.enginePid ?? null);
    const companion = await options.alongside?.(running);
    try {
      const { store } = running;
      let seen = 0;
      let progressAt = Date.now();
      while (store.committedEvents < messages.length) {
        if (store.committedEvents !== seen) {
          seen = store.committedEvents;
          progressAt = Date.now();
        } else if (Date.now() - progressAt > (options.stallTimeoutMs ?? 30_000)) {
          throw new Error(`pipeline stalled at ${seen} of ${messages.length} committed events`);
        }
        await delay(5);
      }
      const cpu = cpuPerEvent(cpuAtStart, sampleCpu(brokerPid), store.committedEvents);
      const engineAtEnd = processCpuUs(options.enginePid ?? null);
      const engineCpuUs = engineAtStart === null || engineAtEnd === null ? null : (engineAtEnd - engineAtStart) / store.committedEvents;
      await companion?.stop();
      const elapsedMs = (store.lastCommitAtUs - store.firstReceivedAtUs) / 1000;
      const stored = await running.storedCdrs();
      const check = compareCdrs(stored, expected);
      return {
        messages: messages.length,
        elapsedMs,
        perS: rate(store.committedEvents, elapsedMs),
        committedEvents: store.committedEvents,
        expectedCdrs: expected.length,
        storedCdrs: stored.length,
        matchingCdrs: check.matching,
        mismatchedCallIds: check.mismatched.slice(0, 5),
        openCallsLeft: running.service.pipeline.correlator.openCallCount,
        commits: store.commits,
        cpu,
        engineCpuUs,
        firstReceivedAtMs: store.firstReceivedAtUs / 1000,
        lastCommitAtMs: store.lastCommitAtUs / 1000,
      };
    } finally {
      await companion?.stop();
      await running.stop();
    }
  } finally {
    await deleteTopology(model, topology);
    await model.close().catch(() => undefined);
  }
}

/** Throws when the service's output was not exactly the expected CDRs: a fast wrong pipeline is no result. */
export function assertPipelineCorrect(result: PipelineResult, label: string): void {
  const problems: string[] = [];
  if (result.committedEvents !== result.messages) problems.push(`${result.committedEvents} of ${result.messages} events committed`);
  if (result.storedCdrs !== result.expectedCdrs) problems.push(`${result.storedCdrs} CDRs stored, ${result.expectedCdrs} expected`);
  if (result.matchingCdrs !== result.expectedCdrs) problems.push(`${result.expectedCdrs - result.matchingCdrs} CDRs differ (e.g. ${result.mismatchedCallIds.join(', ')})`);
  if (result.openCallsLeft !== 0) problems.push(`${result.openCallsLeft} calls left open`);
  if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
}
