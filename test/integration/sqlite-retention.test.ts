/**
 * The embedded store's retention (src/stores/sqlite/retention.ts) on real files: what goes, what
 * stays, space given back, and `qbl prune` / `qbl backup` end to end. The rows are written through
 * SqliteStore's own commit, so a schema change that the retention's SQL does not follow fails here.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { openWritable } from '../../src/stores/sqlite/open-database';
import { Retention, RetentionSchedule, autoVacuum, cutoffUs } from '../../src/stores/sqlite/retention';
import { backupDatabase } from '../../src/stores/sqlite/maintenance';
import type { CommitBatch, StoredEvent } from '../../src/stores/store';
import type { CallEvent } from '../../correlators/events';
import { EMPTY_EXTRAS, cdrIdFor, formatUs, type CdrRecord } from '../../correlators/cdr';
import { integrationFixture } from '../support/fixture';
import { qbl } from '../support/run-cli';

const DAY_US = 86_400_000_000;
const NOW_MS = 1_795_757_055_000; // 2026-11-27T05:24:15Z
const NOW_US = NOW_MS * 1000;

function stored(callId: string, n: number, timeUs: number): StoredEvent {
  const event: CallEvent = {
    id: `${callId}-e${n}`, kind: n === 0 ? 'invite_request' : 'invite_reply', callId, timeUs, caller: 'alice', callee: 'bob',
    replyCode: n === 0 ? null : 200, direction: n === 0 ? 'downstream' : 'upstream', acc: null,
  };
  return { event, eventName: 'E_QBL', exchange: 'opensips', routingKey: 'qbl', body: Buffer.alloc(400, 120), receivedAtUs: timeUs };
}

function cdr(callId: string, startUs: number): CdrRecord {
  return {
    cdr: {
      cdr_id: cdrIdFor(callId), call_id: callId, caller: 'alice', callee: 'bob', disposition: 'answered', final_code: 200,
      invite_at: formatUs(startUs), ringing_at: null, answer_at: formatUs(startUs + 1_000_000), end_at: formatUs(startUs + 61_000_000),
      pdd_us: null, setup_us: 1_000_000, talk_us: 60_000_000, total_us: 61_000_000, bye_code: 200, hangup_by: 'caller',
      closed_by: 'bye', complete: true, events: 3, source: 'qbl',
    },
    extras: EMPTY_EXTRAS,
    startUs,
  };
}

/** A closed call of three events starting `ageDays` ago, its CDR beside them. */
function closedCall(callId: string, ageDays: number): CommitBatch {
  const start = NOW_US - ageDays * DAY_US;
  return { events: [0, 1, 2].map((n) => stored(callId, n, start + n * 1_000_000)), cdrs: [cdr(callId, start)], openCalls: [], closedCallIds: [] };
}

function counts(path: string): { events: number; cdrs: number; open: number; callIds: string[] } {
  const db = new Database(path, { readonly: true });
  try {
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const callIds = (db.prepare('SELECT DISTINCT call_id FROM events ORDER BY call_id').all() as Array<{ call_id: string }>).map((r) => r.call_id);
    return { events: n('SELECT count(*) AS n FROM events'), cdrs: n('SELECT count(*) AS n FROM cdrs'), open: n('SELECT count(*) AS n FROM open_calls'), callIds };
  } finally {
    db.close();
  }
}

describe('SQLite retention', () => {
  const f = integrationFixture('retention', { broker: false, dirPerTest: true });
  let path: string;
  beforeEach(() => {
    path = join(f.dir, 'qbl.db');
  });

  async function fill(): Promise<void> {
    const store = SqliteStore.open(path);
    await store.commit(closedCall('old-1', 500));
    await store.commit(closedCall('old-2', 401));
    await store.commit(closedCall('young', 399));
    await store.commit(closedCall('today', 0));
    // An old call that a late event reopened: open, so it stays whole whatever its age.
    await store.commit({ ...closedCall('old-open', 600), openCalls: [{ callId: 'old-open', deadlineUs: NOW_US + 1 }] });
    // Events that never got a CDR: all old (they go), and one old call with a new event (it stays).
    await store.commit({ events: [stored('orphan-old', 0, NOW_US - 450 * DAY_US), stored('orphan-old', 1, NOW_US - 449 * DAY_US)], cdrs: [], openCalls: [], closedCallIds: [] });
    await store.commit({ events: [stored('orphan-mixed', 0, NOW_US - 450 * DAY_US), stored('orphan-mixed', 1, NOW_US - 1 * DAY_US)], cdrs: [], openCalls: [], closedCallIds: [] });
    await store.close();
  }

  it('a new file is created with incremental auto-vacuum', () => {
    const db = openWritable(path, 1000);
    f.defer(() => db.close());
    expect(autoVacuum(db)).toBe('incremental');
  });

  it('deletes old calls whole (CDR and events), keeps open calls, young calls and orphans with a recent event', async () => {
    await fill();
    const db = openWritable(path, 1000);
    f.defer(() => db.close());
    const retention = new Retention(db);
    const plan = retention.plan(cutoffUs(NOW_MS, 400));
    expect(plan).toMatchObject({
      cdrs: 2, events: 6, orphanEvents: 2, keptOpenCallEvents: 3,
      oldestStartUs: NOW_US - 500 * DAY_US, newestStartUs: NOW_US - 401 * DAY_US, autoVacuum: 'incremental',
    });
    expect(plan.bytesEstimate).toBeGreaterThan(8 * 400);
    // Steps of one call: the work comes in pieces, and the last says it is done.
    const steps = [];
    for (let step = retention.deleteStep(plan.cutoffUs, 1); ; step = retention.deleteStep(plan.cutoffUs, 1)) {
      steps.push(step);
      if (step.done) break;
    }
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps.reduce((sum, s) => sum + s.cdrs, 0)).toBe(2);
    expect(steps.reduce((sum, s) => sum + s.events, 0)).toBe(8);
    db.close();
    expect(counts(path)).toEqual({ events: 3 * 3 + 2, cdrs: 3, open: 1, callIds: ['old-open', 'orphan-mixed', 'today', 'young'] });
  });

  it('the service\'s schedule prunes between commits and gives pages back', async () => {
    const store = SqliteStore.open(path);
    for (let i = 0; i < 300; i += 1) await store.commit(closedCall(`old-${i}`, 500));
    await store.commit(closedCall('young', 1));
    await store.close();
    const before = statSync(path).size;
    const db = openWritable(path, 1000);
    f.defer(() => db.close());
    const schedule = new RetentionSchedule(new Retention(db, 100), { days: 400, nowMs: () => NOW_MS });
    let step = schedule.tick();
    let ticks = 1;
    while (!step.done) {
      step = schedule.tick();
      ticks += 1;
    }
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    db.pragma('journal_mode = DELETE');
    db.close();
    expect(counts(path)).toMatchObject({ events: 3, cdrs: 1 });
    expect(statSync(path).size).toBeLessThan(before / 2);
  });

  it('on its timer, the schedule steps until nothing old is left, beside a writer that keeps committing', async () => {
    const store = SqliteStore.open(path);
    f.defer(() => store.close());
    for (let i = 0; i < 200; i += 1) await store.commit(closedCall(`old-${i}`, 500));
    const db = openWritable(path, 1000);
    f.defer(() => db.close());
    const schedule = new RetentionSchedule(new Retention(db), { days: 400, nowMs: () => NOW_MS, firstDelayMs: 1, busyIntervalMs: 5, idleIntervalMs: 60_000 });
    f.defer(() => schedule.close());
    schedule.start();
    for (let i = 0; counts(path).callIds.some((id) => id.startsWith('old-')); i += 1) {
      await store.commit(closedCall(`new-${i}`, 0)); // intake goes on meanwhile
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const left = counts(path);
    expect(left.callIds.every((id) => id.startsWith('new-'))).toBe(true);
    expect(left.cdrs).toBe(left.callIds.length);
  });

  it('a store opened with retention days starts its schedule, and closes it', async () => {
    const store = SqliteStore.open(path, { retentionDays: 400 });
    await store.commit(closedCall('old', 500));
    await store.close(); // the first step waits 10 s: closing must not wait for it, nor leave a timer
    expect(counts(path).cdrs).toBe(1);
  });

  describe('qbl prune and qbl backup', () => {
    const savedEnv = { ...process.env };
    beforeEach(() => {
      for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL']) delete process.env[name];
      process.env.SQLITE_PATH = path;
      delete process.env.QBL_SQLITE_RETENTION_DAYS;
      jest.spyOn(Date, 'now').mockReturnValue(NOW_MS);
    });
    afterEach(() => {
      jest.restoreAllMocks();
      process.env = { ...savedEnv };
    });

    it('--dry-run says what would go and deletes nothing; prune then deletes it', async () => {
      await fill();
      const dry = await qbl('prune', '--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.out).toContain('retention: 400 days; cut-off 2025-10-23T05:24:15.000000Z');
      expect(dry.out).toContain('would delete: 2 CDRs, calls started 2025-07-15T05:24:15.000000Z to 2025-10-22T05:24:15.000000Z');
      expect(dry.out).toContain('6 events of those calls, 2 old events of calls that never got a CDR');
      expect(dry.out).toContain('kept: 3 old events of calls still open');
      expect(counts(path).cdrs).toBe(5);

      const run = await qbl('prune');
      expect(run.code).toBe(0);
      expect(run.out).toMatch(/^deleted 2 CDRs and 8 events; /);
      expect(run.err).toContain('prune (rows): 10/10 done');
      expect(counts(path)).toMatchObject({ cdrs: 3, events: 11 });
      expect((await qbl('prune', '--dry-run', '--days', '1')).out).toContain('would delete: 1 CDRs');
    });

    it('--vacuum converts a file made before retention existed', async () => {
      // A file without incremental auto-vacuum, as qbl wrote them before.
      const old = new Database(path);
      old.pragma('journal_mode = WAL');
      old.close();
      const store = SqliteStore.open(path);
      await store.commit(closedCall('old', 500));
      await store.close();
      const plain = new Database(path);
      plain.pragma('auto_vacuum = NONE');
      plain.exec('VACUUM');
      expect(autoVacuum(plain)).toBe('none');
      plain.close();
      expect((await qbl('prune', '--dry-run')).out).toContain('`qbl prune --vacuum` once to shrink it');
      const run = await qbl('prune', '--vacuum');
      expect(run.code).toBe(0);
      const db = new Database(path, { readonly: true });
      expect(autoVacuum(db)).toBe('incremental');
      db.close();
      expect(counts(path).cdrs).toBe(0);
    });

    it('prune refuses a missing file in one line', async () => {
      const run = await qbl('prune');
      expect(run.code).toBe(78);
      expect(run.err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(path)).toBe(false);
    });

    it('backup copies a live database, checked, and will not overwrite without --force', async () => {
      await fill();
      const store = SqliteStore.open(path); // the service, live, committing during the copy
      f.defer(() => store.close());
      const target = join(f.dir, 'copy.db');
      const copying = qbl('backup', target);
      await store.commit(closedCall('during', 0));
      const run = await copying;
      expect(run).toMatchObject({ code: 0, err: expect.stringContaining('backup (bytes)') });
      expect(run.out).toMatch(/copy\.db: .* CDRs, .* events \(checked\)/);
      const copy = SqliteReader.open(target);
      expect(copy.countRows().cdrs).toBeGreaterThanOrEqual(5);
      await copy.close();

      writeFileSync(join(f.dir, 'taken.db'), 'keep me');
      const refused = await qbl('backup', join(f.dir, 'taken.db'));
      expect(refused.code).toBe(2);
      expect(refused.err).toContain('exists; --force replaces it');
      expect((await qbl('backup', join(f.dir, 'taken.db'), '--force')).code).toBe(0);
      const replaced = SqliteReader.open(join(f.dir, 'taken.db'));
      expect(replaced.countRows().cdrs).toBe(6);
      await replaced.close();
    });

    it('a failed backup leaves no file behind', async () => {
      writeFileSync(path, 'not a database');
      await expect(backupDatabase(path, join(f.dir, 'copy.db'))).rejects.toThrow();
      expect(existsSync(join(f.dir, 'copy.db'))).toBe(false);
    });
  });
});
