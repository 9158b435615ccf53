/**
 * `qbl cdrs --format csv|ndjson` without `--limit` is a whole export: every one of > 100,000 CDRs,
 * written a page at a time (memory bounded by the page, not the export); the table says on
 * stderr when it was cut; CSV cells are safe in a spreadsheet; `--tz` shows local times.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { DEFAULT_CDR_PAGE_SIZE, type StoredEvent } from '../../src/stores/store';
import { EMPTY_EXTRAS, cdrIdFor, formatUs, type CdrRecord } from '../../correlators/cdr';
import { integrationFixture } from '../support/fixture';
import { qbl } from '../support/run-cli';
import { main } from '../../src/cli/main';

const T0 = 1_795_757_055_000_000; // 2026-11-27T05:24:15Z
const CALLS = 100_500;

function record(i: number, caller = `+55119${String(i).padStart(8, '0')}`): CdrRecord {
  const callId = `call-${i}`;
  const start = T0 + i * 1_000_000;
  return {
    cdr: {
      cdr_id: cdrIdFor(callId), call_id: callId, caller, callee: i % 2 === 0 ? '011551199' : 'bob', disposition: i % 3 === 0 ? 'busy' : 'answered',
      final_code: i % 3 === 0 ? 486 : 200, invite_at: formatUs(start), ringing_at: null, answer_at: null, end_at: formatUs(start + 1_500_123),
      pdd_us: null, setup_us: 1_500_123, talk_us: 0, total_us: 1_500_123, bye_code: null, hangup_by: null, closed_by: 'final_reply',
      complete: true, events: 2, source: 'qbl',
    },
    extras: EMPTY_EXTRAS,
    startUs: start,
  };
}

describe('qbl cdrs exports', () => {
  const f = integrationFixture('export', { broker: false });
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL']) delete process.env[name];
    process.env.SQLITE_PATH = join(f.dir, 'qbl.db');
    const store = SqliteStore.open(process.env.SQLITE_PATH);
    for (let from = 0; from < CALLS; from += 20_000) {
      const cdrs = Array.from({ length: Math.min(20_000, CALLS - from) }, (_, k) => record(from + k));
      await store.commit({ events: [], cdrs, openCalls: [], closedCallIds: [] });
    }
    const event: StoredEvent = {
      event: { id: 'e1', kind: 'invite_request', callId: 'evil', timeUs: T0, caller: '=HYPERLINK("http://x","y")', callee: '+5511987654321', replyCode: null, direction: 'downstream', acc: null },
      eventName: 'E_QBL_INVITE_REQUEST', exchange: 'opensips', routingKey: 'qbl', body: Buffer.from('@SUM(1+1)'), receivedAtUs: T0,
    };
    await store.commit({ events: [event], cdrs: [record(CALLS, '=HYPERLINK("http://evil","click")')], openCalls: [], closedCallIds: [] });
    await store.close();
  }, 120_000);

  afterAll(() => {
    process.env = savedEnv;
  });

  it('csv without --limit writes every CDR, oldest first, one page per write', async () => {
    // Each chunk the command writes, as it writes it.
    const chunks: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => { chunks.push(chunk); return true; }) as typeof process.stdout.write);
    let code: number;
    try {
      code = await main(['cdrs', '--format', 'csv']);
    } finally {
      stdout.mockRestore();
    }
    const run = { code, out: chunks.join(''), err: '' };
    const writes = chunks.map((chunk) => chunk.split('\r\n').length - 1);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    const lines = run.out.split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1 + CALLS + 1);
    expect(lines[1]!.split(',')[1]).toBe('call-0');
    expect(lines[CALLS]!.split(',')[1]).toBe(`call-${CALLS - 1}`);
    expect(new Set(lines.map((line) => line.split(',')[1])).size).toBe(CALLS + 2);
    // Bounded: no single write holds more than a page (the header rides with the first).
    expect(writes.length).toBeGreaterThanOrEqual(Math.ceil(CALLS / DEFAULT_CDR_PAGE_SIZE));
    expect(Math.max(...writes)).toBeLessThanOrEqual(DEFAULT_CDR_PAGE_SIZE + 1);
  }, 120_000);

  it('the export runs in a 32 MB heap, through a real pipe (the whole result in memory would not fit)', async () => {
    const run = (...argv: string[]) => new Promise<{ code: number | null; lines: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--max-old-space-size=32', join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js'), 'cdrs', ...argv], {
        env: { ...process.env }, stdio: ['ignore', 'pipe', 'ignore'],
      });
      let lines = 0;
      child.stdout.on('data', (chunk: Buffer) => { for (const byte of chunk) if (byte === 10) lines += 1; });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, lines }));
    });
    expect(await run('--format', 'csv')).toEqual({ code: 0, lines: 1 + CALLS + 1 });
    // The control: the same rows read at once (--limit) do not fit in that heap, so the cap is a real bound.
    expect((await run('--format', 'csv', '--limit', '100000')).code).not.toBe(0);
  }, 120_000);

  it('ndjson without --limit, filtered by number and disposition, finds every match', async () => {
    const run = await qbl('cdrs', '--format', 'ndjson', '--number', '011551199', '--disposition', 'busy');
    const rows = run.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { call_id: string; disposition: string; callee: string });
    expect(rows).toHaveLength(Math.floor(CALLS / 6) + 1); // i ≡ 0 (mod 6), 0 to CALLS
    expect(rows.every((row) => row.disposition === 'busy' && row.callee === '011551199')).toBe(true);
  }, 120_000);

  it('--limit still gives the newest N, and the table says on stderr when it is cut', async () => {
    const limited = await qbl('cdrs', '--format', 'ndjson', '--limit', '3');
    expect(limited.out.trimEnd().split('\n').map((line) => JSON.parse(line).call_id)).toEqual([`call-${CALLS}`, `call-${CALLS - 1}`, `call-${CALLS - 2}`]);
    expect(limited.err).toBe('');
    const table = await qbl('cdrs');
    expect(table.out.trimEnd().split('\n')).toHaveLength(1 + 50);
    expect(table.err).toBe('showing the newest 50 CDRs; more match (--limit N shows more, --format csv|ndjson exports them all)\n');
    const whole = await qbl('cdrs', '--call-id', 'call-7');
    expect(whole.err).toBe('');
  }, 120_000);

  it('csv cells are safe in a spreadsheet: formulas neutralised, numbers kept as text', async () => {
    const run = await qbl('cdrs', '--format', 'csv', '--limit', '2');
    const [, evil, plain] = run.out.split('\r\n');
    expect(evil).toContain(`,"'=HYPERLINK(""http://evil"",""click"")","=""011551199""",busy,486,`);
    expect(plain).toContain(',"=""+5511900100499""",bob,answered,200,');
    const events = await qbl('events', '--call-id', 'evil', '--format', 'csv');
    expect(events.out.split('\r\n')[1]).toBe(
      'e1,evil,invite_request,E_QBL_INVITE_REQUEST,2026-11-27T05:24:15.000000Z,,downstream,'
      + `"'=HYPERLINK(""http://x"",""y"")","=""+5511987654321""",opensips,qbl,'@SUM(1+1)`,
    );
  });

  it('--tz shows local times; stored data stays UTC; a bad zone is one line', async () => {
    const run = await qbl('cdrs', '--call-id', 'call-0', '--format', 'ndjson', '--tz', 'America/Sao_Paulo');
    expect(JSON.parse(run.out)).toMatchObject({ invite_at: '2026-11-27T02:24:15.000000-03:00', end_at: '2026-11-27T02:24:16.500123-03:00' });
    const table = await qbl('events', '--call-id', 'evil', '--tz', 'Asia/Kolkata');
    expect(table.out).toContain('2026-11-27T10:54:15.000000+05:30');
    const utc = await qbl('cdrs', '--call-id', 'call-0', '--format', 'ndjson');
    expect(JSON.parse(utc.out).invite_at).toBe('2026-11-27T05:24:15.000000Z');
    const bad = await qbl('cdrs', '--tz', 'Mars/Olympus');
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toBe('qbl cdrs: --tz: expected an IANA time zone (America/Sao_Paulo, Europe/Lisbon), UTC or UTC+3, got "Mars/Olympus"');
  });
});
