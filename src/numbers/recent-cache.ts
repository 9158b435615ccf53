/**
 * A bounded cache that keeps what was used recently, in two generations of Maps: reads and writes
 * go to the young one; when it is full it becomes the old one and the old one is dropped; a hit in
 * the old one moves to the young one. An entry written or read survives at least the next
 * ⌈max/2⌉ − 1 calls of `set` and `get`, and at most `maxEntries` keys are held. A hit is one Map read where a strict LRU moves
 * the key to the end (delete and set again) on every hit: the lookup asks this cache twice per
 * request and the pipeline twice per CDR (docs/performance.md).
 *
 * Values must not be `undefined` (it means "not cached"); `null` is a value.
 */
export class RecentCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  /** The young generation is retired when it holds this many: then young < this, old ≤ this, both ≤ maxEntries. */
  private readonly generation: number;

  constructor(readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries: expected an integer ≥ 1');
    this.generation = Math.ceil(maxEntries / 2);
  }

  /** Keys held (a key promoted from the old generation counts until the old one is dropped). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  has(key: K): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const older = this.old.get(key);
    if (older !== undefined) this.set(key, older);
    return older;
  }

  set(key: K, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
