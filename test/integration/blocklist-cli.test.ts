/** `qbl blocklist add|remove|list|import` on a real SQLite file, and what a running lookup makes of it. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { expiryUs, parseBlocklistArgs } from '../../src/cli/commands/blocklist';
import { UsageError } from '../../src/flags';
import { LookupService } from '../../src/lookup/lookup-service';
import { createLogger } from '../../src/observability/logger';
import { SqliteLookupStore } from '../../src/stores/sqlite/lookup-store';
import { qbl } from '../support/run-cli';
import { integrationFixture } from '../support/fixture';
import { lookup, numberPath } from '../support/lookup';
import { waitUntil } from '../support/rabbit';

describe('qbl blocklist', () => {
  const f = integrationFixture('blocklist', { broker: false, dirPerTest: true });
  const savedEnv = { ...process.env };

  beforeEach(() => {
    for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL']) delete process.env[name];
    process.env.SQLITE_PATH = join(f.dir, 'qbl.db');
    process.env.QBL_DEFAULT_COUNTRY = 'BR';
  });

  afterEach(() => {
    process.env = { ...savedEnv };
  });

  test('add (any dialled form, a prefix, an expiry), list, remove', async () => {
    expect(await qbl('blocklist', 'add', '0055 11 91234-0002', '--reason', 'chargeback fraud')).toMatchObject({
      code: 0, out: 'blocked +5511912340002 (chargeback fraud); running lookups apply it within 2 s\n',
    });
    expect((await qbl('blocklist', 'add', '+3712*', '--reason', 'IRSF range, "premium"', '--expires', '30d')).code).toBe(0);
    const listed = await qbl('blocklist', 'list', '--format', 'ndjson');
    const rows = listed.out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => [r.entry, r.reason, r.status])).toEqual([
      ['+3712*', 'IRSF range, "premium"', 'active'],
      ['+5511912340002', 'chargeback fraud', 'active'],
    ]);
    const expires = Date.parse(String(rows[0]!.expires_at));
    expect(Math.abs(expires - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
    expect((await qbl('blocklist', 'list', '--format', 'csv')).out).toContain('"IRSF range, ""premium"""');

    expect(await qbl('blocklist', 'remove', '+5511912340002')).toMatchObject({ code: 0, out: 'removed +5511912340002; running lookups apply it within 2 s\n' });
    expect(await qbl('blocklist', 'remove', '+5511912340002')).toMatchObject({ code: 1, err: '+5511912340002 is not on the block list\n' });
    expect((await qbl('blocklist', 'list')).out.split('\n').filter(Boolean)).toHaveLength(2); // header + the prefix
    expect((await qbl('blocklist', 'list', '--all')).out).toMatch(/\+5511912340002\s+chargeback fraud.*removed/);
  });

  test('import: every line checked first; a bad file writes nothing', async () => {
    const bad = join(f.dir, 'bad.csv');
    writeFileSync(bad, 'entry,reason,expires\n+37129123456,fraud,\nalice,bad number,\n+3712*,x,yesterday\n');
    const refused = await qbl('blocklist', 'import', bad);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`${bad}:3: "alice": not a number under the dial plan`);
    expect(refused.err).toContain(`${bad}:4: --expires:`);
    expect(refused.err).toContain('nothing imported: 2 bad lines of 3');
    expect((await qbl('blocklist', 'list')).err).toBe('the block list is empty\n');

    const good = join(f.dir, 'good.csv');
    const lines = ['# fraud desk export', 'entry,reason,expires', '+37129123456,wangiri,', '"0055 11 91234-0003","dialled with spaces",7d', '+88216*,,'];
    for (let i = 0; i < 2000; i += 1) lines.push(`+5521987${String(i).padStart(6, '0')},bulk,`);
    writeFileSync(good, `${lines.join('\r\n')}\r\n`);
    const imported = await qbl('blocklist', 'import', good, '--reason', 'satellite premium');
    expect(imported).toMatchObject({ code: 0, out: 'imported 2003 entries; running lookups apply them within 2 s\n' });
    const rows = (await qbl('blocklist', 'list', '--format', 'ndjson')).out.trim().split('\n').map((l) => JSON.parse(l) as { entry: string; reason: string });
    expect(rows).toHaveLength(2003);
    expect(rows.find((r) => r.entry === '+88216*')?.reason).toBe('satellite premium');
    expect(rows.find((r) => r.entry === '+5511912340003')?.reason).toBe('dialled with spaces');
  });

  test('bad arguments: one line and the usage, exit 2', async () => {
    expect((await qbl('blocklist', 'add', '+3712*')).err).toMatch(/^qbl blocklist: add: --reason is required/);
    expect((await qbl('blocklist', 'add', 'alice', '--reason', 'x')).err).toMatch(/^qbl blocklist: "alice": not a number under the dial plan/);
    expect((await qbl('blocklist', 'add', '+37*12', '--reason', 'x')).code).toBe(2);
    expect((await qbl('blocklist', 'add', '+3712*', '--reason', 'x', '--expires', '2001-01-01')).err).toMatch(/is not in the future/);
    expect((await qbl('blocklist', 'frobnicate')).code).toBe(2);
    expect(() => parseBlocklistArgs(['add', 'a', 'b', '--reason', 'x'])).toThrow(UsageError);
    expect(expiryUs('1h', 0)).toBe(3_600_000_000);
  });

  test('a running lookup sees a change within its poll interval', async () => {
    const config = loadConfig({ SQLITE_PATH: process.env.SQLITE_PATH!, QBL_DEFAULT_COUNTRY: 'BR', QBL_LOOKUP_POLL_S: '1' });
    const service = new LookupService({
      config: { ...config.lookup, port: 0 }, dialPlan: config.dialPlan, store: SqliteLookupStore.open(config.sqlitePath), logger: createLogger('silent'),
    });
    f.defer(() => service.close());
    await service.start();
    const port = service.listeningPort!;
    expect((await lookup(port, numberPath('+37129123456'))).json).toMatchObject({ verdict: 'allow' });
    await qbl('blocklist', 'add', '+371291*', '--reason', 'IRSF');
    await waitUntil(async () => (await lookup(port, numberPath('+37129123456'))).json.verdict === 'block', 'the next poll to apply the entry');
  });
});
