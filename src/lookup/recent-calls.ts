/**
 * The most recent calls of each slot, in start order, in typed-array columns: `perSlot` entries of
 * start (s), call hash, flags and, optionally, final code. A call already present (same hash) is
 * replaced, so a rewritten CDR never counts twice.
 */
import { grown, type Columns } from './slot-table';

export class RecentCalls implements Columns {
  private counts = new Uint8Array(0);
  private starts = new Uint32Array(0);
  private hashes = new Uint32Array(0);
  private flagBits = new Uint8Array(0);
  private codes: Uint16Array | null;

  constructor(readonly perSlot: number, withCodes: boolean) {
    if (!Number.isSafeInteger(perSlot) || perSlot < 1 || perSlot > 255) throw new RangeError('perSlot: expected 1 to 255');
    this.codes = withCodes ? new Uint16Array(0) : null;
  }

  grow(capacity: number): void {
    const n = capacity * this.perSlot;
    this.counts = grown(this.counts, capacity);
    this.starts = grown(this.starts, n);
    this.hashes = grown(this.hashes, n);
    this.flagBits = grown(this.flagBits, n);
    if (this.codes) this.codes = grown(this.codes, n);
  }

  clear(slot: number): void {
    this.counts[slot] = 0;
  }

  count(slot: number): number {
    return this.counts[slot]!;
  }

  /** Entry `i` (0 = oldest) of the slot. */
  startS(slot: number, i: number): number {
    return this.starts[slot * this.perSlot + i]!;
  }

  flags(slot: number, i: number): number {
    return this.flagBits[slot * this.perSlot + i]!;
  }

  code(slot: number, i: number): number {
    return this.codes === null ? 0 : this.codes[slot * this.perSlot + i]!;
  }

  /** The newest entry's start, or -1 when the slot holds none. */
  newestStartS(slot: number): number {
    const count = this.counts[slot]!;
    return count === 0 ? -1 : this.starts[slot * this.perSlot + count - 1]!;
  }

  /**
   * Puts a call in start order. An entry with the same hash is removed first and reported through
   * `replaced`; when the slot is full the oldest goes, unless the call is older than all of them.
   */
  put(slot: number, startS: number, hash: number, flags: number, code: number, replaced?: (startS: number, flags: number) => void): void {
    const base = slot * this.perSlot;
    let count = this.counts[slot]!;
    for (let i = 0; i < count; i += 1) {
      if (this.hashes[base + i] !== hash) continue;
      replaced?.(this.starts[base + i]!, this.flagBits[base + i]!);
      this.shiftLeft(base, i, count);
      count -= 1;
      break;
    }
    if (count === this.perSlot) {
      if (startS < this.starts[base]!) {
        this.counts[slot] = count;
        return;
      }
      this.shiftLeft(base, 0, count);
      count -= 1;
    }
    let at = count;
    while (at > 0 && this.starts[base + at - 1]! > startS) {
      this.copy(base + at - 1, base + at);
      at -= 1;
    }
    this.starts[base + at] = startS;
    this.hashes[base + at] = hash;
    this.flagBits[base + at] = flags;
    if (this.codes) this.codes[base + at] = code;
    this.counts[slot] = count + 1;
  }

  private shiftLeft(base: number, from: number, count: number): void {
    for (let i = from; i < count - 1; i += 1) this.copy(base + i + 1, base + i);
  }

  private copy(from: number, to: number): void {
    this.starts[to] = this.starts[from]!;
    this.hashes[to] = this.hashes[from]!;
    this.flagBits[to] = this.flagBits[from]!;
    if (this.codes) this.codes[to] = this.codes[from]!;
  }
}

/** Columns of two parts grown and cleared together. */
export function bothColumns(a: Columns, b: Columns): Columns {
  return {
    grow: (capacity) => { a.grow(capacity); b.grow(capacity); },
    clear: (slot) => { a.clear(slot); b.clear(slot); },
  };
}
