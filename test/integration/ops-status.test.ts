/**
 * `qbl status` (the real binary, dist/) against the real RabbitMQ and a service running in this
 * process: broker, queue and dead-letter depths, store contents, newest CDR and readiness; then
 * the same command with every probe failing, each on its own line with exit code 1.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { freePort } from '../support/http';
import { silentLogger, uniqueName, waitUntil } from '../support/rabbit';
import { EXPECTED_SAMPLE_CDRS, readSamples } from '../support/samples';
import { integrationFixture } from '../support/fixture';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function qbl(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('qbl status', () => {
  const f = integrationFixture('status');

  test('shows the broker, both queues, the store, the newest CDR and the service\'s readiness', async () => {
    const base = uniqueName('status');
    const env = {
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      QBL_EXCHANGE: `${base}.x`, QBL_QUEUE: `${base}.q`, SQLITE_PATH: join(f.dir, 'qbl.db'),
      QBL_HTTP_PORT: String(await freePort()), QBL_STATS_INTERVAL_S: '0', QBL_BATCH_WAIT_MS: '5',
    };
    const config = loadConfig(env);
    f.admin.track(config.topology);
    const service = await Service.start({ config, logger: silentLogger() });
    try {
      const samples = readSamples();
      // The answered call without its BYE stays open (for QBL_MAX_CALL_DURATION_S).
      const open = samples.filter((m) => !m.body.includes('E_QBL_BYE_'));
      for (const message of open) await f.admin.publish(config.topology.exchange, message.routingKey, [message.body]);
      await f.admin.publish(config.topology.exchange, 'opensips.bad', [Buffer.from('not json')]);
      await waitUntil(async () => service.pipeline.stats.messages === open.length + 1
        && (await f.admin.depth(config.topology.deadLetterQueue)) === 1, 'the samples to be processed');

      const run = await qbl(['status'], env);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('broker        amqp://guest:***@127.0.0.1:5672  connected');
      expect(lines[1]).toBe(`queue         ${config.topology.queue}  ready 0  consumers 1`);
      expect(lines[2]).toBe(`dead letters  ${config.topology.deadLetterQueue}  ready 1  consumers 0`);
      expect(lines[3]).toMatch(new RegExp(`^store +${env.SQLITE_PATH.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  open calls 1  CDRs 2  events ${open.length} *$`));
      const newest = EXPECTED_SAMPLE_CDRS.find((c) => c.disposition === 'no_answer')!;
      expect(lines[4]).toBe(`newest CDR    started ${newest.invite_at}  ended ${newest.end_at}  no_answer`);
      expect(lines[5]).toBe(`service       http://127.0.0.1:${env.QBL_HTTP_PORT}/readyz  ready  (broker ok, store ok)`);

      const json = await qbl(['status', '--json'], env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        broker: { connected: true, queue: { name: config.topology.queue, ready: 0, consumers: 1 }, deadLetterQueue: { ready: 1 } },
        store: { openCalls: 1, cdrs: 2, newestCdr: { callId: newest.call_id, disposition: 'no_answer' } },
        service: { answered: true, readiness: { status: 'ready', broker: true, store: true } },
      });
    } finally {
      await service.close();
    }
  });

  test('an unreachable broker, a missing database and no service: one line each, exit code 1', async () => {
    const run = await qbl(['status', '--timeout-ms', '2000'], {
      AMQP_URL: 'amqp://someone:pw-never-shown@127.0.0.1:1', SQLITE_PATH: join(f.dir, 'missing.db'), QBL_HTTP_PORT: String(await freePort()),
    });
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('pw-never-shown');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('broker        amqp://someone:***@127.0.0.1:1  NOT CONNECTED: connect ECONNREFUSED 127.0.0.1:1');
    expect(lines[1]).toMatch(/^store +\S+missing\.db: no qbl database here \(no such file\)/);
    expect(lines[2]).toMatch(/^service +http:\/\/127\.0\.0\.1:\d+\/readyz: not running on this host$/);
  });

  test('queues that were never declared are reported as such', async () => {
    const base = uniqueName('status-none');
    const run = await qbl(['status'], { QBL_QUEUE: `${base}.q`, SQLITE_PATH: join(f.dir, 'missing.db'), QBL_HTTP_PORT: '0' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[1]).toBe(`queue         ${base}.q: not declared (start the service once)`);
    expect(lines[2]).toBe(`dead letters  ${base}.q.dead: not declared (start the service once)`);
    expect(lines[lines.length - 1]).toBe('service       ops endpoint: disabled (QBL_HTTP_PORT=0)');
  });

  test('a bad flag is a usage error', async () => {
    const run = await qbl(['status', '--timeout-ms', 'soon'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--timeout-ms: expected an integer');
  });
});
