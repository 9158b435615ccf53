/**
 * The router of QBL_PARTITIONS > 1 (docs/scaling.md): every instance consumes the intake queue
 * (competing consumers) and republishes each message, unchanged — body, headers, properties, plus
 * its first route in `x-qbl-original-exchange` / `x-qbl-original-routing-key` — to
 * the direct exchange `<queue>.partitions` with routing key `partitionOf(call_id, P)`. A batch is
 * acked only once the broker confirmed every republished message (mandatory: one no queue took
 * is not confirmed as routed, and the batch is retried). An undecodable body is dead-lettered
 * with its reason, as the consumer does.
 */
import type { ChannelModel, Options } from 'amqplib';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import type { BatchHandler, DeadLetterVerdict, Delivery, Verdict } from '../batch-handler';
import { StoreUnavailableError } from '../../src/errors';
import { BatchConsumer } from './batch-consumer';
import type { AmqpConfig, IntakeConfig, TopologyConfig } from './options';
import { declarePartitions, partitionExchange, partitionOf } from './partitions';
import { DEAD_LETTER_HEADERS } from './headers';
import { ConfirmPublisher } from './publisher';
import { declareTopology } from './topology';

export interface RouterStats {
  /** Messages republished to a partition and confirmed, by partition. */
  routed: number[];
  /** Seconds from publishing a batch to the broker's last confirm of it: sum, count (batches). */
  confirmSecondsSum: number;
  confirmBatches: number;
}

export interface RouterOptions {
  readonly amqp: AmqpConfig;
  readonly topology: TopologyConfig;
  readonly intake: IntakeConfig;
  /** The call id of a body (the decoder's), or why it cannot be used (dead-lettered). */
  readonly callIdOf: (body: Buffer) => string | DeadLetterVerdict;
  readonly partitions: number;
  readonly logger: Logger;
  readonly connectionName: string;
}

const PUBLISH_PROPERTIES = [
  'contentType', 'contentEncoding', 'headers', 'deliveryMode', 'priority', 'correlationId', 'replyTo', 'expiration',
  'messageId', 'timestamp', 'type', 'userId', 'appId',
] as const;

/** The message's own properties, as publish options (absent ones left out). */
function propertiesOf(delivery: Delivery): Options.Publish {
  const out: Record<string, unknown> = {};
  for (const name of PUBLISH_PROPERTIES) {
    const value = delivery.properties?.[name];
    if (value !== undefined && value !== null) out[name] = value;
  }
  return out as Options.Publish;
}

/** Its headers, plus its first route: the partition's consumer stores the event with OpenSIPS's exchange and routing key, not the router's. */
function withRoute(delivery: Delivery): Record<string, unknown> {
  return {
    ...delivery.headers,
    [DEAD_LETTER_HEADERS.originalExchange]: delivery.exchange,
    [DEAD_LETTER_HEADERS.originalRoutingKey]: delivery.routingKey,
  };
}

export class Router {
  readonly stats: RouterStats;
  readonly consumer: BatchConsumer;
  private publisher?: Promise<ConfirmPublisher>;
  private readonly logger: Logger;

  constructor(private readonly options: RouterOptions) {
    this.stats = { routed: new Array<number>(options.partitions).fill(0), confirmSecondsSum: 0, confirmBatches: 0 };
    this.logger = options.logger.child({ component: 'router' });
    this.consumer = new BatchConsumer({
      amqp: options.amqp, topology: options.topology, intake: options.intake, logger: options.logger,
      connectionName: options.connectionName, handler: this.route,
      declare: async (connection: ChannelModel) => {
        const setup = await connection.createChannel();
        await declareTopology(setup, options.topology);
        await setup.close();
        await declarePartitions(connection, options.topology, options.partitions);
      },
    });
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  async close(): Promise<void> {
    await this.consumer.close();
    const publisher = await this.publisher?.catch(() => undefined);
    await publisher?.close().catch(() => undefined);
  }

  private readonly route: BatchHandler = async (batch) => {
    const { callIdOf, partitions, topology } = this.options;
    const verdicts: Verdict[] = [];
    const targets: Array<number | undefined> = [];
    for (const delivery of batch) {
      const callId = callIdOf(delivery.body);
      verdicts.push(typeof callId === 'string' ? ACK : callId);
      targets.push(typeof callId === 'string' ? partitionOf(callId, partitions) : undefined);
    }
    const publisher = await this.openPublisher();
    const exchange = partitionExchange(topology.queue);
    const started = performance.now();
    let outcomes: string[];
    try {
      outcomes = await Promise.all(batch.map((delivery, i) => (targets[i] === undefined ? Promise.resolve('confirmed')
        : publisher.publish(exchange, String(targets[i]), delivery.body, { ...propertiesOf(delivery), headers: withRoute(delivery), mandatory: true }))));
    } catch (error) {
      // A new publisher for the retry; this one's connection is closed, not left open (one leaked per failure otherwise).
      this.publisher = undefined;
      void publisher.close().catch(() => undefined);
      throw new StoreUnavailableError(`routing to the partitions failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const failed = outcomes.filter((o) => o !== 'confirmed').length;
    // Some went, some not: the whole batch is retried; a partition getting a message twice is harmless (content ids).
    if (failed > 0) throw new StoreUnavailableError(`${failed} messages were not routed to a partition (${outcomes.find((o) => o !== 'confirmed')})`);
    this.stats.confirmSecondsSum += (performance.now() - started) / 1000;
    this.stats.confirmBatches++;
    for (const target of targets) if (target !== undefined) this.stats.routed[target]!++;
    return verdicts;
  };

  private openPublisher(): Promise<ConfirmPublisher> {
    if (!this.publisher) {
      const opening = ConfirmPublisher.open(this.options.amqp, this.logger, {
        connectionName: `${this.options.connectionName}-publisher`,
        onClosed: () => { if (this.publisher === opening) this.publisher = undefined; },
      });
      this.publisher = opening;
      opening.catch(() => { if (this.publisher === opening) this.publisher = undefined; });
    }
    return this.publisher.catch((error: unknown) => {
      throw new StoreUnavailableError(`cannot open the router's publisher: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
  }
}

const ACK: Verdict = Object.freeze({ action: 'ack' });
