/**
 * Against the real RabbitMQ: a dead letter the broker cannot route (the dead-letter queue was
 * deleted, or its binding removed, while the service runs) is still confirmed by the broker; acking
 * the original then would lose the message for good. With `mandatory` the broker returns it; the consumer must then leave the batch unacked, reconnect (which re-declares the
 * dead-letter queue) and dead-letter the message again.
 */
import { BatchConsumer } from '../../consumers/amqp/batch-consumer';
import type { Verdict } from '../../consumers/batch-handler';
import { DEAD_LETTER_HEADERS as H } from '../../consumers/amqp/headers';
import { silentLogger, testAmqpConfig, testIntake, testTopology, uniqueName, waitUntil } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';

const ACK: Verdict = { action: 'ack' };

describe('review: an unroutable dead letter is never acked away', () => {
  const f = integrationFixture('unroutable');
  let consumer: BatchConsumer | undefined;

  it('a message dead-lettered while the dead-letter queue is missing ends in the re-declared queue', async () => {
    const t = testTopology('quorum');
    f.admin.track(t);
    consumer = new BatchConsumer({
      amqp: testAmqpConfig(),
      topology: t,
      intake: testIntake({ batchSize: 1, batchWaitMs: 0 }),
      handler: async (batch) => batch.map((d): Verdict => (d.body.toString() === 'bad'
        ? { action: 'dead-letter', reason: 'decode.bad_text', detail: 'not an event', stage: 'decode' }
        : ACK)),
      logger: silentLogger(),
      connectionName: uniqueName('unroutable-dl'),
      reconnect: { initialMs: 50, maxMs: 200 },
    });
    f.defer(() => consumer?.close());
    await consumer.start();

    // An operator deletes the dead-letter queue (e.g. to "purge" it) while the service runs.
    await f.admin.withChannel((ch) => ch.deleteQueue(t.deadLetterQueue));
    await f.admin.publish(t.exchange, 'qbl.invite', [Buffer.from('bad')]);

    await waitUntil(async () => {
      const exists = await f.admin.withChannel(async (ch) => { await ch.checkQueue(t.deadLetterQueue); return true; }).catch(() => false);
      return exists && (await f.admin.depth(t.deadLetterQueue)) === 1;
    }, 'the bad message in the (re-declared) dead-letter queue', 10_000);
    const [letter] = await f.admin.drain(t.deadLetterQueue);
    expect(letter!.content.toString()).toBe('bad');
    expect(letter!.properties.headers?.[H.reason]).toBe('decode.bad_text');
    expect(await f.admin.depth(t.queue)).toBe(0);
  });
});
