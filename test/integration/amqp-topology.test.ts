/** declareTopology against the real RabbitMQ: both queue types, idempotence, conflicts, routing. */
import type { ChannelModel } from 'amqplib';
import { connectAmqp } from '../../consumers/amqp/connection';
import { declareTopology } from '../../consumers/amqp/topology';
import { ConfigError } from '../../src/errors';
import { silentLogger, testAmqpConfig, testTopology } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';

describe('declareTopology', () => {
  const f = integrationFixture('topology');
  let model: ChannelModel;

  beforeAll(async () => {
    model = await connectAmqp(testAmqpConfig(), silentLogger(), { connectionName: 'qbl-test-topology' });
    f.defer(() => model.close());
  });

  async function declare(t: Parameters<typeof declareTopology>[1]): Promise<void> {
    const channel = await model.createChannel();
    try {
      await declareTopology(channel, t);
    } finally {
      await channel.close().catch(() => undefined); // already closed by the broker after a 406
    }
  }

  it.each(['quorum', 'classic'] as const)('declares a %s topology idempotently and routes any routing key to the queue', async (type) => {
    const t = testTopology(type);
    f.admin.track(t);
    await declare(t);
    await declare(t); // same arguments: no error
    await f.admin.publish(t.exchange, 'E_QBL_INVITE_REQUEST', [Buffer.from('a')]);
    await f.admin.publish(t.exchange, 'some.other.key', [Buffer.from('b')]);
    await f.admin.publish(t.exchange, '', [Buffer.from('c')]);
    await f.admin.waitForDepth(t.queue, 3);
    expect((await f.admin.drain(t.queue)).map((m) => m.content.toString()).sort()).toEqual(['a', 'b', 'c']);
    // Dead letters keep their routing key through the topic DLX into the DLQ.
    await f.admin.publish(t.deadLetterExchange, 'E_QBL_BYE_REQUEST', [Buffer.from('d')]);
    const dead = await (async () => { await f.admin.waitForDepth(t.deadLetterQueue, 1); return f.admin.drain(t.deadLetterQueue); })();
    expect(dead.map((m) => [m.fields.routingKey, m.content.toString()])).toEqual([['E_QBL_BYE_REQUEST', 'd']]);
  });

  it('respects the binding key', async () => {
    const t = testTopology('classic', { bindingKey: 'qbl.*' });
    f.admin.track(t);
    await declare(t);
    await f.admin.publish(t.exchange, 'qbl.invite', [Buffer.from('in')]);
    await f.admin.publish(t.exchange, 'other', [Buffer.from('out')]);
    await f.admin.waitForDepth(t.queue, 1);
    expect((await f.admin.drain(t.queue)).map((m) => m.content.toString())).toEqual(['in']);
  });

  it('the quorum queue has the delivery limit we asked for (a different limit conflicts)', async () => {
    const t = testTopology('quorum', { deliveryLimit: 5 });
    f.admin.track(t);
    await declare(t);
    const error = await declare({ ...t, deliveryLimit: 6 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('QBL_QUEUE_TYPE');
    expect((error as Error).message).toContain(t.queue);
    expect((error as Error).message).toMatch(/x-delivery-limit.*received '6' but current is '5'/);
  });

  it('a queue that exists as the other type fails with one clear error naming QBL_QUEUE_TYPE and what exists', async () => {
    const t = testTopology('classic');
    f.admin.track(t);
    await declare(t);
    const error = await declare({ ...t, queueType: 'quorum' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^QBL_QUEUE_TYPE: expected queue ".*" \(QBL_QUEUE\) declared as a durable quorum queue/);
    expect(message).toContain('but current is none'); // the broker's own words about what exists
    expect(message.split('\n')).toHaveLength(1);
    // And the other way round: a quorum queue re-declared as classic.
    const q = testTopology('quorum');
    f.admin.track(q);
    await declare(q);
    await expect(declare({ ...q, queueType: 'classic' })).rejects.toThrow(/QBL_QUEUE_TYPE.*current is/);
  });

  it('an exchange that exists with another type names QBL_EXCHANGE', async () => {
    const t = testTopology('classic');
    f.admin.track(t);
    await f.admin.withChannel((ch) => ch.assertExchange(t.exchange, 'fanout', { durable: true }));
    await expect(declare(t)).rejects.toThrow(/^QBL_EXCHANGE: expected a durable topic exchange/);
  });

  it('the dead-letter queue is a classic queue (no delivery limit): 30 peeks with requeue lose nothing', async () => {
    const t = testTopology('quorum');
    f.admin.track(t);
    await declare(t);
    await f.admin.publish(t.deadLetterExchange, 'k', [Buffer.from('keep me')]);
    await f.admin.waitForDepth(t.deadLetterQueue, 1);
    await f.admin.withChannel(async (ch) => {
      for (let i = 0; i < 30; i++) {
        const m = await ch.get(t.deadLetterQueue);
        if (m === false) throw new Error(`lost after ${i} peeks`);
        ch.nack(m, false, true);
      }
    });
    await f.admin.waitForDepth(t.deadLetterQueue, 1);
    // A quorum DLQ declaration of the same name conflicts: proves it is not a quorum queue.
    const error = await f.admin.withChannel((ch) => ch.assertQueue(t.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }))
      .catch((e: unknown) => e);
    expect(String(error)).toContain('PRECONDITION_FAILED');
  });
});
