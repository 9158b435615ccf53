/**
 * The dead-letter tools against the real RabbitMQ: each test declares its own topology (random
 * names, via declareTopology), seeds the dead-letter queue the way the consumer and the broker do,
 * and deletes everything afterwards.
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import type { TopologyConfig } from '../../src/config/config';
import { declareTopology } from '../../consumers/amqp/topology';
import { buildDeadLetter } from '../../consumers/amqp/dead-letter';
import type { DeadLetterReason } from '../../src/errors';
import { reasonMatcher } from '../../src/dlq/selection';
import { readDeadLetter } from '../../src/dlq/dead-letter';
import {
  collectStats, countMatching, peekDeadLetters, purgeDeadLetters, replayDeadLetters, REPLAY_WINDOW, type ReplayOptions,
} from '../../src/dlq/tools';
import type { PeekedMessage } from '../../src/dlq/preview';
import { command } from '../../src/cli/commands/dlq';
import { integrationFixture } from '../support/fixture';
import { RABBIT_URL } from '../support/rabbit';

const HOUR_US = 3_600_000_000;

function topologyFor(id: string, queueType: 'classic' | 'quorum' = 'classic'): TopologyConfig {
  return {
    exchange: `t.dlq.${id}`, queue: `t.dlq.${id}.events`, queueType, bindingKey: '#', deliveryLimit: 1,
    deadLetterExchange: `t.dlq.${id}.dlx`, deadLetterQueue: `t.dlq.${id}.dead`,
  };
}

const fixture = integrationFixture('dlq');

interface Fixture {
  readonly t: TopologyConfig;
  readonly connection: amqp.ChannelModel;
  readonly channel: amqp.ConfirmChannel;
}

/** A topology of its own, declared as the service does, on the fixture's connection. */
async function setUp(queueType: 'classic' | 'quorum' = 'classic'): Promise<Fixture> {
  const t = topologyFor(randomBytes(6).toString('hex'), queueType);
  fixture.admin.track(t);
  await fixture.admin.withChannel((ch) => declareTopology(ch, t));
  const connection = fixture.admin.model;
  const channel = await connection.createConfirmChannel();
  fixture.defer(() => channel.close().catch(() => undefined));
  return { t, connection, channel };
}

/** Dead-letters a body the way the consumer does: unchanged body, x-qbl-* headers, to the DLX. */
async function deadLetter(f: Fixture, body: string, reason: DeadLetterReason, failedAtUs = Date.now() * 1000, headers: Record<string, unknown> = {}, routingKey = 'E_ACC_CDR'): Promise<void> {
  const letter = buildDeadLetter({ body: Buffer.from(body), exchange: f.t.exchange, routingKey, headers }, { reason, detail: `bad ${body}`, stage: 'decode' }, failedAtUs);
  f.channel.publish(f.t.deadLetterExchange, letter.routingKey, letter.body, letter.options);
  await f.channel.waitForConfirms();
}

const bodies = (messages: amqp.Message[]) => messages.map((m) => m.content.toString()).sort();
const replayAll = (extra: Partial<ReplayOptions> = {}): ReplayOptions => ({
  rules: { matches: reasonMatcher(undefined), maxReplays: 5 }, limit: Number.MAX_SAFE_INTEGER, dryRun: false, ...extra,
});

describe('qbl dlq against RabbitMQ', () => {
  let f: Fixture | undefined;

  it('stats and peek read without consuming, grouped by reason and age', async () => {
    f = await setUp();
    const nowUs = Date.now() * 1000;
    await deadLetter(f, 'a', 'decode.not_json', nowUs - 10);
    await deadLetter(f, 'b', 'decode.not_json', nowUs - 2 * HOUR_US);
    await deadLetter(f, 'c', 'decode.not_json', nowUs - 30 * 24 * HOUR_US);
    await deadLetter(f, 'd', 'decode.no_call_id', nowUs - 3 * 24 * HOUR_US);
    await deadLetter(f, 'e', 'decode.no_call_id', nowUs - 3 * 24 * HOUR_US);

    const stats = await collectStats(f.connection, f.t.deadLetterQueue, nowUs);
    expect(stats.total).toBe(5);
    expect(stats.byAge).toEqual({ '<1h': 1, '<1d': 1, '<7d': 2, older: 1, unknown: 0 });
    expect(stats.byReason.get('decode.not_json')?.count).toBe(3);
    expect(stats.byReason.get('decode.no_call_id')?.byAge['<7d']).toBe(2);
    expect(stats.oldestUs).toBe(nowUs - 30 * 24 * HOUR_US);
    expect(await fixture.admin.depth(f.t.deadLetterQueue)).toBe(5);

    const shown: PeekedMessage[] = [];
    const peek = await peekDeadLetters(f.connection, f.t.deadLetterQueue, { limit: 5, matches: reasonMatcher('decode.no_call_id') }, (m) => shown.push(m));
    expect(peek.shown).toBe(2);
    expect(shown.map((m) => [m.body.toString(), m.info.reason, m.info.originalExchange, m.info.detail]))
      .toEqual([['d', 'decode.no_call_id', f.t.exchange, 'bad d'], ['e', 'decode.no_call_id', f.t.exchange, 'bad e']]);
    const limited: PeekedMessage[] = [];
    await peekDeadLetters(f.connection, f.t.deadLetterQueue, { limit: 1, matches: reasonMatcher(undefined) }, (m) => limited.push(m));
    expect(limited.map((m) => m.body.toString())).toEqual(['a']);

    // Everything is still there, unchanged and in the original order.
    expect(bodies(await fixture.admin.drain(f.t.deadLetterQueue))).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('replay moves exactly the selected messages, confirmed, with the replay headers', async () => {
    f = await setUp();
    await deadLetter(f, '{"n":1}', 'decode.unknown_event', undefined, { 'x-origin': 'opensips-1' });
    await deadLetter(f, '{"n":2}', 'decode.not_json');
    await deadLetter(f, '{"n":3}', 'decode.unknown_event');
    await deadLetter(f, '{"n":4}', 'store.rejected');

    const outcomes: string[] = [];
    const summary = await replayDeadLetters(f.connection, f.t.deadLetterQueue,
      replayAll({ rules: { matches: reasonMatcher('decode.unknown_event'), maxReplays: 5 } }), { onMessage: (o) => outcomes.push(o) });
    expect(summary).toMatchObject({ depth: 4, scanned: 4, replayed: 2, failed: 0, skipped: { reason: 2, max_replays: 0, no_target: 0 } });
    expect(outcomes.sort()).toEqual(['reason', 'reason', 'replayed', 'replayed']);

    const replayed = await fixture.admin.drain(f.t.queue);
    expect(bodies(replayed)).toEqual(['{"n":1}', '{"n":3}']);
    const first = replayed.find((m) => m.content.toString() === '{"n":1}')!;
    const headers = first.properties.headers!;
    expect(first.fields.exchange).toBe(f.t.exchange);
    expect(first.fields.routingKey).toBe('E_ACC_CDR');
    expect(headers['x-qbl-replay-count']).toBe(1);
    expect(headers['x-qbl-last-reason']).toBe('decode.unknown_event');
    expect(headers['x-origin']).toBe('opensips-1');
    for (const gone of ['x-qbl-reason', 'x-qbl-detail', 'x-qbl-stage', 'x-qbl-failed-at']) expect(headers[gone]).toBeUndefined();
    expect(first.properties.messageId).toMatch(/^[0-9a-f]{40}$/);

    expect(bodies(await fixture.admin.drain(f.t.deadLetterQueue))).toEqual(['{"n":2}', '{"n":4}']);
  });

  it('--limit, --dry-run and --to-exchange', async () => {
    f = await setUp();
    for (const n of [1, 2, 3]) await deadLetter(f, `m${n}`, 'decode.bad_time');

    const dry = await replayDeadLetters(f.connection, f.t.deadLetterQueue, replayAll({ dryRun: true }));
    expect(dry.replayed).toBe(3);
    expect([...dry.byTarget.values()]).toEqual([3]);
    expect(await fixture.admin.depth(f.t.deadLetterQueue)).toBe(3);
    expect(await fixture.admin.depth(f.t.queue)).toBe(0);

    const limited = await replayDeadLetters(f.connection, f.t.deadLetterQueue, replayAll({ limit: 2 }));
    expect(limited.replayed).toBe(2);
    expect(bodies(await fixture.admin.drain(f.t.queue))).toEqual(['m1', 'm2']);

    const other = `${f.t.exchange}.other`;
    const otherQueue = `${f.t.queue}.other`;
    fixture.admin.track({ exchange: other, queue: otherQueue });
    await f.channel.assertExchange(other, 'direct', { durable: false, autoDelete: false });
    await f.channel.assertQueue(otherQueue, { durable: false });
    await f.channel.bindQueue(otherQueue, other, 'fixed');
    const moved = await replayDeadLetters(f.connection, f.t.deadLetterQueue,
      replayAll({ rules: { matches: reasonMatcher(undefined), maxReplays: 5, target: { exchange: other, routingKey: 'fixed' } } }));
    expect(moved.replayed).toBe(1);
    expect(bodies(await fixture.admin.drain(otherQueue))).toEqual(['m3']);
    expect(await fixture.admin.depth(f.t.deadLetterQueue)).toBe(0);
  });

  it('leaves a message in place when its target cannot take it', async () => {
    f = await setUp();
    await deadLetter(f, 'x', 'decode.bad_field');
    const unroutable = await replayDeadLetters(f.connection, f.t.deadLetterQueue,
      replayAll({ rules: { matches: reasonMatcher(undefined), maxReplays: 5, target: { exchange: f.t.deadLetterExchange.replace('.dlx', '.nowhere'), routingKey: 'k' } } }));
    expect(unroutable).toMatchObject({ replayed: 0, failed: 1 });
    // A direct exchange with no binding for the key: the broker confirms but returns it.
    const lonely = `${f.t.exchange}.lonely`;
    fixture.admin.track({ exchange: lonely });
    await f.channel.assertExchange(lonely, 'direct', { durable: false });
    const returned = await replayDeadLetters(f.connection, f.t.deadLetterQueue,
      replayAll({ rules: { matches: reasonMatcher(undefined), maxReplays: 5, target: { exchange: lonely, routingKey: 'k' } } }));
    expect(returned).toMatchObject({ replayed: 0, failed: 1 });
    const left = await fixture.admin.drain(f.t.deadLetterQueue);
    expect(bodies(left)).toEqual(['x']);
    expect(left[0]!.properties.headers!['x-qbl-reason']).toBe('decode.bad_field');
  });

  it('--max-replays stops a message that keeps failing', async () => {
    f = await setUp();
    await deadLetter(f, 'loop', 'decode.unknown_event');
    const rules = { matches: reasonMatcher(undefined), maxReplays: 2 };
    for (let round = 1; round <= 2; round += 1) {
      expect((await replayDeadLetters(f.connection, f.t.deadLetterQueue, replayAll({ rules }))).replayed).toBe(1);
      // The service fails on it again and dead-letters it, keeping its headers.
      const [again] = await fixture.admin.drain(f.t.queue);
      expect(again!.properties.headers!['x-qbl-replay-count']).toBe(round);
      await deadLetter(f, 'loop', 'decode.unknown_event', undefined, again!.properties.headers);
    }
    const third = await replayDeadLetters(f.connection, f.t.deadLetterQueue, replayAll({ rules }));
    expect(third).toMatchObject({ replayed: 0, skipped: { max_replays: 1 } });
    const [stuck] = await fixture.admin.drain(f.t.deadLetterQueue);
    expect(readDeadLetter(stuck!.properties.headers)).toMatchObject({ reason: 'decode.unknown_event', replayCount: 2, lastReason: 'decode.unknown_event' });
  });

  it('shows and replays what the broker dead-lettered at the delivery limit, keeping x-death', async () => {
    f = await setUp('quorum');
    const rejectUntilDeadLettered = async () => {
      const ch = await f!.connection.createChannel();
      for (let i = 0; i < 10 && (await fixture.admin.depth(f!.t.deadLetterQueue)) === 0; i += 1) {
        const m = await ch.get(f!.t.queue, { noAck: false });
        if (m) ch.nack(m, false, true);
        await new Promise((resolve) => setTimeout(resolve, 20)); // dead-lettering is asynchronous
      }
      await ch.close();
    };
    f.channel.publish(f.t.exchange, 'E_DIALOG', Buffer.from('poison'), { persistent: true });
    await f.channel.waitForConfirms();
    await rejectUntilDeadLettered();

    const shown: PeekedMessage[] = [];
    await peekDeadLetters(f.connection, f.t.deadLetterQueue, { limit: 10, matches: reasonMatcher('delivery_limit') }, (m) => shown.push(m));
    expect(shown).toHaveLength(1);
    expect(shown[0]!.info).toMatchObject({ reason: 'delivery_limit', originalExchange: f.t.exchange, originalRoutingKey: 'E_DIALOG', death: { queue: f.t.queue, count: 1 } });
    expect(shown[0]!.info.failedAtUs).toBeGreaterThan(0);

    expect((await replayDeadLetters(f.connection, f.t.deadLetterQueue, replayAll())).replayed).toBe(1);
    await rejectUntilDeadLettered();
    const [back] = await fixture.admin.drain(f.t.deadLetterQueue);
    const info = readDeadLetter(back!.properties.headers);
    // The broker accepted our x-death and counted the second death in the same entry.
    expect(info).toMatchObject({ reason: 'delivery_limit', replayCount: 1, lastReason: 'delivery_limit', death: { queue: f.t.queue, count: 2 } });
  });

  it('purge removes only the asked reason, and only with --yes', async () => {
    f = await setUp();
    for (const body of ['p1', 'p2']) await deadLetter(f, body, 'store.rejected');
    await deadLetter(f, 'keep1', 'decode.not_json');
    await deadLetter(f, 'keep2', 'decode.bad_text');
    expect(await countMatching(f.connection, f.t.deadLetterQueue, reasonMatcher('store.rejected'))).toEqual({ scanned: 4, matching: 2 });

    const env = { QBL_QUEUE: f.t.queue, QBL_EXCHANGE: f.t.exchange, QBL_DEAD_LETTER_EXCHANGE: f.t.deadLetterExchange, QBL_DEAD_LETTER_QUEUE: f.t.deadLetterQueue, AMQP_URL: RABBIT_URL };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const stdout: string[] = [];
    const outSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => { stdout.push(String(chunk)); return true; });
    const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => { stdout.push(String(chunk)); return true; });
    try {
      expect(await command.run(['purge', '--reason', 'store.rejected'])).toBe(1);
      expect(stdout.join('')).toMatch(/2 of 4 dead letters .* match reason store\.rejected[\s\S]*--yes/);
      expect(await fixture.admin.depth(f.t.deadLetterQueue)).toBe(4);
      stdout.length = 0;
      expect(await command.run(['purge', '--reason', 'store.rejected', '--yes'])).toBe(0);
      expect(stdout.join('')).toMatch(/removed 2/);
    } finally {
      outSpy.mockRestore();
      errSpy.mockRestore();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(bodies(await fixture.admin.drain(f.t.deadLetterQueue))).toEqual(['keep1', 'keep2']);
    expect((await purgeDeadLetters(f.connection, f.t.deadLetterQueue, reasonMatcher('decode.*'))).removed).toBe(0);
  });

  it('a replay cut off midway loses nothing: the next run finishes the job', async () => {
    f = await setUp();
    const total = 40;
    for (let n = 0; n < total; n += 1) await deadLetter(f, `cut-${n}`, 'decode.unknown_event');
    const doomed = await amqp.connect(RABBIT_URL);
    doomed.on('error', () => undefined);
    let seen = 0;
    // The connection drops after 15 messages, as if the process had been killed.
    await expect(replayDeadLetters(doomed, f.t.deadLetterQueue, replayAll(), {
      onMessage: () => { seen += 1; if (seen === 15) void doomed.close(); },
    })).rejects.toThrow();
    expect(await fixture.admin.depth(f.t.queue)).toBeGreaterThanOrEqual(15);
    expect(await fixture.admin.depth(f.t.deadLetterQueue)).toBeGreaterThan(0);

    const second = await replayDeadLetters(f.connection, f.t.deadLetterQueue, replayAll());
    const arrived = bodies(await fixture.admin.drain(f.t.queue));
    expect(second.replayed).toBeGreaterThan(0);
    // Every message arrived; only those cut between their confirm and their ack arrive twice.
    expect(new Set(arrived).size).toBe(total);
    expect(arrived.length - total).toBeLessThanOrEqual(REPLAY_WINDOW);
    expect(await fixture.admin.depth(f.t.deadLetterQueue)).toBe(0);
  });
});
