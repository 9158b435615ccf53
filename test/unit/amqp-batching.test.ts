/**
 * Batching without a broker: batches are sequential, due by size or age, and never mix channels
 * (a multiple-ack covers every earlier tag of its channel, so a mixed batch could ack what was
 * never processed).
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { Batcher, sameChannelRun, type Received } from '../../consumers/amqp/batching';
import type { Link } from '../../consumers/amqp/session';

function received(channel: Channel, link: Link, tag: number): Received {
  return {
    delivery: { body: Buffer.from(String(tag)), exchange: 'x', routingKey: 'k', headers: {}, redelivered: false, receivedAtUs: 0 },
    message: { fields: { deliveryTag: tag } } as unknown as ConsumeMessage,
    link, channel, receivedAtMs: 0,
  };
}

const oldChannel = { name: 'old' } as unknown as Channel;
const newChannel = { name: 'new' } as unknown as Channel;
const oldLink = { dead: true } as unknown as Link;
const newLink = { dead: false } as unknown as Link;

describe('batching', () => {
  test('a batch is the leading run of one channel, at most the batch size', () => {
    const pending = [received(oldChannel, oldLink, 1), received(oldChannel, oldLink, 2), received(newChannel, newLink, 1), received(newChannel, newLink, 2)];
    expect(sameChannelRun(pending, 10)).toBe(2);
    expect(sameChannelRun(pending, 1)).toBe(1);
    expect(sameChannelRun(pending.slice(2), 10)).toBe(2);
    expect(sameChannelRun([], 10)).toBe(0);
  });

  test('deliveries left by a lost link and those of the next link are settled in separate batches', async () => {
    const batches: Array<Array<[string, number]>> = [];
    const batcher = new Batcher({
      batchSize: 10, batchWaitMs: 0,
      settle: async (batch) => {
        batches.push(batch.map((r) => [(r.channel as unknown as { name: string }).name, r.message.fields.deliveryTag]));
      },
      onSettleError: (error) => { throw error; },
    });
    // The first batch is in flight while the rest arrives, so the rest waits together.
    batcher.add(received(oldChannel, oldLink, 1));
    batcher.add(received(oldChannel, oldLink, 2));
    batcher.add(received(newChannel, newLink, 1));
    batcher.add(received(newChannel, newLink, 2));
    batcher.add(received(newChannel, newLink, 3));
    for (let i = 0; i < 10 && batches.flat().length < 5; i++) await batcher.idle().then(() => new Promise((r) => setImmediate(r)));
    expect(batches).toEqual([[['old', 1]], [['old', 2]], [['new', 1], ['new', 2], ['new', 3]]]);
  });
});
