/**
 * Dead letters are published on a connection of their own: under a resource alarm the broker
 * blocks connections that publish, and the consuming connection must stay free to ack.
 * Against the real RabbitMQ; connections are found by their client-provided names.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BatchConsumer } from '../../consumers/amqp/batch-consumer';
import type { Verdict } from '../../consumers/batch-handler';
import { RabbitAdmin, closeConnectionByName, silentLogger, testAmqpConfig, testIntake, testTopology, uniqueName, waitUntil } from '../support/rabbit';

const run = promisify(execFile);

async function connectionNames(): Promise<string[]> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'client_properties', '-q']);
  return [...stdout.matchAll(/\{"connection_name","([^"]+)"\}/g)].map((m) => m[1]!);
}

describe('the dead-letter connection', () => {
  let admin: RabbitAdmin;
  let consumer: BatchConsumer | undefined;

  beforeAll(async () => {
    admin = await RabbitAdmin.open();
  });
  afterEach(async () => {
    await consumer?.close();
    consumer = undefined;
    await admin.cleanup();
  });
  afterAll(() => admin.close());

  it('is separate from the consuming one, goes with it, and comes back with it', async () => {
    const t = testTopology('quorum');
    admin.track(t);
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
    await consumer.start();
    expect((await connectionNames()).filter((n) => n.startsWith(name)).sort()).toEqual([name, `${name}-dead-letters`]);

    // Losing the dead-letter connection retires the session; both come back and work.
    expect(await closeConnectionByName(`${name}-dead-letters`)).toBe(1);
    await waitUntil(() => consumer!.stats.reconnects === 1 && consumer!.stats.connected, 'the reconnection');
    await admin.publish(t.exchange, 'k', [Buffer.from('one')]);
    await admin.waitForDepth(t.deadLetterQueue, 1);
    expect((await connectionNames()).filter((n) => n.startsWith(name)).sort()).toEqual([name, `${name}-dead-letters`]);

    await consumer.close();
    consumer = undefined;
    await waitUntil(async () => (await connectionNames()).every((n) => !n.startsWith(name)), 'both connections to close');
    expect(handled).toEqual(['one']);
  });
});
