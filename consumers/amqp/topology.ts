/**
 * Declares everything the service reads from, before OpenSIPS publishes (it declares nothing and
 * drops events for a missing exchange). Every declaration is idempotent.
 */
import type { Channel } from 'amqplib';
import type { ConsumerMode, TopologyConfig } from './options';
import { ConfigError } from '../../src/errors';

/** Broker arguments of the main queue, by queue type. */
export function mainQueueArguments(t: TopologyConfig): Record<string, unknown> {
  // One active consumer, the others hot standbys: what makes any number of instances exact on one queue.
  const single = t.consumers === 'single-active' ? { 'x-single-active-consumer': true } : {};
  if (t.queueType === 'classic') {
    return { 'x-queue-type': 'classic', 'x-dead-letter-exchange': t.deadLetterExchange, ...single };
  }
  return {
    ...single,
    'x-queue-type': 'quorum',
    'x-delivery-limit': t.deliveryLimit,
    'x-dead-letter-exchange': t.deadLetterExchange,
    // at-least-once: the broker keeps a message until the DLQ confirms it (at-most-once would drop
    // it on the way); RabbitMQ requires reject-publish overflow for this strategy.
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/**
 * The dead-letter queue is a durable CLASSIC queue on purpose: classic queues have no delivery
 * limit, so a DLQ that operators peek (get + requeue) many times never drops a message. A quorum
 * DLQ would inherit RabbitMQ 4's default delivery limit of 20, and 3.10 (our broker) has no
 * documented way to disable it (`-1` is only defined from 4.0).
 */
export function deadLetterQueueArguments(): Record<string, unknown> {
  return { 'x-queue-type': 'classic' };
}

const WHY_ARGUMENTS: Record<ConsumerMode, string> = {
  'single-active': 'the search store runs one active instance and hot standbys',
  exclusive: 'the SQLite store',
  competing: 'QBL_PARTITIONS above 1: every instance\'s router consumes it',
};

function isPreconditionFailed(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 406 || (typeof e?.message === 'string' && e.message.includes('PRECONDITION'));
}

function brokerSays(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /with message "(.*)"$/.exec(message);
  return (quoted ? quoted[1] : message).replace(/^PRECONDITION_FAILED - /, '');
}

/**
 * A 406 closes the channel; the caller must treat `channel` as dead after a rejection.
 * Conflicts with what already exists become one ConfigError naming the option to change.
 */
export async function declareTopology(channel: Channel, t: TopologyConfig): Promise<void> {
  // Without a listener the broker's channel.close would surface as an unhandled 'error' event.
  const swallow = (): void => undefined;
  channel.on('error', swallow);
  try {
    await step(() => channel.assertExchange(t.exchange, 'topic', { durable: true }),
      'QBL_EXCHANGE', `a durable topic exchange "${t.exchange}"`);
    // Topic, so a dead letter keeps its routing key and operators can bind by it.
    await step(() => channel.assertExchange(t.deadLetterExchange, 'topic', { durable: true }),
      'QBL_DEAD_LETTER_EXCHANGE', `a durable topic exchange "${t.deadLetterExchange}"`);
    await step(() => channel.assertQueue(t.deadLetterQueue, { durable: true, arguments: deadLetterQueueArguments() }),
      'QBL_DEAD_LETTER_QUEUE', `a durable classic queue "${t.deadLetterQueue}"`);
    await channel.bindQueue(t.deadLetterQueue, t.deadLetterExchange, '#');
    await step(() => channel.assertQueue(t.queue, { durable: true, arguments: mainQueueArguments(t) }).catch((error: unknown) => {
      throw isPreconditionFailed(error) && brokerSays(error).includes('x-single-active-consumer') ? new ConfigError('QBL_QUEUE',
        `queue "${t.queue}" ${t.consumers === 'single-active' ? 'with' : 'without'} x-single-active-consumer (${WHY_ARGUMENTS[t.consumers ?? 'competing']}), `
        + 'but it exists with other arguments; move its messages, losing none, with `qbl migrate-queue` (docs/scaling.md)') : error;
    }),
      'QBL_QUEUE_TYPE', `queue "${t.queue}" (QBL_QUEUE) declared as a durable ${t.queueType} queue`
        + (t.queueType === 'quorum' ? ` with delivery limit ${t.deliveryLimit} (QBL_DELIVERY_LIMIT)` : '')
        + ` and dead-letter exchange "${t.deadLetterExchange}"`);
    await channel.bindQueue(t.queue, t.exchange, t.bindingKey);
  } finally {
    channel.removeListener('error', swallow);
  }
}

async function step(declare: () => Promise<unknown>, option: string, expected: string): Promise<void> {
  try {
    await declare();
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    throw new ConfigError(option,
      `${expected}, but it already exists with other arguments (broker: ${brokerSays(error)}); `
      + 'delete it or change the configuration to match', undefined);
  }
}
