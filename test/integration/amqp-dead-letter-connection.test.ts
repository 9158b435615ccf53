/**
 * Dead letters are published on a connection of their own: under a resource alarm the broker
 * blocks connections that publish, and the consuming connection must stay free to ack.
 * Against the real RabbitMQ; connections are found by their client-provided names.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BatchConsumer } from '../../consumers/amqp/batch-consumer';
import type { Verdict } from '../../consumers/batch-handler';
import { closeConnectionByName, silentLogger, testAmqpConfig, testIntake, testTopology, uniqueName, waitUntil } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';

const run = promisify(execFile);

async function connectionNames(): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'client_properties', '-q']);
  return [...stdout.matchAll(/\{"connection_name","([^"]+)"\}/g)].map((m) => m[1]!);
}

describe('the dead-letter connection', () => {
  const f = integrationFixture('dl-connection');
  let consumer: BatchConsumer | undefined;

  it('is separate from the consuming one, goes with it, and comes back with it', async () => {
    const t = testTopology('quorum');
    f.admin.track(t);
    const name = uniqueName('dlconn');
    const handled: string[] = [];
    consumer = new BatchConsumer({
      amqp: testAmqpConfig(), topology: t, intake: testIntake({ batchSize: 1, batchWaitMs: 0 }),
      handler: async (batch) => batch.map((d): Verdict => {
        handled.push(d.body.toString());
        return { action: 'dead-letter', reason: 'decode.bad_text', detail: 'test', stage: 'decode' };
      }),
      logger: silentLogger(), connectionName: name, reconnect: { initialMs: 50, maxMs: 200 },
    });
    f.defer(() => consumer?.close());
    await consumer.start();
    expect((await connectionNames()).filter((n) => n.startsWith(name)).sort()).toEqual([name, `${name}-dead-letters`]);

    // Losing the dead-letter connection retires the session; both come back and work.
    expect(await closeConnectionByName(`${name}-dead-letters`)).toBe(1);
    await waitUntil(() => consumer!.stats.reconnects === 1 && consumer!.stats.connected, 'the reconnection');
    await f.admin.publish(t.exchange, 'k', [Buffer.from('one')]);
    await f.admin.waitForDepth(t.deadLetterQueue, 1);
    expect((await connectionNames()).filter((n) => n.startsWith(name)).sort()).toEqual([name, `${name}-dead-letters`]);

    await consumer.close();
    consumer = undefined;
    await waitUntil(async () => (await connectionNames()).every((n) => !n.startsWith(name)), 'both connections to close');
    expect(handled).toEqual(['one']);
  });
});
