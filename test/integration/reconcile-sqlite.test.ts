/**
 * `qbl reconcile` end to end on a real SQLite store: carrier files made from simulated calls,
 * in four carriers' layouts (header names, separators, time formats, zones including half-hour
 * ones, increments 60/6, 6/6, 1/1, 60/60, numbers without `+`, with `00`, national, with a
 * technical prefix), every class injected at known rows. Every row must come out with its class
 * and figures; bad rows are reported by number and reason.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { integrationFixture } from '../support/fixture';
import { qbl } from '../support/run-cli';
import { parseIncrement } from '../../src/disputes/increment';
import type { ReconcileRecord } from '../../src/disputes/classify';
import { buildCarrierFile, type CarrierFile, type CarrierLayout } from '../../src/simulator/carrier-file';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { simulatedCalls, sqliteWithCalls, TEST_DIAL_PLAN } from '../support/simulated-store';
import { SearchAfterCluster } from '../support/search-after-mock';
import { cdrDocument, eventDocument } from '../../src/stores/search/documents';
import { SearchReader } from '../../src/stores/search/search-reader';
import { reconcile } from '../../src/disputes/reconcile';
import { parseReconcileArgs } from '../../src/cli/commands/reconcile';

/** 2026-11-10T08:00:00Z. */
const START_US = Date.UTC(2026, 10, 10, 8) * 1000;


const LAYOUTS: Record<string, { layout: CarrierLayout; flags: string[]; tzUsed: string; incrementUsed: string }> = {
  'kolkata-auto-60-6': {
    layout: {
      headers: { start: ['Call Date'], caller: 'ANI', callee: 'DNIS', duration: 'Duration (s)', billed: 'Billed Duration', rate: 'Rate/min', cost: 'Amount' },
      extraColumns: ['Trunk'], separator: ',', startFormats: ['yyyy-MM-dd HH:mm:ss'], zone: 'Asia/Kolkata', durationStyle: 'int',
      increment: parseIncrement('60/6')!, numberStyle: 'no-plus', rateMicro: 12_000, skewUs: 300_000,
    },
    flags: [], tzUsed: '+05:30', incrementUsed: '60/6',
  },
  'st-johns-6-6': {
    layout: {
      headers: { start: ['Date', 'Time'], caller: 'A Number', callee: 'B Number', duration: 'Duration', billed: 'Billsec', cost: 'Cost' },
      separator: ';', startFormats: ['dd/MM/yyyy', 'HH:mm:ss'], zone: 'America/St_Johns', durationStyle: 'decimal-comma',
      increment: parseIncrement('6/6')!, numberStyle: '00', rateMicro: 8_000,
    },
    flags: ['--tz', 'America/St_Johns', '--increment', '6/6', '--time-format', 'dmy'], tzUsed: 'America/St_Johns', incrementUsed: '6/6',
  },
  'utc-invite-1-1': {
    layout: {
      headers: { start: ['When'], caller: 'Orig', callee: 'Term', duration: 'Secs' },
      separator: '|', startFormats: ['MM/dd/yyyy hh:mm:ss a'], zone: 'UTC', durationStyle: 'int',
      increment: parseIncrement('1/1')!, numberStyle: 'national', startIs: 'invite',
    },
    flags: ['--columns', 'start=When,caller=Orig,callee=Term,duration=Secs', '--tz', 'UTC', '--start-is', 'invite', '--time-format', 'mdy'],
    tzUsed: '+00:00', incrementUsed: '1/1',
  },
  'sao-paulo-60-60': {
    layout: {
      headers: { start: ['Connect Time'], caller: 'CLI', callee: 'Dialed Number', duration: 'Call Duration', billed: 'Charged Time' },
      separator: '\t', startFormats: ["yyyy-MM-dd'T'HH:mm:ss"], zone: 'America/Sao_Paulo', durationStyle: 'hms',
      increment: parseIncrement('60/60')!, numberStyle: 'tech',
    },
    flags: ['--tz=-03:00', '--increment', '60/60'], tzUsed: '-03:00', incrementUsed: '60/60',
  },
};

describe('qbl reconcile on SQLite', () => {
  const f = integrationFixture('reconcile', { broker: false });
  let dir: string;
  const savedEnv = { ...process.env };
  let calls: ReturnType<typeof simulatedCalls>;

  beforeAll(async () => {
    dir = f.dir;
    for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL']) delete process.env[name];
    Object.assign(process.env, { SQLITE_PATH: join(dir, 'qbl.db'), QBL_DEFAULT_COUNTRY: 'BR', QBL_EXIT_CODES: '00,011', QBL_CARRIER_PREFIXES: '15,21,41', QBL_STRIP_PREFIXES: '9' });
    // About 30 hours of traffic: the files span two days.
    calls = simulatedCalls({ calls: 700, seed: 14, cps: 0.0065, startTimeUs: START_US, concurrency: 100_000 });
    await sqliteWithCalls(process.env.SQLITE_PATH!, calls);
  });

  afterAll(() => {
    process.env = savedEnv;
  });

  it.each(Object.keys(LAYOUTS))('%s: every row gets its expected class and figures', async (name) => {
    const { layout, flags, tzUsed, incrementUsed } = LAYOUTS[name]!;
    const file: CarrierFile = buildCarrierFile(calls.records, layout);
    const path = join(dir, `${name}.csv`);
    writeFileSync(path, file.text);
    const out = join(dir, `${name}.out`);
    const run = await qbl('reconcile', path, '--out', out, ...flags);
    expect(run.err).not.toMatch(/qbl reconcile:/);
    expect(run.code).toBe(3); // done, with bad rows

    const records = readFileSync(join(out, 'records.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as ReconcileRecord);
    const byRow = new Map(records.filter((r) => r.row !== null).map((r) => [r.row!, r]));
    expect(byRow.size).toBe(file.expected.size);
    const classesSeen = new Set<string>();
    for (const [row, want] of file.expected) {
      const got = byRow.get(row);
      expect({ row, class: got?.class, cdr_id: got?.cdr_id }).toEqual({ row, class: want.class, cdr_id: want.cdrId });
      expect(got!.carrier_billed_s).toBe(want.carrierBilledUs / 1e6);
      expect(got!.our_billed_s).toBe(want.ourBilledUs / 1e6);
      expect(got!.our_talk_s).toBe(want.ourTalkUs === null ? null : want.ourTalkUs / 1e6);
      expect(got!.delta_billed_s).toBe((want.carrierBilledUs - want.ourBilledUs) / 1e6);
      if (want.carrierCostMicro !== null && want.ourCostMicro !== null) {
        expect(got!.delta_cost).toBeCloseTo((want.carrierCostMicro - want.ourCostMicro) / 1e6, 6);
      } else {
        expect(got!.delta_cost).toBeNull();
      }
      classesSeen.add(want.class);
    }
    // Every class of a carrier row is exercised by this file.
    expect([...classesSeen].sort()).toEqual(['duplicate', 'match', 'not_answered', 'overbilled', 'underbilled', 'unknown_call', 'within_tolerance']);

    const notBilled = records.filter((r) => r.row === null);
    expect(notBilled.every((r) => r.class === 'not_billed')).toBe(true);
    const wantNotBilled = [...file.notBilled].filter(([, at]) => at >= file.firstStartUs && at <= file.lastStartUs).map(([id]) => id).sort();
    expect(notBilled.map((r) => r.cdr_id!).sort()).toEqual(wantNotBilled);
    expect(wantNotBilled.length).toBeGreaterThan(10);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.time_zone.used).toBe(tzUsed);
    expect(summary.increment.used).toBe(incrementUsed);
    expect(summary.bad_rows.count).toBe(file.bad.size);
    expect(summary.bad_rows.listed.map((b: { row: number; reason: string }) => [b.row, b.reason])).toEqual([...file.bad.entries()].sort((a, b) => a[0] - b[0]));
    const counts: Record<string, number> = {};
    for (const r of records) counts[r.class] = (counts[r.class] ?? 0) + 1;
    expect(Object.fromEntries(Object.entries(summary.counts).filter(([, n]) => (n as number) > 0))).toEqual(counts);
    expect(summary.days.length).toBeGreaterThanOrEqual(2);
    expect(summary.start_skew_s.hint).toBeNull();

    // disputes.csv: the disputed rows, in row order, with their fields and ours.
    const disputes = readFileSync(join(out, 'disputes.csv'), 'utf8').trim().split('\r\n');
    const wantDisputed = [...file.expected.values()]
      .filter((e) => ['overbilled', 'underbilled', 'not_answered', 'unknown_call', 'duplicate'].includes(e.class) && e.carrierBilledUs !== e.ourBilledUs)
      .map((e) => e.row);
    expect(disputes.slice(1).map((line) => Number(line.split(',')[0]))).toEqual(wantDisputed);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('id="daily-chart"');
    expect(run.out).toMatch(/billed minutes: theirs [\d,.]+, ours [\d,.]+, difference/);
  });

  it('the rows\' order does not matter: a shuffled file (Latin-1, with quotes) gives every line the same class', async () => {
    const { layout } = LAYOUTS['kolkata-auto-60-6']!;
    const file = buildCarrierFile(calls.records, { ...layout, headers: { ...layout.headers, caller: 'Número A' } });
    const [header, ...lines] = file.text.trimEnd().split('\r\n');
    // A fixed shuffle (an LCG), and every caller quoted as some tools write them.
    let seed = 42;
    const shuffled = lines.map((line) => ({ line, key: (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) })).sort((a, b) => a.key - b.key).map((x) => x.line);
    const quoted = shuffled.map((line) => line.replace(/^([^,]*),([^,]*),/, '$1,"$2",'));
    writeFileSync(join(dir, 'sorted.csv'), file.text);
    writeFileSync(join(dir, 'shuffled.csv'), Buffer.from(`${[header, ...quoted].join('\r\n')}\r\n`, 'latin1'));
    const classesByLine = async (name: string, text: string[]) => {
      const run = await qbl('reconcile', join(dir, `${name}.csv`), '--out', join(dir, `${name}.out`), '--tz', '+05:30');
      expect([run.code, run.err.split("\n").filter((l) => l.startsWith("qbl"))]).toEqual([3, []]);
      const records = readFileSync(join(dir, `${name}.out`, 'records.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ReconcileRecord);
      const byLine = new Map<string, string[]>();
      for (const r of records) {
        if (r.row === null) continue;
        const line = text[r.row - 1]!.replace(/"/g, '');
        byLine.set(line, [...(byLine.get(line) ?? []), r.class].sort());
      }
      return { byLine, notBilled: records.filter((r) => r.row === null).map((r) => r.cdr_id).sort() };
    };
    const sorted = await classesByLine('sorted', lines);
    const fromShuffled = await classesByLine('shuffled', quoted);
    expect(fromShuffled.byLine).toEqual(sorted.byLine);
    expect(fromShuffled.notBilled).toEqual(sorted.notBilled);
    const summary = JSON.parse(readFileSync(join(dir, 'shuffled.out', 'summary.json'), 'utf8'));
    expect(summary.settings.encoding).toBe('windows-1252');
    expect(summary.settings.columns.caller).toBe('Número A');
  });

  it('qbl evidence: the ladder as text, as SVG, and clear answers for an unknown call or a bad --out', async () => {
    const answered = calls.records.find((r) => r.cdr.disposition === 'answered' && r.cdr.events >= 5)!.cdr;
    const text = await qbl('evidence', '--call-id', answered.call_id);
    expect(text.code).toBe(0);
    expect(text.out.split('\n')[0]).toBe(`call_id ${answered.call_id}`);
    expect(text.out).toContain(`${answered.invite_at}  +0.000000 s`);
    expect(text.out.split('\n').filter((l) => /[▶◀]/.test(l))).toHaveLength(calls.events.filter((e) => e.event.callId === answered.call_id).length);
    const svg = join(dir, 'ladder.svg');
    expect(await qbl('evidence', '--call-id', answered.call_id, '--out', svg)).toMatchObject({ code: 0, out: expect.stringMatching(/^wrote .*ladder\.svg/) });
    expect(readFileSync(svg, 'utf8')).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg class="ladder" xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(await qbl('evidence', '--call-id', 'no-such-call')).toEqual({ code: 1, out: '', err: 'no CDR and no events for call_id "no-such-call"\n' });
    expect((await qbl('evidence', '--call-id', 'x', '--out', 'x.txt')).err).toMatch(/^qbl evidence: --out: expected a FILE.html or FILE.svg/);
  });

  it('a file that starts at the INVITE, read as answers: still matched, and a hint says --start-is invite', async () => {
    const { layout } = LAYOUTS['utc-invite-1-1']!;
    const file = buildCarrierFile(calls.records, layout);
    writeFileSync(join(dir, 'invite-as-answer.csv'), file.text);
    const run = await qbl('reconcile', join(dir, 'invite-as-answer.csv'), '--out', join(dir, 'invite-as-answer.out'), ...LAYOUTS['utc-invite-1-1']!.flags.filter((f) => f !== '--start-is' && f !== 'invite'));
    expect(run.code).toBe(3);
    const summary = JSON.parse(readFileSync(join(dir, 'invite-as-answer.out', 'summary.json'), 'utf8'));
    expect(summary.start_skew_s.hint).toMatch(/^their starts are [\d.]+ s before our answers but [\d.]+ s from our INVITEs: try --start-is invite$/);
    expect(run.out).toContain('try --start-is invite');
  });

  it('a file with a header and no rows: empty outputs, exit 0', async () => {
    const path = join(dir, 'header-only.csv');
    writeFileSync(path, 'Call Date,ANI,DNIS,Duration (s)\r\n');
    const run = await qbl('reconcile', path, '--out', join(dir, 'header-only.out'));
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^0 carrier rows; time zone \+00:00 \(no time in the file needs it\); increment 1\/1 \(the default: no rows with a billed column/);
    expect(readFileSync(join(dir, 'header-only.out', 'records.ndjson'), 'utf8')).toBe('');
  });

  it('a file whose columns cannot be found is one line naming the flag, exit 2', async () => {
    const path = join(dir, 'odd.csv');
    writeFileSync(path, 'X,Y,Z\n1,2,3\n');
    const run = await qbl('reconcile', path, '--out', join(dir, 'odd.out'));
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^qbl reconcile: no column for start, caller, callee, duration in the header \(X, Y, Z\): name it with --columns/);
  });

  it('a missing file exits 66; bad flags exit 2 with the usage', async () => {
    expect((await qbl('reconcile', join(dir, 'nope.csv'), '--out', join(dir, 'nope.out'))).code).toBe(66);
    const bad = await qbl('reconcile', 'x.csv', '--increment', '6');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^qbl reconcile: --increment: expected A\/B/);
    expect((await qbl('reconcile', 'x.csv', '--tz', 'Mars/Olympus')).err).toMatch(/--tz: expected an IANA zone/);
  });
});

describe('qbl reconcile on Elasticsearch (the client on @elastic/elasticsearch-mock)', () => {
  const f = integrationFixture('reconcile-es', { broker: false });

  it('reads the same calls as from SQLite and gives the same records and disputes', async () => {
    const dir = f.dir;
    const calls = simulatedCalls({ calls: 160, seed: 21, cps: 0.01, startTimeUs: START_US, concurrency: 100_000 });
    await sqliteWithCalls(join(dir, 'qbl.db'), calls);
    const sqlite = SqliteReader.open(join(dir, 'qbl.db'));
    f.defer(() => sqlite.close());
    const cluster = new SearchAfterCluster({ cdrs: calls.records.map(cdrDocument), events: calls.events.map(eventDocument) });
    const file = buildCarrierFile(calls.records, LAYOUTS['sao-paulo-60-60']!.layout);
    writeFileSync(join(dir, 'carrier.csv'), file.text);
    const options = parseReconcileArgs([join(dir, 'carrier.csv'), '--tz=-03:00', '--increment', '60/60', '--top', '5'], Date.now());
    const quiet = { phase: () => undefined, advance: () => undefined, done: () => undefined };
    const fromSearch = await reconcile({ ...options, outDir: join(dir, 'es') }, new SearchReader(cluster.engine(), 'qbl'), TEST_DIAL_PLAN, quiet, 'elasticsearch');
    const fromSqlite = await reconcile({ ...options, outDir: join(dir, 'sqlite') }, sqlite, TEST_DIAL_PLAN, quiet);
    expect(fromSearch.summary.counts).toEqual(fromSqlite.summary.counts);
    for (const name of ['records.ndjson', 'disputes.csv']) expect(readFileSync(join(dir, 'es', name), 'utf8')).toBe(readFileSync(join(dir, 'sqlite', name), 'utf8'));
    // The report's evidence came from the engine's events.
    expect(readFileSync(join(dir, 'es', 'report.html'), 'utf8')).toBe(readFileSync(join(dir, 'sqlite', 'report.html'), 'utf8'));
    expect(cluster.requests.some((r) => r.index === 'qbl-events-*')).toBe(true);
  });
});

describe('qbl reconcile across a daylight saving change', () => {
  const f = integrationFixture('reconcile-dst', { broker: false });

  it('--tz auto stops and asks for the zone; with --tz Europe/London every row is right', async () => {
    const dir = f.dir;
    const saved = { ...process.env };
    try {
      for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL']) delete process.env[name];
      Object.assign(process.env, { SQLITE_PATH: join(dir, 'qbl.db'), QBL_DEFAULT_COUNTRY: 'BR' });
      // 2026-10-24 12:00Z to about 2026-10-26: London leaves summer time on the 25th at 01:00Z.
      const calls = simulatedCalls({ calls: 400, seed: 33, cps: 0.0025, startTimeUs: Date.UTC(2026, 9, 24, 12) * 1000, concurrency: 100_000 });
      await sqliteWithCalls(process.env.SQLITE_PATH!, calls);
      const file = buildCarrierFile(calls.records, { ...LAYOUTS['kolkata-auto-60-6']!.layout, zone: 'Europe/London' });
      writeFileSync(join(dir, 'london.csv'), file.text);

      const auto = await qbl('reconcile', join(dir, 'london.csv'), '--out', join(dir, 'auto'));
      expect(auto.code).toBe(2);
      expect(auto.err).toMatch(/qbl reconcile: --tz auto: the offset changes within the file \(\+01:00 around .*, \+00:00 around .*\), as with daylight saving time: pass --tz/);

      const zoned = await qbl('reconcile', join(dir, 'london.csv'), '--out', join(dir, 'zoned'), '--tz', 'Europe/London');
      expect(zoned.code).toBe(3);
      const records = readFileSync(join(dir, 'zoned', 'records.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as ReconcileRecord);
      const byRow = new Map(records.filter((r) => r.row !== null).map((r) => [r.row!, r]));
      // 01:00–02:00 local on the 25th happens twice; without an offset such a time is read as the
      // first (summer) one, so calls of the second pass are an hour off: documented, not matched.
      const lines = file.text.split('\r\n');
      let checked = 0;
      for (const [row, want] of file.expected) {
        if (lines[row]!.startsWith('2026-10-25 01:')) continue;
        expect([row, byRow.get(row)?.class, byRow.get(row)?.cdr_id]).toEqual([row, want.class, want.cdrId]);
        checked += 1;
      }
      expect(checked).toBeGreaterThan(file.expected.size - 15);
    } finally {
      process.env = saved;
    }
  });
});
