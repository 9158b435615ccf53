/**
 * Per (caller, destination prefix): the most recent `burstCalls + 1` calls in start order. More
 * than `burstCalls` calls within the window is exactly "the oldest of them started within it"; the
 * burst rule then asks whether most of them were unanswered or short (IRSF, wangiri).
 */
import type { CallFact } from './facts';
import { RecentCalls } from './recent-calls';
import { SlotTable } from './slot-table';

export interface BurstView {
  /** `+88213`: the destination prefix the calls are counted under. */
  readonly prefix: string;
  /** Calls from the caller to the prefix within the window, counted up to `burstCalls + 1`. */
  readonly calls: number;
  /** Of those, unanswered or answered for less than the short threshold. */
  readonly shortOrUnanswered: number;
  readonly burst: boolean;
}

const SHORT = 1;

/** `+` and the first `digits` digits of an E.164 key; the first `digits` digits of a dialled key. */
export function destinationPrefix(key: string, digits: number): string {
  return key.startsWith('+') ? key.slice(0, digits + 1) : key.slice(0, digits);
}

export class BurstFigures {
  private readonly table: SlotTable;
  private readonly recent: RecentCalls;

  constructor(
    maxPairs: number,
    private readonly burstCalls: number,
    private readonly windowS: number,
    private readonly prefixDigits: number,
    private readonly shortMs: number,
  ) {
    this.recent = new RecentCalls(burstCalls + 1, false);
    this.table = new SlotTable(maxPairs, this.recent);
  }

  get size(): number {
    return this.table.size;
  }

  get evictions(): number {
    return this.table.evictions;
  }

  private pairKey(caller: string, prefix: string): string {
    return `${caller}\u0000${prefix}`;
  }

  add(fact: CallFact): void {
    if (fact.caller === null || fact.callee === null) return;
    const slot = this.table.write(this.pairKey(fact.caller, destinationPrefix(fact.callee, this.prefixDigits)));
    // Answered with no talk time known (closed before its BYE) is not short: the call went on.
    const short = !fact.answered || (fact.talkMs !== null && fact.talkMs < this.shortMs);
    this.recent.put(slot, fact.startS, fact.callHash, short ? SHORT : 0, 0);
  }

  view(caller: string, destination: string, nowS: number): BurstView {
    const prefix = destinationPrefix(destination, this.prefixDigits);
    const slot = this.table.find(this.pairKey(caller, prefix));
    if (slot < 0) return { prefix, calls: 0, shortOrUnanswered: 0, burst: false };
    const sinceS = nowS - this.windowS;
    let calls = 0;
    let short = 0;
    for (let i = 0, count = this.recent.count(slot); i < count; i += 1) {
      if (this.recent.startS(slot, i) < sinceS) continue;
      calls += 1;
      if (this.recent.flags(slot, i) & SHORT) short += 1;
    }
    return { prefix, calls, shortOrUnanswered: short, burst: calls > this.burstCalls && short * 2 > calls };
  }

  /** Forgets pairs whose latest call left the window. */
  prune(nowS: number, maxScan: number): number {
    const sinceS = nowS - this.windowS;
    return this.table.pruneOldest((slot) => this.recent.newestStartS(slot) < sinceS, maxScan);
  }
}
