/** The SQLite store against real database files in a temporary directory. */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { toStoreError } from '../../src/stores/sqlite/transient';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { SCHEMA_VERSION, migrate } from '../../src/stores/sqlite/schema';
import { ConfigError, StoreUnavailableError } from '../../src/errors';
import type { CommitBatch, StoredEvent } from '../../src/stores/store';
import type { CallEvent } from '../../correlators/events';
import { EMPTY_EXTRAS, cdrIdFor, formatUs, type Cdr, type CdrExtras, type CdrRecord } from '../../correlators/cdr';
import { integrationFixture } from '../support/fixture';

const T0 = 1_795_757_055_000_000;

function event(overrides: Partial<CallEvent> & Pick<CallEvent, 'id' | 'callId'>): CallEvent {
  return {
    kind: 'invite_request', timeUs: T0, caller: 'alice', callee: 'bob', replyCode: null, direction: 'downstream', acc: null,
    ...overrides,
  };
}

function stored(ev: CallEvent, body: Buffer = Buffer.from(`{"call_id":"${ev.callId}"}`)): StoredEvent {
  return { event: ev, eventName: 'E_QBL_INVITE_REQUEST', exchange: 'opensips', routingKey: 'qbl.invite', body, receivedAtUs: ev.timeUs + 7 };
}

function cdrRecord(callId: string, startUs: number, cdr: Partial<Cdr> = {}, extras: Partial<CdrExtras> = {}): CdrRecord {
  return {
    cdr: {
      cdr_id: cdrIdFor(callId), call_id: callId, caller: 'alice', callee: 'bob', disposition: 'answered', final_code: 200,
      invite_at: formatUs(startUs), ringing_at: null, answer_at: formatUs(startUs + 1_000_000), end_at: formatUs(startUs + 61_000_000),
      pdd_us: null, setup_us: 1_000_000, talk_us: 60_000_000, total_us: 61_000_000, bye_code: 200, hangup_by: 'caller',
      closed_by: 'bye', complete: true, events: 4, source: 'qbl', ...cdr,
    },
    extras: { ...EMPTY_EXTRAS, ...extras },
    startUs,
  };
}

function batch(parts: Partial<CommitBatch>): CommitBatch {
  return { events: [], cdrs: [], openCalls: [], closedCallIds: [], ...parts };
}

describe('SqliteStore', () => {
  let path: string;
  const f = integrationFixture('sqlite', { broker: false, dirPerTest: true });
  const open = (options?: Parameters<typeof SqliteStore.open>[1]) => {
    const store = SqliteStore.open(path, options);
    f.defer(() => store.close());
    return store;
  };
  /** A read-only connection, as `qbl cdrs` opens one, beside the writer. */
  const reader = () => {
    const read = SqliteReader.open(path);
    f.defer(() => read.close());
    return read;
  };

  beforeEach(() => {
    path = join(f.dir, 'nested', 'dir', 'qbl.db');
  });

  it('creates parent directories, the schema at the current version, and a WAL database', () => {
    const store = open();
    expect(reader().countRows()).toEqual({ events: 0, cdrs: 0, openCalls: 0 });
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('commits the same batch twice without adding rows', async () => {
    const store = open();
    const events = [event({ id: 'e1', callId: 'c1' }), event({ id: 'e2', callId: 'c1', kind: 'invite_reply', timeUs: T0 + 5, replyCode: 180 })];
    const once = batch({ events: events.map((e) => stored(e)), cdrs: [cdrRecord('c1', T0)], openCalls: [{ callId: 'c1', deadlineUs: T0 + 9 }] });
    await store.commit(once);
    const rowsBefore = reader().countRows();
    const result = await store.commit(once);
    expect(result.rejectedEvents.size).toBe(0);
    expect(reader().countRows()).toEqual(rowsBefore);
    expect(rowsBefore).toEqual({ events: 2, cdrs: 1, openCalls: 1 });
    expect((await store.eventsForCalls(['c1'])).get('c1')).toStrictEqual(events);
  });

  it('rewrites a CDR under the same cdr_id, every indexed column included', async () => {
    const store = open();
    await store.commit(batch({ cdrs: [cdrRecord('c1', T0, { disposition: 'unknown', final_code: null, caller: 'old' })] }));
    const rewritten = cdrRecord('c1', T0, { disposition: 'busy', final_code: 486, caller: 'new' }, { caller_e164: '+15550001' });
    await store.commit(batch({ cdrs: [rewritten] }));
    expect(reader().countRows().cdrs).toBe(1);
    expect(await reader().searchCdrs({ limit: 10, disposition: 'unknown' })).toEqual([]);
    expect(await reader().searchCdrs({ limit: 10, numbers: ['old'] })).toEqual([]);
    expect(await reader().searchCdrs({ limit: 10, numbers: ['+15550001'], disposition: 'busy' }))
      .toStrictEqual([{ cdr: rewritten.cdr, extras: rewritten.extras }]);
  });

  it('upserts open calls and removes the closed ones', async () => {
    const store = open();
    await store.commit(batch({ openCalls: [{ callId: 'a', deadlineUs: 100 }, { callId: 'b', deadlineUs: 200 }] }));
    expect(await store.openCalls()).toEqual([{ callId: 'a', deadlineUs: 100 }, { callId: 'b', deadlineUs: 200 }]);
    await store.commit(batch({ openCalls: [{ callId: 'a', deadlineUs: 300 }], closedCallIds: ['b', 'never-open'] }));
    expect(await store.openCalls()).toEqual([{ callId: 'a', deadlineUs: 300 }]);
  });

  it('writes an open call when it opens and deletes it when it closes, nothing for a call already open', async () => {
    const store = open();
    await store.commit(batch({ openCalls: [{ callId: 'a', deadlineUs: 100, alreadyOpen: false }] }));
    await store.commit(batch({ openCalls: [{ callId: 'a', deadlineUs: 300, alreadyOpen: true }, { callId: 'b', deadlineUs: 400, alreadyOpen: false }] }));
    // The open set is exact; a's deadline is the one it opened with (restore recomputes deadlines from the events).
    expect(await store.openCalls()).toEqual([{ callId: 'a', deadlineUs: 100 }, { callId: 'b', deadlineUs: 400 }]);
    await store.commit(batch({ closedCallIds: ['a'] }));
    expect(await store.openCalls()).toEqual([{ callId: 'b', deadlineUs: 400 }]);
  });

  it('gives back events exactly as committed, and keeps the body bytes exact', async () => {
    const store = open();
    const accEvent = event({
      id: 'acc1', callId: 'c1', kind: 'acc_cdr', timeUs: T0 + 3_000_000, replyCode: 200, direction: null, caller: null, callee: null,
      acc: { method: 'INVITE', durationS: 3, durationMs: 2006, setupS: 0, createdS: 1_795_757_055, sipReason: 'OK' },
    });
    const nulls = event({ id: 'n1', callId: 'c1', kind: 'bye_reply', timeUs: T0 + 2_000_001, caller: null, callee: null, replyCode: 200, direction: null });
    const accNulls = event({
      id: 'acc2', callId: 'c2', kind: 'acc_missed', timeUs: T0, replyCode: 408, direction: null,
      acc: { method: 'INVITE', durationS: null, durationMs: null, setupS: null, createdS: null, sipReason: null },
    });
    const invite = event({ id: 'i1', callId: 'c1', caller: 'caf\u00e9 \u{1F4DE}' });
    const badUtf8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]);
    await store.commit(batch({ events: [stored(accEvent), stored(nulls), stored(accNulls), stored(invite, badUtf8)] }));

    const back = await store.eventsForCalls(['c1', 'c2', 'c1', 'absent']);
    expect([...back.keys()]).toEqual(['c1', 'c2']);
    expect(back.get('c1')).toStrictEqual([invite, nulls, accEvent]);
    expect(back.get('c2')).toStrictEqual([accNulls]);

    const raw = new Database(path, { readonly: true });
    try {
      const row = raw.prepare('SELECT body FROM events WHERE id = ?').get('i1') as { body: Buffer };
      expect(Buffer.compare(row.body, badUtf8)).toBe(0);
    } finally {
      raw.close();
    }
    const rows = await reader().eventsForCall('c1');
    expect(rows[0]!.body).toBe(badUtf8.toString('utf8'));
  });

  it('lists a call\'s events as EventRows in event-time order, ties broken by id', async () => {
    const store = open();
    const late = event({ id: 'z', callId: 'c1', kind: 'bye_request', timeUs: T0 + 65_000_000, direction: 'upstream' });
    const tieB = event({ id: 'b', callId: 'c1', kind: 'invite_reply', timeUs: T0 + 1_000_000, replyCode: 200, direction: 'upstream' });
    const tieA = event({ id: 'a', callId: 'c1', kind: 'invite_reply', timeUs: T0 + 1_000_000, replyCode: 200, direction: 'upstream' });
    const first = event({ id: 'y', callId: 'c1', timeUs: T0 + 42 });
    await store.commit(batch({ events: [late, tieB, tieA, first, event({ id: 'other', callId: 'c2' })].map((e) => stored(e)) }));
    const rows = await reader().eventsForCall('c1');
    expect(rows.map((r) => r.id)).toEqual(['y', 'a', 'b', 'z']);
    expect(rows[0]).toStrictEqual({
      id: 'y', call_id: 'c1', kind: 'invite_request', event_name: 'E_QBL_INVITE_REQUEST', time: '2026-11-27T05:24:15.000042Z',
      reply_code: null, direction: 'downstream', caller: 'alice', callee: 'bob', exchange: 'opensips', routing_key: 'qbl.invite',
      body: '{"call_id":"c1"}',
    });
    expect(await reader().eventsForCall('nothing')).toEqual([]);
  });

  describe('searchCdrs', () => {
    let store: SqliteStore;
    const S = 1_000_000;
    const records = [
      cdrRecord('c1', T0, { caller: '011551199', callee: 'bob' }, { caller_e164: '+551199' }),
      cdrRecord('c2', T0 + 10 * S, { caller: 'carol', callee: '0551199', disposition: 'busy', final_code: 486 }, { callee_e164: '+551199' }),
      cdrRecord('c3', T0 + 20 * S, { caller: 'dave', callee: 'erin', disposition: 'busy', final_code: 486 }),
      cdrRecord('c4', T0 + 30 * S, { caller: 'frank', callee: 'grace', disposition: 'cancelled', final_code: 487 }),
    ];
    const ids = (rows: Array<{ cdr: Cdr }>) => rows.map((r) => r.cdr.call_id);

    beforeEach(async () => {
      store = open();
      await store.commit(batch({ cdrs: records }));
    });

    it('returns every CDR newest first, up to the limit', async () => {
      expect(ids(await reader().searchCdrs({ limit: 10 }))).toEqual(['c4', 'c3', 'c2', 'c1']);
      expect(ids(await reader().searchCdrs({ limit: 2 }))).toEqual(['c4', 'c3']);
      expect(await reader().searchCdrs({ limit: 1 })).toStrictEqual([{ cdr: records[3]!.cdr, extras: records[3]!.extras }]);
    });

    it('filters by call id', async () => {
      expect(ids(await reader().searchCdrs({ limit: 10, callId: 'c2' }))).toEqual(['c2']);
      expect(await reader().searchCdrs({ limit: 10, callId: 'c9' })).toEqual([]);
    });

    it('matches numbers exactly against caller, callee and their E.164 forms', async () => {
      expect(ids(await reader().searchCdrs({ limit: 10, numbers: ['011551199'] }))).toEqual(['c1']);
      expect(ids(await reader().searchCdrs({ limit: 10, numbers: ['0551199'] }))).toEqual(['c2']);
      expect(ids(await reader().searchCdrs({ limit: 10, numbers: ['+551199'] }))).toEqual(['c2', 'c1']);
      expect(ids(await reader().searchCdrs({ limit: 10, numbers: ['erin', 'frank'] }))).toEqual(['c4', 'c3']);
      expect(await reader().searchCdrs({ limit: 10, numbers: ['5511'] })).toEqual([]);
      expect(await reader().searchCdrs({ limit: 10, numbers: [] })).toEqual([]);
    });

    it('takes since inclusive and until exclusive on the call start', async () => {
      expect(ids(await reader().searchCdrs({ limit: 10, sinceUs: T0 + 10 * S }))).toEqual(['c4', 'c3', 'c2']);
      expect(ids(await reader().searchCdrs({ limit: 10, untilUs: T0 + 20 * S }))).toEqual(['c2', 'c1']);
      expect(ids(await reader().searchCdrs({ limit: 10, sinceUs: T0 + 10 * S, untilUs: T0 + 30 * S }))).toEqual(['c3', 'c2']);
      expect(ids(await reader().searchCdrs({ limit: 10, sinceUs: T0 + 10 * S + 1, untilUs: T0 + 20 * S + 1 }))).toEqual(['c3']);
    });

    it('filters by disposition and combines filters with AND', async () => {
      expect(ids(await reader().searchCdrs({ limit: 10, disposition: 'busy' }))).toEqual(['c3', 'c2']);
      expect(ids(await reader().searchCdrs({ limit: 10, disposition: 'busy', numbers: ['+551199'] }))).toEqual(['c2']);
      expect(ids(await reader().searchCdrs({ limit: 10, disposition: 'busy', sinceUs: T0 + 15 * S, callId: 'c3' }))).toEqual(['c3']);
      expect(await reader().searchCdrs({ limit: 10, disposition: 'failed' })).toEqual([]);
    });
  });

  it('throws StoreUnavailableError while another connection holds the write lock, then recovers', async () => {
    const store = open({ busyTimeoutMs: 20 });
    const blocker = new Database(path);
    blocker.pragma('busy_timeout = 0');
    blocker.exec('BEGIN IMMEDIATE');
    const work = batch({ events: [stored(event({ id: 'e1', callId: 'c1' }))], openCalls: [{ callId: 'c1', deadlineUs: 5 }] });
    try {
      const failure = await store.commit(work).then(() => null, (error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect(((failure as StoreUnavailableError).cause as { code: string }).code).toBe('SQLITE_BUSY');
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    await store.commit(work);
    expect(reader().countRows()).toEqual({ events: 1, cdrs: 0, openCalls: 1 });
  });

  it('rethrows a non-transient error and rolls the whole batch back', async () => {
    const store = open();
    const good = stored(event({ id: 'ok', callId: 'c1' }));
    const fractional = stored(event({ id: 'bad', callId: 'c1', timeUs: T0 + 0.5 }));
    const failure = await store.commit(batch({ events: [good, fractional], openCalls: [{ callId: 'c1', deadlineUs: 1 }] }))
      .then(() => null, (error: unknown) => error);
    // Not instanceof Error: jest runs tests in a separate realm from the native addon's error class.
    expect((failure as Error).name).toBe('SqliteError');
    expect(failure).not.toBeInstanceOf(StoreUnavailableError);
    expect((failure as { code: string }).code).toBe('SQLITE_CONSTRAINT_DATATYPE');
    expect(reader().countRows()).toEqual({ events: 0, cdrs: 0, openCalls: 0 });
  });

  it('keeps the data across close and reopen; close is idempotent and leaves no WAL files', async () => {
    const store = open();
    const ev = event({ id: 'e1', callId: 'c1' });
    await store.commit(batch({ events: [stored(ev)], cdrs: [cdrRecord('c1', T0)], openCalls: [{ callId: 'c1', deadlineUs: 7 }] }));
    await store.close();
    await store.close();
    await expect(store.ping()).rejects.toThrow();
    expect(readdirSync(join(f.dir, 'nested', 'dir'))).toEqual(['qbl.db']);

    const again = open();
    await again.ping();
    expect(reader().countRows()).toEqual({ events: 1, cdrs: 1, openCalls: 1 });
    expect((await again.eventsForCalls(['c1'])).get('c1')).toStrictEqual([ev]);
    expect(await again.openCalls()).toEqual([{ callId: 'c1', deadlineUs: 7 }]);
  });

  describe('read-only open', () => {
    it('fails with one line naming SQLITE_PATH and creates nothing when the file is missing', () => {
      let failure: unknown;
      try {
        SqliteReader.open(path);
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toMatch(/^SQLITE_PATH: .*no such file/);
      expect((failure as Error).message).not.toContain('\n');
      expect(existsSync(join(f.dir, 'nested'))).toBe(false);
    });

    it('rejects a file that is not a qbl database', () => {
      const other = join(f.dir, 'other.db');
      new Database(other).close();
      expect(() => SqliteReader.open(other)).toThrow(/^SQLITE_PATH: .*no qbl schema/);
    });

    it('reads a stopped service\'s database without creating files', async () => {
      const writer = open();
      await writer.commit(batch({ cdrs: [cdrRecord('c1', T0)] }));
      await writer.close();
      const read = reader();
      expect((await read.searchCdrs({ limit: 5 })).map((r) => r.cdr.call_id)).toEqual(['c1']);
      expect(readdirSync(join(f.dir, 'nested', 'dir'))).toEqual(['qbl.db']);
    });

    it('a write the file refuses (read-only) is a store outage the service waits out, not a crash', async () => {
      const writer = open();
      await writer.close();
      const raw = new Database(path, { readonly: true });
      let failure: unknown;
      try {
        raw.prepare('DELETE FROM open_calls').run();
      } catch (error) {
        failure = toStoreError(error, 'commit');
      } finally {
        raw.close();
      }
      // Read-only is one of the conditions an operator can fix while the service waits.
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect(((failure as { cause: { code: string } }).cause).code).toBe('SQLITE_READONLY');
    });

    it('sees the commits of a running writer', async () => {
      const writer = open();
      await writer.commit(batch({ cdrs: [cdrRecord('c1', T0)] }));
      const read = reader();
      await writer.commit(batch({ cdrs: [cdrRecord('c2', T0 + 1)] }));
      expect((await read.searchCdrs({ limit: 5 })).map((r) => r.cdr.call_id)).toEqual(['c2', 'c1']);
    });
  });

  describe('schema 1 → 2 (time-ordered event key, no cdrs_call_id index)', () => {
    it('migrates a version-1 file in place: events, CDRs and open calls are all still there and deduplicate as before', async () => {
      mkdirSync(join(f.dir, 'nested', 'dir'), { recursive: true });
      const old = new Database(path);
      old.pragma('journal_mode = WAL');
      migrate(old, 1);
      const v1Event = old.prepare(`INSERT INTO events (id, call_id, kind, event_name, time_us, reply_code, direction, caller, callee, acc,
        exchange, routing_key, body, received_at_us) VALUES (?, ?, 'invite_request', 'E_QBL_INVITE_REQUEST', ?, NULL, 'downstream',
        'alice', 'bob', NULL, 'opensips', 'qbl.invite', ?, ?)`);
      v1Event.run('e2', 'call-1', T0 + 5, Buffer.from('second'), T0 + 9);
      v1Event.run('e1', 'call-1', T0, Buffer.from('first'), T0 + 9);
      const row = cdrRecord('call-1', T0);
      old.prepare(`INSERT INTO cdrs (cdr_id, call_id, caller, callee, caller_e164, callee_e164, disposition, start_us, invite_at_us, source, record)
        VALUES (?, ?, 'alice', 'bob', NULL, NULL, 'answered', ?, ?, 'qbl', ?)`).run(row.cdr.cdr_id, 'call-1', T0, T0, JSON.stringify({ cdr: row.cdr, extras: row.extras }));
      old.prepare('INSERT INTO open_calls (call_id, deadline_us) VALUES (?, ?)').run('call-2', T0 + 99);
      old.close();

      const store = open();
      const raw = new Database(path, { readonly: true });
      try {
        expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        const indexes = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name);
        expect(indexes).toEqual(expect.arrayContaining(['events_time_id', 'events_call_time', 'cdrs_start']));
        expect(indexes).not.toContain('cdrs_call_id');
      } finally {
        raw.close();
      }
      const events = (await store.eventsForCalls(['call-1'])).get('call-1')!;
      expect(events.map((e) => e.id)).toEqual(['e1', 'e2']);
      expect((await reader().eventsForCall('call-1')).map((e) => e.body)).toEqual(['first', 'second']);
      expect(await store.openCalls()).toEqual([{ callId: 'call-2', deadlineUs: T0 + 99 }]);
      expect((await reader().searchCdrs({ callId: 'call-1', limit: 5 })).map((r) => r.cdr)).toEqual([row.cdr]);

      // The same event redelivered after the migration is still the same row.
      await store.commit(batch({ events: [stored(event({ id: 'e1', callId: 'call-1', timeUs: T0 }))] }));
      expect(reader().countRows().events).toBe(2);
    });
  });

  describe('checkpoints', () => {
    it('copies committed pages into the database file off the event loop, and close leaves one self-contained file', async () => {
      const store = open();
      const dbBytes = () => statSync(path).size;
      const before = dbBytes();
      const body = Buffer.alloc(2000, 'x');
      const events = Array.from({ length: 300 }, (_, i) => stored(event({ id: `e${i}`, callId: `call-${i % 40}`, timeUs: T0 + i }), body));
      await store.commit(batch({ events }));
      // The writer's own auto-checkpoint waits for a WAL of 256 MiB: only the worker can have grown the file.
      const deadline = Date.now() + 10_000;
      while (dbBytes() < before + 300 * 2000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(dbBytes()).toBeGreaterThanOrEqual(before + 300 * 2000);
      await store.close();
      expect(readdirSync(join(f.dir, 'nested', 'dir'))).toEqual(['qbl.db']);
      const reopened = reader();
      expect(reopened.countRows().events).toBe(300);
    });
  });
});
