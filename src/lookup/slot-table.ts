/**
 * Keys → dense integer slots, at most `maxKeys` of them, the least recently written evicted first.
 * The figures live in typed-array columns indexed by slot (one allocation per column, not one
 * object per key), so the memory per tracked key is fixed and measurable (docs/lookup.md).
 *
 * A Map keeps insertion order: writing a key moves it to the end, so the first key is always the
 * least recently written. Reads do not reorder: a lookup costs one Map get.
 */

/** Columns grow by doubling up to `maxKeys`; each column type-checks its own growth. */
export interface Columns {
  /** Makes every column hold at least `capacity` slots, keeping the values of slots below the old capacity. */
  grow(capacity: number): void;
  /** Zeroes one slot before it is given to a new key. */
  clear(slot: number): void;
}

const INITIAL_CAPACITY = 1024;

export class SlotTable {
  private readonly slots = new Map<string, number>();
  private readonly free: number[] = [];
  private capacity = 0;
  private used = 0;
  evictions = 0;

  constructor(readonly maxKeys: number, private readonly columns: Columns) {
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError('maxKeys: expected an integer ≥ 1');
  }

  get size(): number {
    return this.slots.size;
  }

  /** The slot of `key`, or -1. */
  find(key: string): number {
    return this.slots.get(key) ?? -1;
  }

  /** The slot of `key`, created (zeroed) when new; marks the key most recently written. */
  write(key: string): number {
    const existing = this.slots.get(key);
    if (existing !== undefined) {
      this.slots.delete(key);
      this.slots.set(key, existing);
      return existing;
    }
    if (this.slots.size >= this.maxKeys) this.evictOldest();
    const slot = this.free.pop() ?? this.nextSlot();
    this.columns.clear(slot);
    this.slots.set(key, slot);
    return slot;
  }

  /**
   * Forgets keys from the least recently written on, while `isStale(slot)` says so, looking at most
   * at `maxScan` keys (a periodic sweep keeps the table to what the windows still need).
   */
  pruneOldest(isStale: (slot: number) => boolean, maxScan: number): number {
    let removed = 0;
    let scanned = 0;
    for (const [key, slot] of this.slots) {
      if (scanned++ >= maxScan || !isStale(slot)) break;
      this.slots.delete(key);
      this.free.push(slot);
      removed += 1;
    }
    return removed;
  }

  private nextSlot(): number {
    if (this.used === this.capacity) {
      // By half again, not double: at most a third of the columns is allocated ahead of use.
      this.capacity = Math.min(this.maxKeys, Math.max(INITIAL_CAPACITY, Math.ceil(this.capacity * 1.5)));
      this.columns.grow(this.capacity);
    }
    return this.used++;
  }

  private evictOldest(): void {
    const oldest = this.slots.keys().next().value as string;
    this.free.push(this.slots.get(oldest)!);
    this.slots.delete(oldest);
    this.evictions += 1;
  }
}

/** A copy of `column` with room for `capacity` values (the old values kept). */
export function grown<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(column: T, capacity: number): T {
  if (column.length >= capacity) return column;
  const next = new (column.constructor as new (length: number) => T)(capacity);
  next.set(column);
  return next;
}
