/**
 * The simulator as an end-to-end oracle: `qbl simulate --expect FILE` publishes a few thousand
 * calls with every kind of disorder to the real RabbitMQ; the running service's CDRs must equal
 * the expected file, field by field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { main } from '../../src/cli/main';
import { CDR_FIELDS, type Cdr } from '../../correlators/cdr';
import { silentLogger, waitUntil } from '../support/rabbit';
import { SHORT_TIMEOUTS, serviceEnv } from '../support/service-env';
import { integrationFixture } from '../support/fixture';

describe('qbl simulate as an end-to-end oracle', () => {
  const f = integrationFixture('sim-e2e');
  const savedEnv = { ...process.env };
  afterAll(() => { process.env = savedEnv; });

  test('3000 calls, mixed formats, acc, every disorder: the CDRs equal the --expect file', async () => {
    const env = serviceEnv(f.dir, 'sime2e', SHORT_TIMEOUTS);
    const config = loadConfig(env);
    f.admin.track(config.topology);
    const expectPath = join(f.dir, 'expected.ndjson');

    const service = await Service.start({ config, logger: silentLogger() });
    try {
      process.env = { ...savedEnv, ...env };
      const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      let code: number;
      try {
        code = await main([
          'simulate', '--calls', '3000', '--cps', '500', '--no-pace', '--format', 'mixed', '--acc', '--seed', '2026',
          '--start-time', '3h', '--expect', expectPath,
          '--provisional-rate', '1', '--retransmit-rate', '0.2', '--duplicate-rate', '0.05', '--reorder-rate', '0.3',
          '--loss-rate', '0.03', '--in-progress-rate', '0.05',
        ]);
      } finally {
        out.mockRestore();
        err.mockRestore();
      }
      expect(code).toBe(0);

      const expected = readFileSync(expectPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Cdr);
      expect(expected.length).toBeGreaterThan(2800);
      for (const cdr of expected) expect(Object.keys(cdr)).toEqual(CDR_FIELDS);

      const reader = SqliteReader.open(config.sqlitePath);
      try {
        await waitUntil(async () => (await f.admin.depth(config.topology.queue)) === 0
          && service.pipeline.correlator.openCallCount === 0, 'every call to be closed', 90_000);
        const stored = new Map((await reader.searchCdrs({ limit: 100_000 })).map((s) => [s.cdr.call_id, s.cdr]));
        let compared = 0;
        for (const cdr of expected) {
          expect(stored.get(cdr.call_id)).toEqual(cdr);
          compared += 1;
        }
        expect(compared).toBe(expected.length);
        // Calls whose quick-billing-log events were all lost still get a CDR, from acc alone.
        const extra = [...stored.values()].filter((cdr) => !expected.some((e) => e.call_id === cdr.call_id));
        for (const cdr of extra) expect(cdr.source).toBe('acc');
        expect(await f.admin.depth(config.topology.deadLetterQueue)).toBe(0);
      } finally {
        await reader.close();
      }
    } finally {
      await service.close();
    }
  }, 180_000);
});
