/** BatchConsumer against the real RabbitMQ: batching, ack-after-handler, dead letters, retries, poison isolation, reconnection. */
import { BatchConsumer, type BatchConsumerOptions } from '../../consumers/amqp/batch-consumer';
import type { BatchHandler, Delivery, Verdict } from '../../consumers/batch-handler';
import { contentId } from '../../consumers/amqp/content-id';
import { DEAD_LETTER_HEADERS as H } from '../../consumers/amqp/headers';
import type { TopologyConfig } from '../../src/config/config';
import { StoreUnavailableError } from '../../src/errors';
import { integrationFixture } from '../support/fixture';
import { closeConnectionByName, silentLogger, testAmqpConfig, testIntake, testTopology, uniqueName, waitUntil } from '../support/rabbit';

const ACK: Verdict = { action: 'ack' };
const bodies = (n: number, prefix = 'm'): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`${prefix}${i}`));
const text = (d: Delivery): string => d.body.toString();

describe('BatchConsumer', () => {
  const f = integrationFixture('consumer');

  async function started(t: TopologyConfig, handler: BatchHandler, overrides: Partial<BatchConsumerOptions> = {}): Promise<BatchConsumer> {
    f.admin.track(t);
    const consumer = new BatchConsumer({
      amqp: testAmqpConfig(),
      topology: t,
      intake: testIntake(),
      handler,
      logger: silentLogger(),
      connectionName: uniqueName('consumer'),
      reconnect: { initialMs: 50, maxMs: 500 },
      storeRetry: { initialMs: 10, maxMs: 50 },
      ...overrides,
    });
    f.defer(() => consumer.close());
    await consumer.start();
    return consumer;
  }

  it('hands batches of intake.batchSize when messages are waiting, in delivery order, and acks them', async () => {
    const t = testTopology('quorum');
    const batches: string[][] = [];
    const consumer = await started(t, async (batch) => {
      batches.push(batch.map(text));
      return batch.map(() => ACK);
    }, { intake: testIntake({ prefetch: 100, batchSize: 10, batchWaitMs: 10_000 }) });
    await f.admin.publish(t.exchange, 'k', bodies(30));
    await waitUntil(() => consumer.stats.acked === 30, '30 acks');
    expect(batches.map((b) => b.length)).toEqual([10, 10, 10]);
    expect(batches.flat()).toEqual(bodies(30).map(String));
    expect(consumer.stats).toMatchObject({ delivered: 30, acked: 30, batches: 3, unacked: 0, connected: true, dropped: 0 });
    await consumer.close();
    expect(await f.admin.depth(t.queue)).toBe(0);
  });

  it('hands a partial batch once its oldest message has waited batchWaitMs', async () => {
    const t = testTopology('classic');
    const batches: string[][] = [];
    const consumer = await started(t, async (batch) => {
      batches.push(batch.map(text));
      return batch.map(() => ACK);
    }, { intake: testIntake({ prefetch: 100, batchSize: 100, batchWaitMs: 300 }) });
    await f.admin.publish(t.exchange, 'k', bodies(3));
    await waitUntil(() => consumer.stats.acked === 3, '3 acks');
    expect(batches).toEqual([['m0', 'm1', 'm2']]);
    const delivered = consumer.stats.delivered;
    expect(delivered).toBe(3);
  });

  it('a stop with single-active-consumer acks the batch in flight before a standby gets the queue', async () => {
    const t = testTopology('quorum', { consumers: 'single-active' });
    const order: string[] = [];
    let release: (() => void) | undefined;
    const active = await started(t, (batch) => {
      order.push(`active:${batch.map(text).join(',')}`);
      return new Promise((resolve) => { release = () => { order.push('active:released'); resolve(batch.map(() => ACK)); }; });
    }, { intake: testIntake({ prefetch: 5, batchSize: 5, batchWaitMs: 10_000 }) });
    const standby = await started(t, async (batch) => {
      order.push(`standby:${batch.map(text).join(',')}`);
      return batch.map(() => ACK);
    }, { intake: testIntake({ prefetch: 5, batchSize: 5, batchWaitMs: 50 }) });
    await f.admin.publish(t.exchange, 'k', bodies(10));
    await waitUntil(() => release !== undefined, 'the active consumer\'s first batch');
    const closing = active.close();
    // While the active one still holds its batch, the standby gets nothing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      expect(order).toEqual(['active:m0,m1,m2,m3,m4']);
    } finally {
      release!();
    }
    await closing;
    await waitUntil(() => standby.stats.acked === 5, 'the standby to take the rest');
    expect(order).toEqual(['active:m0,m1,m2,m3,m4', 'active:released', 'standby:m5,m6,m7,m8,m9']);
    expect(active.stats.acked).toBe(5);
    expect(await f.admin.depth(t.queue)).toBe(0);
  });

  it('acks nothing before the handler resolves: a lost connection puts the whole batch back in the queue', async () => {
    const t = testTopology('quorum');
    const name = uniqueName('conn');
    let release: (() => void) | undefined;
    const seen: Delivery[][] = [];
    // The batch is cut by size, never by the timer: under load the 5 deliveries may arrive more than a few ms apart.
    const consumer = await started(t, (batch) => {
      seen.push([...batch]);
      if (seen.length === 1) return new Promise((resolve) => { release = () => resolve(batch.map(() => ACK)); });
      return Promise.resolve(batch.map(() => ACK));
    }, { connectionName: name, reconnect: { initialMs: 60_000, maxMs: 60_000 }, intake: testIntake({ batchSize: 5, batchWaitMs: 10_000 }) });
    const disconnected = new Promise((resolve) => consumer.once('disconnected', resolve));
    await f.admin.publish(t.exchange, 'k', bodies(5));
    await waitUntil(() => seen.length === 1, 'the first batch');
    expect(await closeConnectionByName(name)).toBe(1);
    await disconnected;
    expect(consumer.state).toBe('reconnecting');
    await f.admin.waitForDepth(t.queue, 5); // every message is back, none was acked
    release?.();
    await waitUntil(() => consumer.stats.dropped === 5, 'the late batch to be dropped');
    expect(consumer.stats.acked).toBe(0);
    await consumer.close();
    const back = await f.admin.drain(t.queue);
    expect(back.map((m) => m.content.toString()).sort()).toEqual(bodies(5).map(String).sort());
    expect(back.every((m) => m.fields.redelivered)).toBe(true);
  });

  it('dead letters carry the exact original body, every original header and the x-qbl-* headers', async () => {
    const t = testTopology('quorum');
    const poison = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x0a, 0x22]); // invalid UTF-8 on purpose
    const longDetail = `first line\nsecond line ${'x'.repeat(2000)}`;
    const consumer = await started(t, async (batch) => batch.map((d): Verdict => (d.body.equals(poison)
      ? { action: 'dead-letter', reason: 'decode.not_json', detail: longDetail, stage: 'decode' }
      : ACK)));
    await f.admin.publish(t.exchange, 'E_QBL_INVITE_REPLY', [Buffer.from('ok1')]);
    await f.admin.publish(t.exchange, 'E_QBL_INVITE_REPLY', [poison], { headers: { 'x-custom': 'kept', 'x-number': 42 } });
    await f.admin.publish(t.exchange, 'E_QBL_INVITE_REPLY', [Buffer.from('ok2')]);
    await waitUntil(() => consumer.stats.acked === 3, '3 settled');
    expect(consumer.stats.deadLettered).toEqual({ 'decode.not_json': 1 });
    await f.admin.waitForDepth(t.deadLetterQueue, 1);
    const [dead] = await f.admin.drain(t.deadLetterQueue);
    expect(dead.content.equals(poison)).toBe(true);
    expect(dead.fields.routingKey).toBe('E_QBL_INVITE_REPLY');
    expect(dead.properties.deliveryMode).toBe(2);
    expect(dead.properties.messageId).toBe(contentId(t.exchange, 'E_QBL_INVITE_REPLY', poison));
    const headers = dead.properties.headers ?? {};
    expect(headers).toMatchObject({
      'x-custom': 'kept',
      'x-number': 42,
      [H.reason]: 'decode.not_json',
      [H.stage]: 'decode',
      [H.originalExchange]: t.exchange,
      [H.originalRoutingKey]: 'E_QBL_INVITE_REPLY',
    });
    const detail = String(headers[H.detail]);
    expect(detail.startsWith('first line second line xxx')).toBe(true);
    expect(detail).not.toContain('\n');
    expect(detail.length).toBeLessThanOrEqual(500);
    expect(String(headers[H.failedAt])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await consumer.close();
    expect(await f.admin.depth(t.queue)).toBe(0);
  });

  it('StoreUnavailableError: the same batch is retried until the store is back, then acked; nothing lost or doubled', async () => {
    const t = testTopology('quorum');
    const calls: string[][] = [];
    const committed = new Map<string, number>();
    let failuresLeft = 3;
    const consumer = await started(t, async (batch) => {
      calls.push(batch.map(text));
      if (failuresLeft-- > 0) throw new StoreUnavailableError('database is locked');
      for (const d of batch) committed.set(text(d), (committed.get(text(d)) ?? 0) + 1);
      return batch.map(() => ACK);
    }, { intake: testIntake({ batchSize: 8, batchWaitMs: 10_000 }) });
    await f.admin.publish(t.exchange, 'k', bodies(8));
    await waitUntil(() => consumer.stats.acked === 8, '8 acks');
    expect(calls).toHaveLength(4);
    for (const call of calls) expect(call).toEqual(bodies(8).map(String));
    expect([...committed.values()]).toEqual(Array(8).fill(1));
    expect(consumer.stats).toMatchObject({ retries: 3, batches: 1, delivered: 8, dropped: 0 });
    expect(consumer.stats.lastError).toContain('database is locked');
    await consumer.close();
    expect(await f.admin.depth(t.queue)).toBe(0);
    expect(await f.admin.depth(t.deadLetterQueue)).toBe(0);
  });

  it('a handler bug on one message: that one is dead-lettered as process.failed, the rest are acked', async () => {
    const t = testTopology('classic');
    const committed: string[] = [];
    const consumer = await started(t, async (batch) => {
      if (batch.some((d) => text(d) === 'poison')) throw new TypeError('cannot read properties of undefined');
      committed.push(...batch.map(text));
      return batch.map(() => ACK);
    }, { intake: testIntake({ batchSize: 5, batchWaitMs: 10_000 }) });
    await f.admin.publish(t.exchange, 'k', [...bodies(2), Buffer.from('poison'), ...bodies(2, 'n')]);
    await waitUntil(() => consumer.stats.acked === 5, '5 settled');
    expect(committed).toEqual(['m0', 'm1', 'n0', 'n1']);
    expect(consumer.stats.deadLettered).toEqual({ 'process.failed': 1 });
    await f.admin.waitForDepth(t.deadLetterQueue, 1);
    const [dead] = await f.admin.drain(t.deadLetterQueue);
    expect(dead.content.toString()).toBe('poison');
    expect(dead.properties.headers).toMatchObject({
      [H.reason]: 'process.failed', [H.stage]: 'correlate', [H.detail]: 'TypeError: cannot read properties of undefined',
    });
    await consumer.close();
    expect(await f.admin.depth(t.queue)).toBe(0);
  });

  it('the quorum delivery limit dead-letters a message redelivered too often (x-death), and x-death survives our own dead-lettering', async () => {
    const t = testTopology('quorum', { deliveryLimit: 2 });
    f.admin.track(t);
    // Declare through the consumer, then stop it so a raw channel can nack-requeue the message.
    const declaring = await started(t, async (batch) => batch.map(() => ACK));
    await declaring.close();
    await f.admin.publish(t.exchange, 'E_QBL_BYE_REQUEST', [Buffer.from('too often')]);
    await f.admin.withChannel(async (ch) => {
      for (let i = 0; i < 10; i++) {
        const m = await ch.get(t.queue);
        if (m === false) break;
        ch.nack(m, false, true);
      }
    });
    await f.admin.waitForDepth(t.deadLetterQueue, 1);
    expect(await f.admin.depth(t.queue)).toBe(0);
    const [limited] = await f.admin.drain(t.deadLetterQueue);
    expect(limited.content.toString()).toBe('too often');
    const xDeath = limited.properties.headers?.['x-death'] as unknown as Array<Record<string, unknown>>;
    expect(xDeath[0]).toMatchObject({ queue: t.queue, reason: 'delivery_limit' });

    // Replayed into the main exchange with its headers, then rejected by us: x-death is kept.
    const consumer = await started(t, async (batch) => batch.map((): Verdict => ({
      action: 'dead-letter', reason: 'decode.bad_time', detail: 'no time', stage: 'decode',
    })));
    await f.admin.publish(t.exchange, 'E_QBL_BYE_REQUEST', [limited.content], { headers: limited.properties.headers });
    await waitUntil(() => consumer.stats.acked === 1, 'the replayed message');
    await f.admin.waitForDepth(t.deadLetterQueue, 1);
    const [again] = await f.admin.drain(t.deadLetterQueue);
    expect(again.properties.headers?.['x-death']).toEqual(xDeath.map((d) => expect.objectContaining({ queue: d.queue, reason: d.reason })));
    expect(again.properties.headers?.[H.reason]).toBe('decode.bad_time');
  });

  it('reconnects after the broker closes the connection and handles every message, none lost', async () => {
    const t = testTopology('quorum');
    const name = uniqueName('conn');
    const handled = new Set<string>();
    let closedOnce = false;
    const events: string[] = [];
    const consumer = await started(t, async (batch) => {
      if (!closedOnce) {
        closedOnce = true;
        await closeConnectionByName(name); // mid-batch: this batch can no longer be acked
      }
      for (const d of batch) handled.add(text(d));
      return batch.map(() => ACK);
    }, { connectionName: name, intake: testIntake({ prefetch: 20, batchSize: 10, batchWaitMs: 10 }) });
    consumer.on('connected', () => events.push('connected')).on('disconnected', () => events.push('disconnected'));
    await f.admin.publish(t.exchange, 'k', bodies(50));
    await waitUntil(() => consumer.stats.reconnects === 1 && consumer.state === 'connected', 'the reconnection');
    await f.admin.publish(t.exchange, 'k', bodies(20, 'after'));
    await waitUntil(() => handled.size === 70 && consumer.stats.unacked === 0, 'all 70 messages handled');
    expect(events).toEqual(['disconnected', 'connected']);
    expect(consumer.stats.dropped).toBeGreaterThan(0);
    expect(consumer.stats.connected).toBe(true);
    await consumer.close();
    expect(await f.admin.depth(t.queue)).toBe(0);
    expect(consumer.state).toBe('closed');
  });

  it('close() is idempotent, lets the in-flight batch finish and be acked, and leaves the rest in the queue', async () => {
    const t = testTopology('classic');
    let release: (() => void) | undefined;
    let calls = 0;
    const consumer = await started(t, (batch) => {
      calls++;
      return new Promise((resolve) => { release = () => resolve(batch.map(() => ACK)); });
    }, { intake: testIntake({ prefetch: 50, batchSize: 5, batchWaitMs: 10_000 }) });
    await f.admin.publish(t.exchange, 'k', bodies(20));
    await waitUntil(() => calls === 1 && consumer.stats.delivered === 20, 'the first batch and all deliveries');
    const first = consumer.close();
    const second = consumer.close();
    expect(second).toBe(first);
    expect(consumer.state).toBe('closing');
    release?.();
    await first;
    expect(calls).toBe(1);
    expect(consumer.stats.acked).toBe(5);
    expect(await f.admin.depth(t.queue)).toBe(15);
  });
});
