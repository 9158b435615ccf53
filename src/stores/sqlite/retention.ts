/**
 * Retention of the embedded store (QBL_SQLITE_RETENTION_DAYS, `qbl prune`): every SQL statement
 * that knows what "old" means and how space comes back lives here, so a schema change breaks
 * test/integration/sqlite-retention.test.ts, not a silent query elsewhere.
 *
 * - A call is old when it *started* before the cut-off (`cdrs.start_us`, the time billing and
 *   `qbl cdrs --since` go by). It goes whole: its CDR and every one of its events, in one step.
 * - Events without a CDR (a call the correlator never closed) go when the call's newest event is
 *   older than the cut-off.
 * - The events of an open call never go, however old.
 * - Work comes in small steps (one short IMMEDIATE transaction each, a few thousand rows), so a
 *   commit of the pipeline waits for at most one step.
 * - Space: a file created with `auto_vacuum = INCREMENTAL` hands freed pages back to the file
 *   system a few at a time after each step; an older file keeps them for reuse (it stops growing,
 *   it does not shrink) until `qbl prune --vacuum` converts it once.
 */
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Database as Db, Statement } from 'better-sqlite3';
import { cdrIdFor } from '../../../correlators/cdr';
import type { Logger } from '../../observability/logger';

export const DEFAULT_RETENTION_DAYS = 400;
/** Calls in the first step; later steps are sized to a time budget (StepSizer). */
export const FIRST_CALLS_PER_STEP = 50;
const MIN_CALLS_PER_STEP = 10;
const MAX_CALLS_PER_STEP = 2000;
/** Events looked at per step when searching for events without a CDR. */
const EVENTS_SCANNED_PER_STEP = 5000;
/** Pages handed back per step (4 KiB each: 1 MiB; a step of 50 calls frees about 70). */
export const VACUUM_PAGES_PER_STEP = 256;
/** The service's steps: about this long each (the write lock is held that long), every 250 ms. */
export const SERVICE_STEP_BUDGET_MS = 25;

const DAY_US = 86_400_000_000;

/** SQLite's auto_vacuum values. */
export type AutoVacuum = 'none' | 'full' | 'incremental';
const AUTO_VACUUM: readonly AutoVacuum[] = ['none', 'full', 'incremental'];

export function cutoffUs(nowMs: number, days: number): number {
  return nowMs * 1000 - days * DAY_US;
}

/** For a file that holds no table yet: freed pages can then go back a few at a time. */
export function prepareNewFile(db: Db): void {
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
  if (tables.n === 0) db.pragma('auto_vacuum = INCREMENTAL');
}

export function autoVacuum(db: Db): AutoVacuum {
  return AUTO_VACUUM[db.pragma('auto_vacuum', { simple: true }) as number] ?? 'none';
}

export interface StepResult {
  readonly cdrs: number;
  readonly events: number;
  /** False while old rows may remain (the caller should step again soon). */
  readonly done: boolean;
}

export interface PrunePlan {
  readonly cutoffUs: number;
  readonly cdrs: number;
  /** Events of those CDRs' calls. */
  readonly events: number;
  /** Old events of calls without a CDR (never closed), not open. */
  readonly orphanEvents: number;
  /** Start of the oldest and newest call that would go (µs), null when none. */
  readonly oldestStartUs: number | null;
  readonly newestStartUs: number | null;
  /** Old events kept because their call is still open. */
  readonly keptOpenCallEvents: number;
  /** About how many bytes the rows take (tables and their indexes, by their share of rows). */
  readonly bytesEstimate: number;
  readonly fileBytes: number;
  readonly autoVacuum: AutoVacuum;
}

interface CallRow {
  cdr_id: string;
  call_id: string;
}

/**
 * How many calls the next step takes, so that a step lasts about `budgetMs`: a delete costs what
 * the disk and the rows' size make it (0.1 ms an event on the bench machine, 10 on a slow disk).
 */
export class StepSizer {
  private current: number;

  constructor(private readonly budgetMs: number, first: number = FIRST_CALLS_PER_STEP) {
    this.current = first;
  }

  get calls(): number {
    return this.current;
  }

  /** After a step of `calls` that deleted `cdrs` and took `elapsedMs`. */
  took(cdrs: number, elapsedMs: number): void {
    if (cdrs < this.current) return; // a short step says nothing about a full one
    const scaled = Math.round((this.current * this.budgetMs) / Math.max(elapsedMs, 0.1));
    // At most double at once: one fast step (a warm cache) must not make the next one long.
    this.current = Math.min(MAX_CALLS_PER_STEP, Math.max(MIN_CALLS_PER_STEP, Math.min(scaled, this.current * 2)));
  }
}

/**
 * One connection's retention: steps of deletion and of page release. Synchronous, as
 * better-sqlite3 is; whoever owns the connection calls it between its own transactions.
 */
export class Retention {
  private readonly oldCalls: Statement<[number, number], CallRow>;
  private readonly deleteCallEvents: Statement<[string]>;
  private readonly deleteCdrs: Statement<[string]>;
  private readonly scanEvents: Statement<[number, number, string, number], { time_us: number; id: string; call_id: string }>;
  private readonly orphanCall: Statement<[string, number], { call_id: string }>;
  /** Where the search for events without a CDR goes on from: (time_us, id) of the last one looked at. */
  private scanFrom: { timeUs: number; id: string } = { timeUs: Number.MIN_SAFE_INTEGER, id: '' };
  private readonly step: (cutoff: number, calls: number) => StepResult;

  constructor(private readonly db: Db, private readonly callsPerStep: number = FIRST_CALLS_PER_STEP) {
    // Oldest calls first along cdrs_start; an open call (reopened by a late event) stays whole.
    this.oldCalls = db.prepare(
      `SELECT cdr_id, call_id FROM cdrs WHERE start_us < ?
         AND NOT EXISTS (SELECT 1 FROM open_calls o WHERE o.call_id = cdrs.call_id)
       ORDER BY start_us LIMIT ?`,
    );
    this.deleteCallEvents = db.prepare('DELETE FROM events WHERE call_id IN (SELECT value FROM json_each(?))');
    this.deleteCdrs = db.prepare('DELETE FROM cdrs WHERE cdr_id IN (SELECT value FROM json_each(?))');
    this.scanEvents = db.prepare(
      'SELECT time_us, id, call_id FROM events WHERE time_us < ? AND (time_us, id) > (?, ?) ORDER BY time_us, id LIMIT ?',
    );
    // Of these [call_id, cdr_id] pairs, the calls with no CDR, not open, and no event at or after the cut-off.
    this.orphanCall = db.prepare(
      `SELECT c.value ->> '$[0]' AS call_id FROM json_each(?) AS c
       WHERE NOT EXISTS (SELECT 1 FROM cdrs WHERE cdr_id = c.value ->> '$[1]')
         AND NOT EXISTS (SELECT 1 FROM open_calls o WHERE o.call_id = c.value ->> '$[0]')
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.call_id = c.value ->> '$[0]' AND e.time_us >= ?)`,
    );
    const run = db.transaction((cutoff: number, calls: number) => this.stepInTransaction(cutoff, calls));
    this.step = (cutoff, calls) => run.immediate(cutoff, calls);
  }

  /** Deletes up to one step's worth of old calls, in one transaction. */
  deleteStep(cutoff: number, calls: number = this.callsPerStep): StepResult {
    return this.step(cutoff, calls);
  }

  /** Hands up to `pages` free pages back to the file system (incremental files only); returns how many are left. */
  releaseStep(pages: number = VACUUM_PAGES_PER_STEP): number {
    if (this.autoVacuum() !== 'incremental') return this.freePages();
    this.db.pragma(`incremental_vacuum(${pages})`);
    return this.freePages();
  }

  autoVacuum(): AutoVacuum {
    return autoVacuum(this.db);
  }

  freePages(): number {
    return this.db.pragma('freelist_count', { simple: true }) as number;
  }

  /** What a prune at this cut-off would delete; reads only. */
  plan(cutoff: number): PrunePlan {
    const db = this.db;
    const old = db.prepare(
      `SELECT count(*) AS n, min(start_us) AS oldest, max(start_us) AS newest FROM cdrs WHERE start_us < ?
         AND NOT EXISTS (SELECT 1 FROM open_calls o WHERE o.call_id = cdrs.call_id)`,
    ).get(cutoff) as { n: number; oldest: number | null; newest: number | null };
    const events = db.prepare(
      `SELECT count(*) AS n FROM events WHERE call_id IN (SELECT call_id FROM cdrs WHERE start_us < ?
         AND NOT EXISTS (SELECT 1 FROM open_calls o WHERE o.call_id = cdrs.call_id))`,
    ).get(cutoff) as { n: number };
    const keptOpen = db.prepare(
      'SELECT count(*) AS n FROM events WHERE time_us < ? AND call_id IN (SELECT call_id FROM open_calls)',
    ).get(cutoff) as { n: number };
    const orphanEvents = this.countOrphanEvents(cutoff);
    const totals = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const bytes = this.tableBytes();
    const share = (part: number, whole: number, size: number) => (whole === 0 ? 0 : Math.round((size * part) / whole));
    const eventsTotal = totals('events');
    const path = db.name;
    return {
      cutoffUs: cutoff,
      cdrs: old.n,
      events: events.n,
      orphanEvents,
      oldestStartUs: old.oldest,
      newestStartUs: old.newest,
      keptOpenCallEvents: keptOpen.n,
      bytesEstimate: share(events.n + orphanEvents, eventsTotal, bytes.events) + share(old.n, totals('cdrs'), bytes.cdrs),
      fileBytes: path === ':memory:' || path === '' ? pageBytes(db) : fileSize(path),
      autoVacuum: autoVacuum(db),
    };
  }

  private stepInTransaction(cutoff: number, calls: number): StepResult {
    const old = this.oldCalls.all(cutoff, calls);
    let events = 0;
    if (old.length > 0) {
      events += this.deleteCallEvents.run(JSON.stringify(old.map((row) => row.call_id))).changes;
      this.deleteCdrs.run(JSON.stringify(old.map((row) => row.cdr_id)));
    }
    // Old CDRs first: while they last, old events are mostly theirs. Then a window of old events,
    // for calls that never got a CDR.
    if (old.length >= calls) return { cdrs: old.length, events, done: false };
    const scanned = this.scanEvents.all(cutoff, this.scanFrom.timeUs, this.scanFrom.id, EVENTS_SCANNED_PER_STEP);
    const last = scanned[scanned.length - 1];
    if (last === undefined) {
      this.scanFrom = { timeUs: Number.MIN_SAFE_INTEGER, id: '' }; // a full pass: the next one starts over
    } else {
      this.scanFrom = { timeUs: last.time_us, id: last.id };
      const callIds = [...new Set(scanned.map((row) => row.call_id))];
      const orphans = this.orphansOf(callIds, cutoff);
      if (orphans.length > 0) events += this.deleteCallEvents.run(JSON.stringify(orphans.map((row) => row.call_id))).changes;
    }
    return { cdrs: old.length, events, done: last === undefined };
  }

  private orphansOf(callIds: readonly string[], cutoff: number): Array<{ call_id: string }> {
    return this.orphanCall.all(JSON.stringify(callIds.map((id) => [id, cdrIdFor(id)])), cutoff);
  }

  /** Each old event is in one window: counting a window's events of orphan calls counts each once, in bounded memory. */
  private countOrphanEvents(cutoff: number): number {
    let count = 0;
    let from = { timeUs: Number.MIN_SAFE_INTEGER, id: '' };
    for (;;) {
      const scanned = this.scanEvents.all(cutoff, from.timeUs, from.id, EVENTS_SCANNED_PER_STEP);
      const last = scanned[scanned.length - 1];
      if (last === undefined) return count;
      from = { timeUs: last.time_us, id: last.id };
      const orphans = new Set(this.orphansOf([...new Set(scanned.map((row) => row.call_id))], cutoff).map((row) => row.call_id));
      for (const row of scanned) if (orphans.has(row.call_id)) count += 1;
    }
  }

  /** Bytes of each table with its indexes, from dbstat when the build has it, else the file's pages by row share. */
  private tableBytes(): { events: number; cdrs: number } {
    try {
      const rows = this.db.prepare(
        `SELECT coalesce(m.tbl_name, d.name) AS tbl, sum(d.pgsize) AS bytes FROM dbstat AS d
         LEFT JOIN sqlite_master AS m ON m.name = d.name GROUP BY tbl`,
      ).all() as Array<{ tbl: string; bytes: number }>;
      const of = (table: string) => rows.find((row) => row.tbl === table)?.bytes ?? 0;
      return { events: of('events'), cdrs: of('cdrs') };
    } catch {
      const total = pageBytes(this.db);
      return { events: Math.round(total * 0.9), cdrs: Math.round(total * 0.1) };
    }
  }
}

function pageBytes(db: Db): number {
  return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  } catch {
    return 0;
  }
}

/** The service's side: steps on a timer, soon after one that found work, seldom when there is none. */
export interface RetentionScheduleOptions {
  readonly days: number;
  readonly logger?: Logger;
  /** Between steps while old rows remain: the pipeline commits in between. */
  readonly busyIntervalMs?: number;
  /** After a pass that found nothing more to do. */
  readonly idleIntervalMs?: number;
  readonly firstDelayMs?: number;
  /** How long a step may hold the write lock, about (default SERVICE_STEP_BUDGET_MS). */
  readonly stepBudgetMs?: number;
  readonly nowMs?: () => number;
}

export class RetentionSchedule {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private pass = { cdrs: 0, events: 0, steps: 0, releasedPages: 0 };
  private readonly sizer: StepSizer;

  constructor(private readonly retention: Retention, private readonly options: RetentionScheduleOptions) {
    this.sizer = new StepSizer(options.stepBudgetMs ?? SERVICE_STEP_BUDGET_MS);
  }

  start(): void {
    const mode = this.retention.autoVacuum();
    this.options.logger?.info({ retentionDays: this.options.days, autoVacuum: mode }, mode === 'incremental'
      ? 'sqlite retention on'
      : 'sqlite retention on; this file reuses freed pages but does not shrink: `qbl prune --vacuum` once converts it');
    this.schedule(this.options.firstDelayMs ?? 10_000);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** One step of deletion, then one of page release; exported for tests, which drive it by hand. */
  tick(): StepResult {
    const nowMs = (this.options.nowMs ?? Date.now)();
    const started = performance.now();
    const step = this.retention.deleteStep(cutoffUs(nowMs, this.options.days), this.sizer.calls);
    this.sizer.took(step.cdrs, performance.now() - started);
    this.pass.cdrs += step.cdrs;
    this.pass.events += step.events;
    this.pass.steps += 1;
    const before = this.retention.freePages();
    if (before > 0) this.pass.releasedPages += before - this.retention.releaseStep();
    if (step.done && (this.pass.cdrs > 0 || this.pass.events > 0)) {
      this.options.logger?.info({ ...this.pass, retentionDays: this.options.days }, 'sqlite retention pass done');
    }
    if (step.done) this.pass = { cdrs: 0, events: 0, steps: 0, releasedPages: 0 };
    return step;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.run(), delayMs);
    this.timer.unref();
  }

  private run(): void {
    if (this.closed) return;
    let next = this.options.idleIntervalMs ?? 600_000;
    try {
      const step = this.tick();
      if (!step.done) next = this.options.busyIntervalMs ?? 250;
    } catch (error) {
      // SQLITE_BUSY and the like: intake goes first, retention tries again later.
      this.options.logger?.warn({ err: error }, 'sqlite retention step failed; trying again later');
      next = Math.min(next, 60_000);
    }
    this.schedule(next);
  }
}
