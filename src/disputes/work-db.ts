/**
 * The carrier's rows on disk while a reconcile runs: a private SQLite file (no journal, no
 * fsync: it is thrown away) that sorts the file by UTC start in bounded memory, whatever order
 * and size the carrier sent, and keeps the disputed rows until disputes.csv is written in row order.
 */
import { rmSync } from 'node:fs';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import type { CarrierRow } from './carrier-row';

export interface StoredRow {
  readonly row: CarrierRow;
  readonly utcUs: number;
}

interface RowRecord {
  row: number;
  local_us: number;
  offset_us: number | null;
  utc_us: number;
  caller_raw: string;
  caller_digits: string;
  callee_raw: string;
  callee_digits: string;
  duration_us: number;
  billed_us: number | null;
  rate_micro: number | null;
  cost_micro: number | null;
}

const INSERTS_PER_TRANSACTION = 20_000;
/** What matching reads back (not the fields, which only disputes.csv needs). */
const ROW_COLUMNS = 'row, local_us, offset_us, caller_raw, caller_digits, callee_raw, callee_digits, duration_us, billed_us, rate_micro, cost_micro';

export class WorkDb {
  private readonly db: Db;
  private readonly insertRow: Statement;
  private readonly insertDispute: Statement;
  private pendingInserts = 0;

  constructor(readonly path: string) {
    rmSync(path, { force: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -32768'); // 32 MiB
    this.db.pragma('temp_store = FILE');
    this.db.exec(`
      CREATE TABLE rows (
        row INTEGER PRIMARY KEY, local_us INTEGER NOT NULL, offset_us INTEGER, utc_us INTEGER,
        caller_raw TEXT NOT NULL, caller_digits TEXT NOT NULL, callee_raw TEXT NOT NULL, callee_digits TEXT NOT NULL,
        duration_us INTEGER NOT NULL, billed_us INTEGER, rate_micro INTEGER, cost_micro INTEGER, fields TEXT NOT NULL
      );
      CREATE TABLE disputes (row INTEGER PRIMARY KEY, record TEXT NOT NULL);
    `);
    this.insertRow = this.db.prepare('INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.insertDispute = this.db.prepare('INSERT INTO disputes VALUES (?, ?)');
    this.db.exec('BEGIN');
  }

  /** `utcUs` null: the offset is found later (`--tz auto`), see `fixOffsets`. */
  addRow(row: CarrierRow, utcUs: number | null, fields: readonly string[]): void {
    this.insertRow.run(
      row.row, row.start.localUs, row.start.offsetUs, utcUs, row.caller.raw, row.caller.digits, row.callee.raw, row.callee.digits,
      row.durationUs, row.billedUs, row.rateMicro, row.costMicro, JSON.stringify(fields),
    );
    this.tick();
  }

  addDispute(row: number, record: string): void {
    this.insertDispute.run(row, record);
    this.tick();
  }

  private tick(): void {
    this.pendingInserts += 1;
    if (this.pendingInserts >= INSERTS_PER_TRANSACTION) this.commit();
  }

  commit(): void {
    this.db.exec('COMMIT');
    this.db.exec('BEGIN');
    this.pendingInserts = 0;
  }

  /** Rows in a wall-clock range (for `--tz auto`), evenly spread over it. */
  sampleLocal(fromUs: number, toUs: number, limit: number): CarrierRow[] {
    const count = (this.db.prepare('SELECT count(*) AS n FROM rows WHERE offset_us IS NULL AND local_us >= ? AND local_us < ?').get(fromUs, toUs) as { n: number }).n;
    const step = Math.max(1, Math.floor(count / limit));
    const rows = this.db.prepare(`SELECT ${ROW_COLUMNS}, utc_us FROM rows WHERE offset_us IS NULL AND local_us >= ? AND local_us < ? AND row % ? = 0 ORDER BY local_us LIMIT ?`)
      .all(fromUs, toUs, step, limit) as RowRecord[];
    return rows.map((record) => toRow(record).row);
  }

  /** The wall-clock times at the start, middle and end of the file (rows without an offset of their own). */
  localAnchors(): number[] {
    // An index on the wall-clock time makes the anchors and the samples around them lookups.
    this.commit();
    this.db.exec('CREATE INDEX IF NOT EXISTS rows_local ON rows (local_us) WHERE offset_us IS NULL');
    const count = (this.db.prepare('SELECT count(*) AS n FROM rows WHERE offset_us IS NULL').get() as { n: number }).n;
    if (count === 0) return [];
    const at = this.db.prepare('SELECT local_us FROM rows WHERE offset_us IS NULL ORDER BY local_us LIMIT 1 OFFSET ?');
    const positions = [...new Set([0, Math.floor(count / 2), count - 1])];
    return positions.map((position) => (at.get(position) as { local_us: number }).local_us);
  }

  /** `--tz auto`'s answer: rows without an offset of their own get this one. */
  fixOffsets(offsetUs: number): void {
    this.db.prepare('UPDATE rows SET utc_us = local_us - coalesce(offset_us, ?) WHERE utc_us IS NULL').run(offsetUs);
    this.commit();
  }

  /** Sorts by UTC start (an index, built once every row is in). */
  finishLoading(): { rows: number; minUtcUs: number | null; maxUtcUs: number | null } {
    this.commit();
    this.db.exec('CREATE INDEX rows_utc ON rows (utc_us, row)');
    this.commit();
    const range = this.db.prepare('SELECT count(*) AS n, min(utc_us) AS lo, max(utc_us) AS hi FROM rows').get() as { n: number; lo: number | null; hi: number | null };
    return { rows: range.n, minUtcUs: range.lo, maxUtcUs: range.hi };
  }

  localRange(): { minLocalUs: number | null; maxLocalUs: number | null } {
    const range = this.db.prepare('SELECT min(local_us) AS lo, max(local_us) AS hi FROM rows').get() as { lo: number | null; hi: number | null };
    return { minLocalUs: range.lo, maxLocalUs: range.hi };
  }

  /** Every row by UTC start, then row number; keyset pages, so the connection stays free between them. */
  *rowsByUtc(pageSize = 10_000): Generator<StoredRow> {
    const columns = `${ROW_COLUMNS}, utc_us`;
    const first = this.db.prepare(`SELECT ${columns} FROM rows ORDER BY utc_us, row LIMIT ?`);
    const next = this.db.prepare(`SELECT ${columns} FROM rows WHERE (utc_us, row) > (?, ?) ORDER BY utc_us, row LIMIT ?`);
    let page = first.all(pageSize) as RowRecord[];
    while (page.length > 0) {
      const last = page[page.length - 1]!;
      for (const record of page) yield toRow(record);
      if (page.length < pageSize) return;
      page = next.all(last.utc_us, last.row, pageSize) as RowRecord[];
    }
  }

  /** Disputed rows in row order, each with the carrier's own fields. */
  *disputes(): Generator<{ row: number; record: string; fields: string[] }> {
    this.commit();
    const statement = this.db.prepare('SELECT d.row AS row, d.record AS record, r.fields AS fields FROM disputes d JOIN rows r USING (row) WHERE d.row > ? ORDER BY d.row LIMIT 5000');
    let after = -1;
    for (;;) {
      const page = statement.all(after) as Array<{ row: number; record: string; fields: string }>;
      for (const item of page) yield { row: item.row, record: item.record, fields: JSON.parse(item.fields) as string[] };
      if (page.length < 5000) return;
      after = page[page.length - 1]!.row;
    }
  }

  close(): void {
    if (this.db.open) {
      if (this.db.inTransaction) this.db.exec('COMMIT');
      this.db.close();
    }
    rmSync(this.path, { force: true });
  }
}

function toRow(record: RowRecord): StoredRow {
  return {
    utcUs: record.utc_us,
    row: {
      row: record.row,
      start: { localUs: record.local_us, offsetUs: record.offset_us },
      caller: { raw: record.caller_raw, digits: record.caller_digits },
      callee: { raw: record.callee_raw, digits: record.callee_digits },
      durationUs: record.duration_us,
      billedUs: record.billed_us,
      rateMicro: record.rate_micro,
      costMicro: record.cost_micro,
    },
  };
}
