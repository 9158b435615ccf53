/**
 * `qbl cdrs` and `qbl events` read the real OpenSearch node exactly as they read SQLite: one run
 * of the service (OPENSEARCH_URL set), its commits copied to a SQLite file (test/support/tee-store.ts),
 * leaves the same CDRs and events in both; every format and every filter must then print byte-for-byte the same.
 * Skipped, with a message, when no node answers.
 */
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { EMPTY_EXTRAS, cdrIdFor, formatUs, parseUs, type CdrRecord } from '../../correlators/cdr';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { SearchStore } from '../../src/stores/search/search-store';
import { TeeStore } from '../support/tee-store';
import type { StoredCdr } from '../../src/stores/store';
import { silentLogger } from '../support/rabbit';
import { NODE_URL, cleanUp, describeOnNode, nodeConfig, rawClient, uniquePrefix } from './node';
import { publishInOrder, serviceEnv, simulatedTraffic, waitForDrain } from './service-harness';
import { integrationFixture } from '../support/fixture';
import { qbl, type CliRun } from '../support/run-cli';

/** `qbl argv…` in-process with these variables (and no search engine but the one they name). */
async function runCli(argv: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const saved = process.env;
  process.env = { ...saved, ...env };
  if (env.OPENSEARCH_URL === undefined) delete process.env.OPENSEARCH_URL;
  delete process.env.ELASTICSEARCH_URL;
  try {
    return await qbl(...argv);
  } finally {
    process.env = saved;
  }
}

describeOnNode('qbl cdrs and qbl events on the real OpenSearch node', () => {
  const f = integrationFixture('os-cli');
  let raw: Client;
  let prefix: string;
  let searchEnv: Record<string, string>;
  let sqliteEnv: Record<string, string>;
  let cdrs: StoredCdr[];

  /** Both stores, same argv: identical exit code, stdout and stderr. */
  async function same(argv: readonly string[]): Promise<CliRun> {
    const fromSearch = await runCli(argv, searchEnv);
    const fromSqlite = await runCli(argv, sqliteEnv);
    expect(fromSearch).toEqual(fromSqlite);
    expect(fromSearch.code).toBe(0);
    return fromSearch;
  }

  beforeAll(async () => {
    raw = rawClient();
    prefix = uniquePrefix();
    f.defer(async () => {
      await cleanUp(raw, prefix);
      await raw.close();
    });
    const env = serviceEnv(f.dir, prefix);
    const config = loadConfig(env);
    f.admin.track(config.topology);
    const traffic = simulatedTraffic(150, 31);
    // The search store keeps no local file: the same commits also go to a SQLite file to compare with.
    const store = new TeeStore(await SearchStore.open(config.search!, silentLogger()), SqliteStore.open(config.sqlitePath));
    const service = await Service.start({ config, logger: silentLogger(), store });
    try {
      await publishInOrder(f.admin, config.topology.exchange, traffic.messages);
      await waitForDrain(f.admin, service, traffic.messages.length, 60_000);
    } finally {
      await service.close();
    }
    await raw.indices.refresh({ index: `${prefix}-*` });
    searchEnv = { OPENSEARCH_URL: env.OPENSEARCH_URL!, QBL_INDEX_PREFIX: prefix, SQLITE_PATH: env.SQLITE_PATH! };
    sqliteEnv = { SQLITE_PATH: env.SQLITE_PATH! };
    const sqlite = SqliteReader.open(config.sqlitePath);
    try {
      cdrs = await sqlite.searchCdrs({ limit: 10_000 });
    } finally {
      await sqlite.close();
    }
    expect(cdrs.length).toBeGreaterThan(140);
  }, 90_000);

  /** Filters with the number of CDRs SQLite finds for them (each must find some, or the comparison proves little). */
  function filters(format: string): Array<{ name: string; argv: string[]; rows: number }> {
    const typed = cdrs.find((s) => s.cdr.caller !== null && s.extras.caller_e164 !== null && s.cdr.caller !== s.extras.caller_e164)!;
    const e164 = typed.extras.caller_e164!;
    const withNumber = (n: string) => cdrs.filter((s) => [s.cdr.caller, s.cdr.callee, s.extras.caller_e164, s.extras.callee_e164].includes(n));
    const starts = cdrs.map((s) => parseUs(s.cdr.invite_at ?? '') ?? 0).filter((us) => us > 0).sort((a, b) => a - b);
    const since = starts[Math.floor(starts.length / 4)]!;
    const until = starts[Math.floor((3 * starts.length) / 4)]!;
    const answered = cdrs.filter((s) => s.cdr.disposition === 'answered').length;
    const busy = cdrs.filter((s) => s.cdr.disposition === 'busy').length;
    return [
      // The table shows the newest 50 (and says so); csv and ndjson without --limit export them all.
      { name: 'none (default limit)', argv: [], rows: format === 'table' ? Math.min(50, cdrs.length) : cdrs.length },
      { name: '--limit', argv: ['--limit', '100000'], rows: cdrs.length },
      { name: '--call-id', argv: ['--call-id', cdrs[7]!.cdr.call_id], rows: 1 },
      { name: '--number as typed', argv: ['--number', typed.cdr.caller!], rows: -1 },
      { name: '--number as E.164', argv: ['--number', e164], rows: withNumber(e164).length },
      { name: '--since/--until (µs)', argv: ['--since', formatUs(since), '--until', formatUs(until), '--limit', '1000'], rows: -1 },
      { name: '--disposition', argv: ['--disposition', 'answered', '--limit', '1000'], rows: answered },
      { name: '--disposition --limit', argv: ['--disposition', 'busy', '--limit', '3'], rows: Math.min(3, busy) },
      { name: 'combined', argv: ['--since', formatUs(since), '--disposition', 'answered', '--limit', '20'], rows: -1 },
    ];
  }

  it.each(['table', 'csv', 'ndjson'])('qbl cdrs --format %s: the same output from OpenSearch as from SQLite, for every filter', async (format) => {
    for (const filter of filters(format)) {
      const run = await same(['cdrs', ...filter.argv, '--format', format]);
      const lines = run.out.split(/\r?\n/).filter((line) => line !== '');
      const rows = format === 'ndjson' ? lines.length : lines.length - 1; // table and csv have a header
      if (filter.rows >= 0) expect({ filter: filter.name, rows }).toEqual({ filter: filter.name, rows: filter.rows });
      expect({ filter: filter.name, rows: rows > 0 }).toEqual({ filter: filter.name, rows: true });
    }
  });

  it('the comparison really reads the node: under another index prefix it finds nothing', async () => {
    const elsewhere = await runCli(['cdrs', '--limit', '100000', '--format', 'csv'], { ...searchEnv, QBL_INDEX_PREFIX: uniquePrefix() });
    expect(elsewhere).toEqual({ code: 0, out: '', err: 'no CDRs match\n' });
  });

  it('qbl cdrs: nothing matching says so the same way', async () => {
    const run = await same(['cdrs', '--call-id', 'no-such-call@nowhere', '--format', 'csv']);
    expect(run).toEqual({ code: 0, out: '', err: 'no CDRs match\n' });
  });

  it.each(['table', 'csv', 'ndjson'])('qbl events --format %s: the same raw events from OpenSearch as from SQLite', async (format) => {
    const picks = [cdrs[0]!, cdrs[Math.floor(cdrs.length / 2)]!, cdrs[cdrs.length - 1]!, ...cdrs.filter((s) => s.cdr.events >= 6).slice(0, 2)];
    for (const stored of picks) {
      const run = await same(['events', '--call-id', stored.cdr.call_id, '--format', format]);
      const lines = run.out.split('\n').filter((line) => line !== '');
      expect(lines.length).toBeGreaterThanOrEqual(format === 'ndjson' ? 1 : 2);
      if (format === 'ndjson') for (const line of lines) expect(JSON.parse(line).call_id).toBe(stored.cdr.call_id);
    }
    const none = await same(['events', '--call-id', 'no-such-call@nowhere', '--format', format]);
    expect(none.out).toBe('');
    expect(none.err).toBe('no events for call_id "no-such-call@nowhere"\n');
  });

  it('csv and ndjson without --limit export past the engine\'s 10,000-hit window, whole, with --tz and safe cells', async () => {
    const bigPrefix = uniquePrefix();
    f.defer(() => cleanUp(raw, bigPrefix));
    const total = 10_500;
    const store = new TeeStore(await SearchStore.open(nodeConfig(bigPrefix, { bulkMaxDocs: 2000 }), silentLogger()), SqliteStore.open(join(f.dir, 'big.db')));
    try {
      const startUs = Date.UTC(2026, 10, 27, 5, 24, 15) * 1000;
      for (let from = 0; from < total; from += 2500) {
        const records: CdrRecord[] = Array.from({ length: Math.min(2500, total - from) }, (_, k) => {
          const i = from + k;
          const callId = `big-${i}`;
          const at = startUs + i * 1_000_000;
          return {
            cdr: {
              cdr_id: cdrIdFor(callId), call_id: callId, caller: i === 0 ? '=HYPERLINK("http://evil","x")' : '+5511987654321', callee: 'bob',
              disposition: 'busy', final_code: 486, invite_at: formatUs(at), ringing_at: null, answer_at: null, end_at: formatUs(at + 500_000),
              pdd_us: null, setup_us: 500_000, talk_us: 0, total_us: 500_000, bye_code: null, hangup_by: null, closed_by: 'final_reply',
              complete: true, events: 2, source: 'qbl',
            },
            extras: EMPTY_EXTRAS,
            startUs: at,
          };
        });
        await store.commit({ events: [], cdrs: records, openCalls: [], closedCallIds: [] });
      }
    } finally {
      await store.close();
    }
    await raw.indices.refresh({ index: `${bigPrefix}-*` });
    const env = { OPENSEARCH_URL: NODE_URL, QBL_INDEX_PREFIX: bigPrefix, SQLITE_PATH: join(f.dir, 'big.db') };
    const ndjson = await runCli(['cdrs', '--format', 'ndjson', '--tz', 'America/Sao_Paulo'], env);
    expect(ndjson.code).toBe(0);
    const rows = ndjson.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { call_id: string; invite_at: string });
    expect(rows).toHaveLength(total);
    expect(new Set(rows.map((row) => row.call_id)).size).toBe(total);
    expect(rows[0]).toMatchObject({ call_id: 'big-0', invite_at: '2026-11-27T02:24:15.000000-03:00' });
    expect(rows[total - 1]!.call_id).toBe(`big-${total - 1}`);
    const csv = await runCli(['cdrs', '--format', 'csv'], env);
    const lines = csv.out.split('\r\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1 + total);
    expect(lines[1]).toContain(`,"'=HYPERLINK(""http://evil"",""x"")",bob,`);
    expect(lines[2]).toContain(',"=""+5511987654321""",bob,');
    // The same export from the local SQLite file: byte for byte.
    expect(csv).toEqual(await runCli(['cdrs', '--format', 'csv'], { SQLITE_PATH: join(f.dir, 'big.db') }));
    // The table is cut, and says so.
    const table = await runCli(['cdrs'], env);
    expect(table.err).toBe('showing the newest 50 CDRs; more match (--limit N shows more, --format csv|ndjson exports them all)\n');
  }, 180_000);
});
