/**
 * The bench's input: whole simulated calls from the traffic generator (realistic mix of
 * outcomes, reordering and duplicates), in publish order, placed as a backlog: every event in the
 * past, the last one now — what a broker holds after the service was away (events from the
 * future cannot be queued; a stream running ahead of the wall clock would move the event clock
 * past calls whose replies are still queued, and time them out only to rewrite them).
 */
import type { Cdr } from '../correlators/cdr';
import { generateTraffic, type TrafficMessage } from '../src/simulator/generator';

export interface BenchTraffic {
  readonly messages: readonly TrafficMessage[];
  /** One CDR per call, as the service must end up storing it. */
  readonly expected: readonly Cdr[];
}

/** Simulated call arrivals per second: about 5k events/s, the busy-broker rate of issue 6. */
export const BENCH_CPS = 800;
/** Mean messages per generated call with the defaults (measured: 80,596 messages for 15,000 calls). */
const MESSAGES_PER_CALL = 5.3;

/** How long the arrivals of `calls` calls last in simulated time. */
export function arrivalSpanUs(calls: number): number {
  return Math.round((calls / BENCH_CPS) * 1_000_000);
}

/** Whole calls adding up to at least `minMessages` messages (more calls are drawn until they do), the last event at `lastEventAtUs`. */
export function benchTraffic(minMessages: number, seed: number, lastEventAtUs: number): BenchTraffic {
  let calls = Math.max(1, Math.ceil(minMessages / MESSAGES_PER_CALL));
  for (;;) {
    const provisionalStartUs = lastEventAtUs - arrivalSpanUs(calls);
    const draft = generate(calls, seed, provisionalStartUs);
    if (draft.messages.length < minMessages) {
      calls = Math.ceil(calls * 1.05) + 1;
      continue;
    }
    // The generator places every time relative to its start: shifting the start shifts the stream.
    const traffic = generate(calls, seed, provisionalStartUs - (lastEventTimeUs(draft.messages) - lastEventAtUs));
    return { messages: traffic.messages, expected: traffic.expected };
  }
}

function generate(calls: number, seed: number, startTimeUs: number) {
  return generateTraffic({ calls, seed, cps: BENCH_CPS, concurrency: 10_000_000, startTimeUs });
}

export function lastEventTimeUs(messages: readonly TrafficMessage[]): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const message of messages) if (message.timeUs > latest) latest = message.timeUs;
  return latest;
}

export interface Disorder {
  /** Replies published before their call's request of the same method (INVITE or BYE). */
  readonly replyBeforeRequest: number;
  /** Messages whose body was already published earlier. */
  readonly duplicates: number;
  /** Messages published after a later-timed message of the same call. */
  readonly outOfTimeOrder: number;
}

/** Counts the disorder actually present in a publish-ordered stream (read from the messages themselves). */
export function measureDisorder(messages: readonly TrafficMessage[]): Disorder {
  const requestSeen = new Set<string>();
  const bodies = new Set<string>();
  const latestUs = new Map<string, number>();
  let replyBeforeRequest = 0;
  let duplicates = 0;
  let outOfTimeOrder = 0;
  for (const message of messages) {
    const body = message.body.toString('latin1');
    if (bodies.has(body)) duplicates += 1;
    bodies.add(body);
    const method = message.eventName.includes('INVITE') ? 'INVITE' : message.eventName.includes('BYE') ? 'BYE' : null;
    if (method !== null) {
      const key = `${method} ${message.callId}`;
      if (message.eventName.endsWith('_REQUEST')) requestSeen.add(key);
      else if (!requestSeen.has(key)) replyBeforeRequest += 1;
    }
    const latest = latestUs.get(message.callId);
    if (latest !== undefined && message.timeUs < latest) outOfTimeOrder += 1;
    else latestUs.set(message.callId, message.timeUs);
  }
  return { replyBeforeRequest, duplicates, outOfTimeOrder };
}
