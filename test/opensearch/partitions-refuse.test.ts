/**
 * QBL_PARTITIONS refuses rather than splits calls (docs/scaling.md, "Mismatched P"): `qbl start`
 * exits 78 with one line when the broker holds partitions of another P, when an older member
 * advertises another P, and when the store is SQLite.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { membersExchange, partitionExchange, partitionQueue } from '../../consumers/amqp/partitions';
import { integrationFixture } from '../support/fixture';
import { describeOnNode, nodeFixture } from './node';
import { serviceEnv } from './service-harness';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

function run(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => { err += text; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`qbl start still running after ${timeoutMs} ms: ${err}`)); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, err }); });
  });
}

describeOnNode('QBL_PARTITIONS refuses a mismatch with one line, exit 78', () => {
  const f = integrationFixture('os-partitions-refuse', { dirPerTest: true });
  const node = nodeFixture(f);
  const P = 4;

  function setUp(): { env: Record<string, string>; queue: string } {
    const env = serviceEnv(f.dir, node.prefix, { QBL_PARTITIONS: String(P), LOG_LEVEL: 'error', AMQP_HEARTBEAT_S: '2' });
    const config = loadConfig(env);
    const queue = config.topology.queue;
    f.admin.track(config.topology);
    f.admin.track({ exchange: partitionExchange(queue) });
    f.admin.track({ exchange: membersExchange(queue) });
    for (let i = 0; i <= P; i++) f.admin.track({ queue: partitionQueue(queue, i) });
    return { env, queue };
  }

  it('when the broker holds a partition past P (P was larger)', async () => {
    const { env, queue } = setUp();
    await f.admin.withChannel((ch) => ch.assertQueue(partitionQueue(queue, P), { durable: true }));
    const { code, err } = await run(env);
    expect(code).toBe(78);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(`QBL_PARTITIONS`);
    expect(err).toContain(`queue "${partitionQueue(queue, P)}" exists`);
    expect(err).toContain('qbl migrate-queue');
  });

  it('when the broker holds p0 without p<P-1> (P was smaller)', async () => {
    const { env, queue } = setUp();
    await f.admin.withChannel((ch) => ch.assertQueue(partitionQueue(queue, 0), { durable: true }));
    const { code, err } = await run(env);
    expect(code).toBe(78);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(`"${partitionQueue(queue, 0)}" exists but not "${partitionQueue(queue, P - 1)}"`);
  });

  it('when an older member advertises another P in its heartbeats', async () => {
    const { env, queue } = setUp();
    const exchange = membersExchange(queue);
    await f.admin.withChannel((ch) => ch.assertExchange(exchange, 'fanout', { durable: true }));
    let seq = 0;
    const beat = setInterval(() => {
      void f.admin.publish(exchange, '', [Buffer.from(JSON.stringify({ id: 'older', seq: seq++, partitions: 2, startedAtMs: 1 }))]).catch(() => undefined);
    }, 300);
    try {
      const { code, err } = await run(env);
      expect(code).toBe(78);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toContain('QBL_PARTITIONS');
      expect(err).toContain('instance older runs with 2');
    } finally {
      clearInterval(beat);
    }
  });

  it('with the SQLite store', async () => {
    const { code, err } = await run({ QBL_PARTITIONS: '2', OPENSEARCH_URL: '', ELASTICSEARCH_URL: '', SQLITE_PATH: join(f.dir, 'q.db'), QBL_HTTP_PORT: '0' });
    expect(code).toBe(78);
    expect(err.trim()).toBe('qbl start: configuration error: QBL_PARTITIONS: expected 1 with the SQLite store (partitions need the search store: ELASTICSEARCH_URL or OPENSEARCH_URL), got "2"');
  });
});
