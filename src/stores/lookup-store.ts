/**
 * What the number lookup reads from and writes to the configured store: the block list (written by
 * `qbl blocklist`, read by every instance's poll) and the CDRs its figures are folded from.
 */

/** One version of a block-list entry, as stored. */
export interface BlockEntry {
  /** `+5511987654321` (a number, as the lookup keys it) or `+88213*` (a prefix of such keys). */
  readonly entry: string;
  readonly reason: string;
  readonly createdAtUs: number;
  /** null: never expires. */
  readonly expiresAtUs: number | null;
  /** When this version was written: the poll of every instance reads changes by it. */
  readonly updatedAtUs: number;
  /** A removal is stored as a tombstone, so every instance's poll sees it. */
  readonly removed: boolean;
}

/** What the lookup's figures need of one stored CDR version. */
export interface StoredCall {
  readonly cdrId: string;
  readonly caller: string | null;
  readonly callee: string | null;
  readonly callerE164: string | null;
  readonly calleeE164: string | null;
  readonly startUs: number;
  readonly finalCode: number | null;
  readonly disposition: string;
  readonly talkUs: number | null;
  /** When this version was written (`written_at`); 0 where the store does not record it (SQLite). */
  readonly writtenAtUs: number;
}

export interface BlocklistStore {
  /** Writes these versions (added, imported, or removal tombstones) durably, replacing older ones. */
  putBlockEntries(entries: readonly BlockEntry[]): Promise<void>;
  /** The stored version of one entry (a tombstone too), or null. */
  blockEntry(entry: string): Promise<BlockEntry | null>;
  /** Every stored version updated at or after `sinceUs`, tombstones included, oldest first. */
  blockEntriesSince(sinceUs: number): Promise<BlockEntry[]>;
  close(): Promise<void>;
}

export interface FactSource {
  /** Calls that started at or after `sinceUs`, handed over in chunks as they are read; resolves with how many. */
  callsSince(sinceUs: number, onChunk: (calls: StoredCall[]) => void): Promise<number>;
  /**
   * Only for a store several instances write to: the CDR versions written at or after `sinceUs`,
   * oldest first. Absent for SQLite, where the service's own commits are every CDR there is.
   */
  writtenSince?(sinceUs: number): Promise<StoredCall[]>;
}

export interface LookupStore extends BlocklistStore, FactSource {
  /** Where it reads, for logs (never a credential). */
  readonly description: string;
}
