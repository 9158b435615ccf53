/**
 * The disorder real traffic has between OpenSIPS and our queue (spec: "What real traffic looks
 * like"): lost events, exact duplicates, a call's events published out of time order, and calls
 * already in progress when the service starts. Each is drawn from the call's own stream.
 */
import type { SimEvent } from './call-model';
import type { Random } from './random';

export interface DisorderOptions {
  /** Probability that an event is published twice (the same body). */
  readonly duplicateRate: number;
  /**
   * Probability that an event is published before the event that precedes it in time, when the
   * two were raised within REORDER_WINDOW_US of each other (events further apart never swap).
   */
  readonly reorderRate: number;
  /** Probability that an event is never published (at-most-once delivery from OpenSIPS). */
  readonly lossRate: number;
}

/** One publish of one event; `publishKeyUs` orders the whole run's publishes. */
export interface Send {
  readonly event: SimEvent;
  readonly publishKeyUs: number;
  readonly duplicate: boolean;
}

export interface CallDisorder {
  /** Distinct events actually published, in time order (after loss). */
  readonly published: readonly SimEvent[];
  readonly sends: readonly Send[];
  readonly lost: number;
  readonly duplicates: number;
  /** True when the call's publish order differs from its time order. */
  readonly reordered: boolean;
}

/** A late re-raise or re-delivery lands up to this long after the original. */
const DUPLICATE_LAG_MAX_US = 3_000_000;
/** A reordered event overtakes its predecessor by up to this much (one connection per subscription). */
export const REORDER_LEAD_MAX_US = 5_000;
/**
 * Only events raised this close together interleave across OpenSIPS's broker connections (an
 * INVITE and its 100, a BYE and its reply, the proxy's 408 and the 487). A BYE is never published
 * minutes before the 200 it follows: nothing is published before it happens.
 */
export const REORDER_WINDOW_US = 100_000;

export function applyDisorder(rng: Random, events: readonly SimEvent[], options: DisorderOptions): CallDisorder {
  const lossRng = rng.derive('loss');
  const reorderRng = rng.derive('reorder');
  const duplicateRng = rng.derive('duplicate');
  const published = events.filter(() => !lossRng.chance(options.lossRate));

  const sends: Send[] = [];
  published.forEach((event, i) => {
    let publishKeyUs = event.timeUs;
    const previous = i > 0 ? published[i - 1]! : undefined;
    if (previous !== undefined && event.timeUs - previous.timeUs <= REORDER_WINDOW_US && reorderRng.chance(options.reorderRate)) {
      publishKeyUs = previous.timeUs - 1 - reorderRng.int(0, REORDER_LEAD_MAX_US);
    }
    sends.push({ event, publishKeyUs, duplicate: false });
    if (duplicateRng.chance(options.duplicateRate)) {
      sends.push({ event, publishKeyUs: publishKeyUs + duplicateRng.int(0, DUPLICATE_LAG_MAX_US), duplicate: true });
    }
  });
  sends.sort(compareSends);

  const originals = sends.filter((send) => !send.duplicate);
  const reordered = originals.some((send, i) => i > 0 && send.event.timeUs < originals[i - 1]!.event.timeUs);
  return { published, sends, lost: events.length - published.length, duplicates: sends.length - originals.length, reordered };
}

/** Publish order: by key; an original before its own duplicate at the same key. */
export function compareSends(a: Send, b: Send): number {
  return a.publishKeyUs - b.publishKeyUs || Number(a.duplicate) - Number(b.duplicate);
}

/**
 * A call in progress when the service starts: pick the cut so at least one event happened before
 * the start (never published) and at least one after. Returns the offset (from the call's first
 * event) to place at the service's start time, or null when the call is too short to cut.
 */
export function inProgressCutUs(rng: Random, offsetsUs: readonly number[]): number | null {
  const gaps: number[] = [];
  for (let k = 1; k < offsetsUs.length; k++) if (offsetsUs[k]! > offsetsUs[k - 1]!) gaps.push(k);
  if (gaps.length === 0) return null;
  const k = rng.pick(gaps);
  const before = offsetsUs[k - 1]!;
  const after = offsetsUs[k]!;
  return before + 1 + rng.int(0, after - before - 1); // before < cut <= after
}
