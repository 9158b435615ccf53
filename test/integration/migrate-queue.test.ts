/**
 * `qbl migrate-queue` on the real RabbitMQ: a queue declared by an earlier version (no
 * x-single-active-consumer) is refused by the search store's declaration with one line naming the
 * command; the command gives it the new arguments and keeps every message, also when resumed
 * after being killed between deleting and redeclaring the queue, and each message's first
 * exchange and routing key (which the consumer, dead letters and replay then use).
 */
import { ConfigError } from '../../src/errors';
import { migrateQueue, migratingQueueName, move } from '../../consumers/amqp/migrate';
import { declareTopology } from '../../consumers/amqp/topology';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { BatchConsumer } from '../../consumers/amqp/batch-consumer';
import type { Delivery, Verdict } from '../../consumers/batch-handler';
import { readDeadLetter } from '../../src/dlq/dead-letter';
import { decideReplay } from '../../src/dlq/selection';
import { delay, silentLogger, testAmqpConfig, testIntake, testTopology, uniqueName, waitUntil } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';

const NO_PROGRESS = { moving: () => undefined, moved: () => undefined };

/** Every message of a queue, consumed and acked (basic.get is refused on single-active-consumer quorum queues). */
async function consumeAll(model: ChannelModel, queue: string, count: number): Promise<ConsumeMessage[]> {
  const channel = await model.createChannel();
  const messages: ConsumeMessage[] = [];
  try {
    await channel.consume(queue, (message) => {
      if (message === null) return;
      messages.push(message);
      channel.ack(message);
    });
    await waitUntil(() => messages.length >= count, `${count} messages from ${queue}`);
    await delay(200);
    return messages;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

describe('qbl migrate-queue', () => {
  const f = integrationFixture('migrate-queue');

  test.each(['quorum', 'classic'] as const)('a %s queue without single-active-consumer gets it, with every message kept', async (queueType) => {
    const old = testTopology(queueType);
    const wanted = { ...old, consumers: 'single-active' as const };
    f.admin.track(old);
    f.admin.track({ queue: migratingQueueName(old.queue) });
    await f.admin.withChannel((channel) => declareTopology(channel, old));
    const bodies = Array.from({ length: 1200 }, (_, i) => Buffer.from(`event ${i}`));
    await f.admin.publish(old.exchange, 'opensips.qbl', bodies, { headers: { 'x-test': 'kept' } });
    await f.admin.waitForDepth(old.queue, bodies.length);

    const refused = await f.admin.withChannel((channel) => declareTopology(channel, wanted)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^QBL_QUEUE: expected queue ".*" with x-single-active-consumer .*`qbl migrate-queue` \(docs\/scaling\.md\)$/);

    const result = await migrateQueue(f.admin.model, wanted, NO_PROGRESS);
    expect(result).toEqual({ alreadyMigrated: false, moved: 2 * bodies.length });
    await f.admin.withChannel((channel) => declareTopology(channel, wanted));
    expect(await f.admin.depth(migratingQueueName(old.queue)).catch(() => -1)).toBe(-1);
    const messages = await consumeAll(f.admin.model, old.queue, bodies.length);
    expect(messages.map((m) => m.content.toString()).sort()).toEqual(bodies.map((b) => b.toString()).sort());
    expect(messages.every((m) => m.properties.headers?.['x-test'] === 'kept')).toBe(true);
    // Moved twice through the default exchange, each keeps the route OpenSIPS published it with.
    expect(messages.every((m) => m.fields.exchange === '' && m.properties.headers?.['x-qbl-original-exchange'] === old.exchange
      && m.properties.headers?.['x-qbl-original-routing-key'] === 'opensips.qbl')).toBe(true);

    // Published after the migration: routed to the queue as before.
    await f.admin.publish(old.exchange, 'opensips.qbl', [Buffer.from('after')]);
    await waitUntil(async () => (await f.admin.depth(old.queue)) === 1, 'the message published after the migration');
    expect(await migrateQueue(f.admin.model, wanted, NO_PROGRESS)).toEqual({ alreadyMigrated: true, moved: 0 });
    expect(await f.admin.depth(old.queue)).toBe(1);
  });

  test('killed after deleting the queue and before redeclaring it: run again, nothing is lost', async () => {
    const t = { ...testTopology('quorum'), consumers: 'single-active' as const };
    const temporary = migratingQueueName(t.queue);
    f.admin.track(t);
    f.admin.track({ queue: temporary });
    // The state such a kill leaves: the messages in the temporary queue, bound; no main queue.
    await f.admin.withChannel(async (channel) => {
      await channel.assertExchange(t.exchange, 'topic', { durable: true });
      await channel.assertQueue(temporary, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.bindQueue(temporary, t.exchange, t.bindingKey);
    });
    const bodies = Array.from({ length: 300 }, (_, i) => Buffer.from(`kept ${i}`));
    await f.admin.publish(t.exchange, 'opensips.qbl', bodies);
    await f.admin.waitForDepth(temporary, bodies.length);

    expect(await migrateQueue(f.admin.model, t, NO_PROGRESS)).toEqual({ alreadyMigrated: false, moved: bodies.length });
    const messages = await consumeAll(f.admin.model, t.queue, bodies.length);
    expect(messages.map((m) => m.content.toString()).sort()).toEqual(bodies.map((b) => b.toString()).sort());
    expect(messages.every((m) => m.properties.headers?.['x-qbl-original-exchange'] === t.exchange
      && m.properties.headers?.['x-qbl-original-routing-key'] === 'opensips.qbl')).toBe(true);
  });

  test('a move to a queue that is gone (deleted meanwhile) fails and acks nothing: every message stays where it was', async () => {
    const t = testTopology('quorum');
    const gone = `${t.queue}.gone`;
    f.admin.track(t);
    await f.admin.withChannel((channel) => declareTopology(channel, t));
    const bodies = Array.from({ length: 40 }, (_, i) => Buffer.from(`kept ${i}`));
    await f.admin.publish(t.exchange, 'opensips.qbl', bodies);
    await f.admin.waitForDepth(t.queue, bodies.length);

    await expect(move(f.admin.model, t.queue, gone, NO_PROGRESS)).rejects.toThrow(
      `40 of 40 message(s) could not be moved to queue "${gone}" (no such queue: was it deleted meanwhile?); that round is still in "${t.queue}"`);
    await f.admin.waitForDepth(t.queue, bodies.length);
    const messages = await consumeAll(f.admin.model, t.queue, bodies.length);
    expect(messages.map((m) => m.content.toString()).sort()).toEqual(bodies.map((b) => b.toString()).sort());
  });

  test('a moved message keeps its first route: the consumer sees it, its dead letter names it, replay goes back there', async () => {
    const old = testTopology('quorum');
    const wanted = { ...old, consumers: 'single-active' as const };
    f.admin.track(old);
    f.admin.track({ queue: migratingQueueName(old.queue) });
    await f.admin.withChannel((channel) => declareTopology(channel, old));
    await f.admin.publish(old.exchange, 'opensips.qbl', [Buffer.from('good 1'), Buffer.from('bad'), Buffer.from('good 2')]);
    await f.admin.waitForDepth(old.queue, 3);
    expect(await migrateQueue(f.admin.model, wanted, NO_PROGRESS)).toEqual({ alreadyMigrated: false, moved: 6 });

    const seen: Delivery[] = [];
    const consumer = new BatchConsumer({
      amqp: testAmqpConfig(), topology: wanted, intake: testIntake(), logger: silentLogger(), connectionName: uniqueName('migrated'),
      handler: async (batch) => batch.map((delivery): Verdict => {
        seen.push(delivery);
        return delivery.body.toString() === 'bad'
          ? { action: 'dead-letter', reason: 'decode.not_json', detail: 'not JSON', stage: 'decode' }
          : { action: 'ack' };
      }),
    });
    f.defer(() => consumer.close());
    await consumer.start();
    await f.admin.waitForDepth(wanted.deadLetterQueue, 1);
    await consumer.close();
    expect(seen.map((d) => [d.body.toString(), d.exchange, d.routingKey]).sort()).toEqual([
      ['bad', old.exchange, 'opensips.qbl'], ['good 1', old.exchange, 'opensips.qbl'], ['good 2', old.exchange, 'opensips.qbl'],
    ]);

    const [letter] = await consumeAll(f.admin.model, wanted.deadLetterQueue, 1);
    const info = readDeadLetter(letter!.properties.headers);
    expect(info).toMatchObject({ reason: 'decode.not_json', originalExchange: old.exchange, originalRoutingKey: 'opensips.qbl' });
    expect(decideReplay(info, { matches: () => true, maxReplays: 3 })).toEqual({ action: 'replay', target: { exchange: old.exchange, routingKey: 'opensips.qbl' } });
  });
});
