/**
 * What the number lookup reads from and writes to the configured store: the block list (written by
 * `qbl blocklist`, read by every instance's poll) and the CDRs its figures are folded from.
 */
import type { BlockEntry } from '../lookup/blocklist';
import type { CallFact } from '../lookup/facts';

export interface BlocklistStore {
  /** Writes these versions (added, imported, or removal tombstones) durably, replacing older ones. */
  putBlockEntries(entries: readonly BlockEntry[]): Promise<void>;
  /** The stored version of one entry (a tombstone too), or null. */
  blockEntry(entry: string): Promise<BlockEntry | null>;
  /** Every stored version updated at or after `sinceUs`, tombstones included, oldest first. */
  blockEntriesSince(sinceUs: number): Promise<BlockEntry[]>;
  close(): Promise<void>;
}

/** A CDR as the poll of a shared store sees it: the fact, and which version of the CDR it came from. */
export interface WrittenFact {
  readonly cdrId: string;
  readonly writtenAtUs: number;
  readonly fact: CallFact;
}

export interface FactSource {
  /**
   * Calls that started at or after `sinceUs`, handed over in chunks as they are read; resolves with
   * how many. `writtenAtUs` is 0 where the store does not record it (SQLite).
   */
  factsSince(sinceUs: number, onChunk: (facts: WrittenFact[]) => void): Promise<number>;
  /**
   * Only for a store several instances write to: the CDR versions written at or after `sinceUs`,
   * oldest first. Absent for SQLite, where the service's own commits are every CDR there is.
   */
  writtenSince?(sinceUs: number): Promise<WrittenFact[]>;
}

export interface LookupStore extends BlocklistStore, FactSource {
  /** Where it reads, for logs (never a credential). */
  readonly description: string;
}
