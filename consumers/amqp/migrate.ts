/**
 * `qbl migrate-queue`: gives an existing main queue the arguments this configuration declares
 * (e.g. `x-single-active-consumer` for the search store), moving its messages so that none is lost
 * even if the process is killed at any point (docs/scaling.md, migration runbook):
 *
 *   bind `<queue>.migrating` → unbind the queue → move queue → temporary → delete the queue →
 *   declare it (whole topology) → move temporary → queue → delete the temporary queue.
 *
 * A move publishes each message with confirms and `mandatory`, and acks the original only once
 * confirmed and not returned: a message is always in one queue or both (a duplicate is harmless:
 * ids are deterministic). Run again after a kill, it resumes from wherever it stopped. A moved
 * message keeps its first exchange and routing key in `x-qbl-original-*` headers, which the
 * consumer reads (headers.ts).
 */
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { TopologyConfig } from './options';
import { DEAD_LETTER_HEADERS, originalRoute } from './headers';
import { checkQueue, onThrowawayChannel } from './probe';
import { declareTopology, mainQueueArguments } from './topology';

export interface MigrateProgress {
  /** A move starts: how many messages it has to move. */
  moving(from: string, to: string, messages: number): void;
  moved(count: number): void;
}

export interface MigrateResult {
  /** The queue already had the wanted arguments when the command started. */
  readonly alreadyMigrated: boolean;
  readonly moved: number;
}

/** Messages moved per confirm round. */
const MOVE_CHUNK = 500;

export function migratingQueueName(queue: string): string {
  return `${queue}.migrating`;
}

/** Whether the queue exists with exactly the wanted arguments (a redeclare with them succeeds). */
async function hasWantedArguments(model: ChannelModel, t: TopologyConfig): Promise<boolean> {
  return onThrowawayChannel(model, async (channel) => {
    try {
      await channel.assertQueue(t.queue, { durable: true, arguments: mainQueueArguments(t) });
      return true;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 406) return false;
      throw error;
    }
  });
}

export async function migrateQueue(model: ChannelModel, t: TopologyConfig, progress: MigrateProgress): Promise<MigrateResult> {
  const temporary = migratingQueueName(t.queue);
  const before = await checkQueue(model, t.queue);
  if (before !== undefined && before.consumers > 0) {
    throw new Error(`queue "${t.queue}" has ${before.consumers} consumer(s): stop every qbl start on it first`);
  }
  let moved = 0;
  const alreadyMigrated = before !== undefined && await hasWantedArguments(model, t);
  if (!alreadyMigrated && before !== undefined) {
    // New publications land in the temporary queue from now on; then the old queue gets no more.
    await onThrowawayChannel(model, async (channel) => {
      await channel.assertQueue(temporary, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.bindQueue(temporary, t.exchange, t.bindingKey);
      await channel.unbindQueue(t.queue, t.exchange, t.bindingKey);
    });
    moved += await move(model, t.queue, temporary, progress);
    await deleteIfDrained(model, t.queue);
  }
  // The queue as this configuration declares it (dead-letter exchange and queue, binding).
  await onThrowawayChannel(model, (channel) => declareTopology(channel, t));
  if (await checkQueue(model, temporary) !== undefined) {
    // The queue is bound again: unbound, the temporary queue's drain ends (a message published
    // in between is in both queues: a duplicate, harmless).
    await onThrowawayChannel(model, (channel) => channel.unbindQueue(temporary, t.exchange, t.bindingKey));
    moved += await move(model, temporary, t.queue, progress);
    await deleteIfDrained(model, temporary);
  }
  return { alreadyMigrated, moved };
}

/**
 * Deletes a queue the move emptied, only if it is still empty and nobody consumes it: a qbl start
 * begun meanwhile would otherwise lose what it holds unacked. (Quorum queues refuse the
 * if-unused flag, so the check is made just before.) Refused, running the command again moves
 * what is left.
 */
export async function deleteIfDrained(model: ChannelModel, queue: string): Promise<void> {
  const status = await checkQueue(model, queue);
  if (status === undefined) return;
  if (status.ready > 0 || status.consumers > 0) {
    throw new Error(`queue "${queue}" got ${status.ready} message(s) and ${status.consumers} consumer(s) during the move (is a qbl start running?): stop it and run qbl migrate-queue again`);
  }
  await onThrowawayChannel(model, (channel) => channel.deleteQueue(queue));
}

/**
 * Moves every message of `from` to `to`: publish with confirms, then ack. It consumes (basic.get
 * is refused on quorum queues with single-active-consumer) in rounds of up to MOVE_CHUNK; a round
 * that receives nothing for IDLE_MS on an empty queue ends the move.
 */
export async function move(model: ChannelModel, from: string, to: string, progress: MigrateProgress): Promise<number> {
  const channel: ConfirmChannel = await model.createConfirmChannel();
  channel.on('error', () => undefined);
  // Mandatory: a message no queue took (`to` deleted meanwhile) comes back before its confirm,
  // and the round it belongs to is not acked.
  let returned = 0;
  channel.on('return', () => {
    returned += 1;
  });
  let total = 0;
  try {
    await channel.prefetch(MOVE_CHUNK);
    progress.moving(from, to, (await channel.checkQueue(from)).messageCount);
    const buffer: ConsumeMessage[] = [];
    const { consumerTag } = await channel.consume(from, (message) => { if (message) buffer.push(message); }, { noAck: false });
    for (;;) {
      const round = await nextRound(buffer);
      if (round.length === 0) {
        if ((await checkQueue(model, from))?.ready === 0) break;
        continue;
      }
      for (const message of round) {
        const { fields, properties } = message;
        // Published to the queue through the default exchange, the message would lose where it
        // came from (stored with its event, used by dead letters and replay): its first route goes
        // in headers, kept as they are when a previous move already set them.
        const first = originalRoute(fields.exchange, fields.routingKey, properties.headers);
        channel.publish('', to, message.content, {
          persistent: true,
          mandatory: true,
          headers: { ...properties.headers, [DEAD_LETTER_HEADERS.originalExchange]: first.exchange, [DEAD_LETTER_HEADERS.originalRoutingKey]: first.routingKey },
          contentType: properties.contentType, contentEncoding: properties.contentEncoding,
          messageId: properties.messageId, timestamp: properties.timestamp, type: properties.type, appId: properties.appId,
          correlationId: properties.correlationId, priority: properties.priority,
        });
      }
      await channel.waitForConfirms();
      if (returned > 0) {
        // Closing the channel puts the round back in `from`; what did arrive is a harmless duplicate.
        throw new Error(`${returned} of ${round.length} message(s) could not be moved to queue "${to}" (no such queue: was it deleted meanwhile?); `
          + `that round is still in "${from}": run qbl migrate-queue again`);
      }
      channel.ack(round[round.length - 1]!, true);
      total += round.length;
      progress.moved(round.length);
    }
    await channel.cancel(consumerTag);
    return total;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

const IDLE_MS = 200;

/** Waits until MOVE_CHUNK messages are buffered or none came for IDLE_MS; takes them. */
async function nextRound(buffer: ConsumeMessage[]): Promise<ConsumeMessage[]> {
  let seen = -1;
  while (buffer.length < MOVE_CHUNK && buffer.length !== seen) {
    seen = buffer.length;
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  }
  return buffer.splice(0, buffer.length);
}
