/**
 * The SQLite store is single-instance: its consumer is exclusive, so a second instance on the same
 * queue is refused by the real RabbitMQ (ACCESS_REFUSED) and never consumes a message; `qbl start`
 * exits at once with one line and code 75. Once the holder is gone, the next one consumes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { EXIT_QUEUE_TAKEN, QueueTakenError } from '../../src/errors';
import { Service } from '../../src/pipeline/service';
import { SqliteReader } from '../../src/stores/sqlite/sqlite-reader';
import { readSamples } from '../support/samples';
import { closeConnectionByName, silentLogger, testAmqpConfig, testIntake, testTopology, uniqueName, waitUntil } from '../support/rabbit';
import { BatchConsumer } from '../../consumers/amqp/batch-consumer';
import type { Delivery } from '../../consumers/batch-handler';
import { serviceEnv } from '../support/service-env';
import { integrationFixture } from '../support/fixture';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

function runStart(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('SQLite store: one consuming instance per queue', () => {
  const f = integrationFixture('sqlite-single', { dirPerTest: true });

  test('a second instance is refused, exits with one line, and never consumes; the first consumes everything', async () => {
    const env = serviceEnv(f.dir, 'single');
    const first = loadConfig(env);
    expect(first.topology.consumers).toBe('exclusive');
    f.admin.track(first.topology);
    const a = await Service.start({ config: first, logger: silentLogger() });
    try {
      // Same queue, its own SQLite file: in-process…
      const second = loadConfig({ ...env, SQLITE_PATH: join(f.dir, 'second.db') });
      await expect(Service.start({ config: second, logger: silentLogger() })).rejects.toBeInstanceOf(QueueTakenError);

      // …and as `qbl start`: exit 75 at once, one line naming what to use instead.
      const cli = await runStart({ ...env, SQLITE_PATH: join(f.dir, 'third.db') });
      expect(cli.code).toBe(EXIT_QUEUE_TAKEN);
      const lines = cli.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^qbl start: queue ".*" is taken: .*SQLite store is single-instance.*OPENSEARCH_URL.*hot standbys/);

      for (const message of readSamples()) await f.admin.publish(first.topology.exchange, message.routingKey, [message.body]);
      await waitUntil(async () => a.consumer.stats.acked === readSamples().length, 'the first instance to consume every message');
      expect(await f.admin.depth(first.topology.queue)).toBe(0);
    } finally {
      await a.close();
    }

    // The holder is gone: a new instance consumes (a restart, or a replacement).
    const next = await Service.start({ config: loadConfig({ ...env, SQLITE_PATH: join(f.dir, 'next.db') }), logger: silentLogger() });
    await next.close();
    const reader = SqliteReader.open(first.sqlitePath);
    try {
      expect((await reader.searchCdrs({ limit: 10 })).length).toBe(3);
    } finally {
      await reader.close();
    }
  });

  test('a reconnection finding the queue taken retries, and only past the grace gives up with the same error', async () => {
    const topology = { ...testTopology('quorum'), consumers: 'exclusive' as const };
    f.admin.track(topology);
    const handler = async (batch: readonly Delivery[]) => batch.map(() => ({ action: 'ack' as const }));
    const consumer = (name: string, graceMs: number) => new BatchConsumer({
      amqp: testAmqpConfig(), topology, intake: testIntake(), handler, logger: silentLogger(), connectionName: name,
      // A waits at least 1.5 s before reconnecting: B takes the queue meanwhile.
      reconnect: { initialMs: 1_500, maxMs: 2_000, jitter: 0 }, queueTakenGraceMs: graceMs,
    });
    const a = consumer(uniqueName('holder'), 1_000);
    await a.start();
    const fatal = new Promise<unknown>((resolve) => a.once('fatal', resolve));
    let b: BatchConsumer | undefined;
    try {
      // A's connection is cut; B, started meanwhile, takes the queue before A reconnects.
      await closeConnectionByName((a as unknown as { options: { connectionName: string } }).options.connectionName);
      await waitUntil(async () => {
        const candidate = consumer(uniqueName('taker'), 1_000);
        try {
          await candidate.start();
          b = candidate;
          return true;
        } catch (error) {
          if (!(error instanceof QueueTakenError)) throw error;
          return false;
        }
      }, 'B to take the queue', 20_000);
      const error = await fatal;
      expect(error).toBeInstanceOf(QueueTakenError);
      expect(a.stats.lastError).toMatch(/is taken/);
      await waitUntil(() => a.state === 'closed', 'A to close itself');
      expect(b!.state).toBe('connected');
    } finally {
      await a.close();
      await b?.close();
    }
  });
});

