/** connectAmqp and ConfirmPublisher against the real RabbitMQ; secrets never reach an error message. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AmqpConnectionError, connectAmqp } from '../../consumers/amqp/connection';
import { ConfirmPublisher } from '../../consumers/amqp/publisher';
import { silentLogger, testAmqpConfig, testTopology, uniqueName } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';

const run = promisify(execFile);

describe('connectAmqp', () => {
  it('sends the connection name and the configured heartbeat', async () => {
    const name = uniqueName('conn');
    const model = await connectAmqp(testAmqpConfig({ heartbeatS: 7 }), silentLogger(), { connectionName: name });
    try {
      const { stdout } = await run('rabbitmqctl', ['list_connections', 'timeout', 'client_properties', '-q']);
      const line = stdout.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
      expect(line?.split('\t')[0]).toBe('7');
    } finally {
      await model.close();
    }
  });

  it('a refused login fails with a redacted AmqpConnectionError', async () => {
    const secret = 'S3cret-Pa55word';
    const url = `amqp://guest:${secret}@127.0.0.1:5672`;
    const error = await connectAmqp({ url, urlForLogs: 'amqp://guest:***@127.0.0.1:5672', heartbeatS: 30 }, silentLogger())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmqpConnectionError);
    const text = `${(error as Error).message} ${(error as Error).stack ?? ''}`;
    expect(text).toContain('amqp://guest:***@127.0.0.1:5672');
    expect(text).toMatch(/ACCESS_REFUSED|403/);
    expect(text).not.toContain(secret);
  });

  it('an unreachable broker fails with a redacted error', async () => {
    const url = 'amqp://guest:topsecret@127.0.0.1:1';
    await expect(connectAmqp({ url, urlForLogs: 'amqp://guest:***@127.0.0.1:1', heartbeatS: 30 }, silentLogger()))
      .rejects.toThrow(/^AMQP connection to amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1 failed: .*ECONNREFUSED/);
  });
});

describe('ConfirmPublisher', () => {
  const f = integrationFixture('publisher');

  it('resolves every publish on confirm, keeps at most maxOutstanding unconfirmed, and sets no properties by default', async () => {
    const queue = uniqueName('pub');
    await f.admin.withChannel((ch) => ch.assertQueue(queue, { durable: false }));
    const publisher = await ConfirmPublisher.open(testAmqpConfig(), silentLogger(), { maxOutstanding: 10 });
    try {
      let maxSeen = 0;
      const all = Array.from({ length: 200 }, (_, i) => {
        const p = publisher.publish('', queue, Buffer.from(`m${i}`));
        maxSeen = Math.max(maxSeen, publisher.pending);
        return p;
      });
      const sampler = setInterval(() => { maxSeen = Math.max(maxSeen, publisher.pending); }, 1);
      await Promise.all(all);
      clearInterval(sampler);
      expect(maxSeen).toBeLessThanOrEqual(10);
      expect(publisher.pending).toBe(0);
      expect(await f.admin.depth(queue)).toBe(200);
      const [first] = await f.admin.drain(queue);
      expect(first.content.toString()).toBe('m0');
      const props = first.properties;
      expect([props.contentType, props.contentEncoding, props.deliveryMode, props.messageId, props.timestamp])
        .toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(Object.keys(props.headers ?? {})).toEqual([]);
    } finally {
      await publisher.close();
      await f.admin.withChannel((ch) => ch.deleteQueue(queue));
    }
  });

  it('honours caller options (persistent, headers)', async () => {
    const t = testTopology('classic');
    f.admin.track(t);
    await f.admin.withChannel(async (ch) => {
      await ch.assertExchange(t.exchange, 'topic', { durable: false });
      await ch.assertQueue(t.queue, { durable: false });
      await ch.bindQueue(t.queue, t.exchange, '#');
    });
    const publisher = await ConfirmPublisher.open(testAmqpConfig(), silentLogger());
    await publisher.publish(t.exchange, 'r.k', Buffer.from('x'), { persistent: true, headers: { a: 'b' } });
    await publisher.close();
    await f.admin.waitForDepth(t.queue, 1);
    const [m] = await f.admin.drain(t.queue);
    expect([m.fields.routingKey, m.properties.deliveryMode, m.properties.headers]).toEqual(['r.k', 2, { a: 'b' }]);
  });

  it('mandatory: each returned message is matched to its own publish, among many in flight (duplicates included)', async () => {
    const t = testTopology('classic');
    f.admin.track(t);
    await f.admin.withChannel(async (ch) => {
      await ch.assertExchange(t.exchange, 'topic', { durable: false });
      await ch.assertQueue(t.queue, { durable: false });
      await ch.bindQueue(t.queue, t.exchange, 'routed');
    });
    const publisher = await ConfirmPublisher.open(testAmqpConfig(), silentLogger(), { maxOutstanding: 8 });
    try {
      const messages = Array.from({ length: 60 }, (_, i) => ({ key: i % 3 === 0 ? 'nowhere' : 'routed', body: `m${i}` }));
      // Every fifth message repeats the one before: identical mandatory messages must not be confused.
      for (let i = 4; i < messages.length; i += 5) messages[i] = messages[i - 1]!;
      const outcomes = await Promise.all(messages.map(({ key, body }) =>
        publisher.publish(t.exchange, key, Buffer.from(body), { mandatory: true })));
      expect(outcomes).toEqual(messages.map(({ key }) => (key === 'routed' ? 'confirmed' : 'unroutable')));
      const routed = messages.filter(({ key }) => key === 'routed').length;
      await f.admin.waitForDepth(t.queue, routed);
    } finally {
      await publisher.close();
    }
  });

  it('a publish to a missing exchange rejects, later publishes reject too, and close() still resolves', async () => {
    const publisher = await ConfirmPublisher.open(testAmqpConfig(), silentLogger());
    await expect(publisher.publish(uniqueName('missing'), 'k', Buffer.from('x'))).rejects.toThrow();
    await expect(publisher.publish('', 'k', Buffer.from('y'))).rejects.toThrow(/closed|NOT_FOUND/);
    await publisher.close();
    await publisher.close();
  });
});
