/**
 * The block list: numbers and prefixes a person put there, each with a reason and an optional
 * expiry. Matching is by exact number first, then by the longest prefix, skipping expired entries:
 * at most one Map lookup per prefix length in use (≤ 16).
 */
import type { DialPlan } from '../numbers/dial-plan';
import type { BlockEntry } from '../stores/lookup-store';
import { readNumber } from './number-key';

export type { BlockEntry };

/** What the block list has to say about a number. */
export interface BlockMatch {
  readonly entry: string;
  readonly reason: string;
  readonly expiresAtUs: number | null;
}

export const MAX_REASON_CHARS = 200;
const PREFIX = /^\+?[0-9]{1,15}\*$/;

export class BlockEntryError extends Error {
  constructor(readonly input: string, message: string) {
    super(message);
    this.name = 'BlockEntryError';
  }
}

/**
 * An entry as an operator types it → its stored form. `+88213*` and `0900*` are prefixes of the
 * keys lookups use (E.164 for numbers the dial plan reads, dialled digits otherwise); a number is
 * stored under its key, so `0044 20 7946 0018` and `+442079460018` are the same entry.
 */
export function entryOf(input: string, plan: DialPlan): string {
  const text = input.trim();
  if (text.endsWith('*')) {
    const compact = text.replace(/[\s\-.()]/g, '');
    if (!PREFIX.test(compact)) throw new BlockEntryError(input, 'a prefix is `+` and 1 to 15 digits (or digits alone for numbers the dial plan cannot read), then `*`');
    return compact;
  }
  const reading = readNumber(text, plan);
  if (reading.key === null || reading.malformed) {
    throw new BlockEntryError(input, 'not a number under the dial plan (a prefix ends with `*`)');
  }
  return reading.key;
}

/** A reason is one line of printable text, at most MAX_REASON_CHARS. */
export function checkReason(reason: string): string {
  const text = reason.trim();
  // eslint-disable-next-line no-control-regex
  if (text === '' || text.length > MAX_REASON_CHARS || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new BlockEntryError(reason, `a reason is one line of 1 to ${MAX_REASON_CHARS} printable characters`);
  }
  return text;
}

export function isPrefixEntry(entry: string): boolean {
  return entry.endsWith('*');
}

export function isActive(entry: BlockEntry, nowUs: number): boolean {
  return !entry.removed && (entry.expiresAtUs === null || entry.expiresAtUs > nowUs);
}

export class BlockList {
  private readonly numbers = new Map<string, BlockEntry>();
  /** Prefix (without `*`) → entry. */
  private readonly prefixes = new Map<string, BlockEntry>();
  /** Prefix lengths in use, longest first. */
  private lengths: number[] = [];

  /** Entries held, expired ones and tombstones included until the sweep drops them. */
  get size(): number {
    return this.numbers.size + this.prefixes.size;
  }

  /** Applies stored versions: newer ones replace, tombstones remove. An older version than the one held is ignored. */
  apply(entries: Iterable<BlockEntry>): void {
    let prefixesChanged = false;
    for (const entry of entries) {
      const prefix = isPrefixEntry(entry.entry);
      const map = prefix ? this.prefixes : this.numbers;
      const key = prefix ? entry.entry.slice(0, -1) : entry.entry;
      const held = map.get(key);
      if (held !== undefined && held.updatedAtUs > entry.updatedAtUs) continue;
      // A tombstone is held too (matching skips it), so an older version read again cannot undo it.
      map.set(key, entry);
      prefixesChanged ||= prefix;
    }
    if (prefixesChanged) this.indexLengths();
  }

  /** The exact entry, else the longest prefix, that is active at `nowUs`; null when none. */
  match(key: string, nowUs: number): BlockMatch | null {
    const exact = this.numbers.get(key);
    if (exact !== undefined && isActive(exact, nowUs)) return exact;
    for (const length of this.lengths) {
      if (length > key.length) continue;
      const entry = this.prefixes.get(key.slice(0, length));
      if (entry !== undefined && isActive(entry, nowUs)) return entry;
    }
    return null;
  }

  /**
   * Drops expired entries and tombstones older than `keepUs` (a periodic sweep; matching skips them
   * anyway). By then no poll can read an older version of them again.
   */
  dropExpired(nowUs: number, keepUs: number): number {
    let dropped = 0;
    for (const map of [this.numbers, this.prefixes]) {
      for (const [key, entry] of map) {
        if (!isActive(entry, nowUs) && entry.updatedAtUs < nowUs - keepUs && (entry.expiresAtUs ?? 0) < nowUs - keepUs) {
          map.delete(key);
          dropped += 1;
        }
      }
    }
    if (dropped > 0) this.indexLengths();
    return dropped;
  }

  private indexLengths(): void {
    this.lengths = [...new Set([...this.prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a);
  }
}
