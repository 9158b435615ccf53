/**
 * The composition root: wires source → decode → correlate → write and owns the lifecycle.
 * close() is idempotent and ordered: stop intake → finish the in-flight batch (commit, ack)
 * → stop the sweep → close the store.
 */
import { BatchConsumer } from '../../consumers/amqp/batch-consumer';
import type { Config } from '../config/config';
import type { Logger } from '../observability/logger';
import { openCallStore } from '../stores/open';
import type { CallStore } from '../stores/store';
import { Pipeline, type CdrEnricher } from './pipeline';

export interface ServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Tests may pass a store; by default it is opened from the configuration. */
  readonly store?: CallStore;
  readonly enrich?: CdrEnricher;
}

export class Service {
  private sweepTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly store: CallStore,
    readonly pipeline: Pipeline,
    readonly consumer: BatchConsumer,
  ) {}

  static async start(options: ServiceOptions): Promise<Service> {
    const { config, logger } = options;
    const store = options.store ?? (await openCallStore(config, logger));
    const pipeline = new Pipeline({
      correlator: config.correlator, decoder: config.decoder, store, logger, enrich: options.enrich,
    });
    const restored = await pipeline.restore();
    logger.info({ openCalls: restored }, 'restored open calls from the store');
    const consumer = new BatchConsumer({
      amqp: config.amqp, topology: config.topology, intake: config.intake, handler: pipeline.handleBatch, logger,
    });
    const service = new Service(config, logger, store, pipeline, consumer);
    await consumer.start();
    service.startTimers();
    logger.info({ amqp: config.amqp.urlForLogs, queue: config.topology.queue, queueType: config.topology.queueType }, 'consuming');
    return service;
  }

  private startTimers(): void {
    this.sweepTimer = setInterval(() => {
      this.pipeline.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'sweep failed; retrying on the next tick'));
    }, this.config.correlator.sweepIntervalMs);
    if (this.config.statsIntervalS > 0) {
      this.statsTimer = setInterval(() => this.logStats('stats'), this.config.statsIntervalS * 1000);
      this.statsTimer.unref();
    }
  }

  snapshot() {
    const p = this.pipeline.stats;
    return {
      connected: this.consumer.stats.connected,
      messages: p.messages,
      events: p.eventsByKind,
      rejected: p.rejectedByReason,
      cdrs: p.cdrsByDisposition,
      openCalls: this.pipeline.correlator.openCallCount,
      unacked: this.consumer.stats.unacked,
      reconnects: this.consumer.stats.reconnects,
      lastCommitMs: Math.round(p.lastCommitMs * 1000) / 1000,
    };
  }

  private logStats(message: string): void {
    this.logger.info(this.snapshot(), message);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const steps: Array<[string, () => Promise<void> | void]> = [
      ['stop intake and finish the in-flight batch', () => this.consumer.close()],
      ['stop timers', () => {
        clearInterval(this.sweepTimer);
        clearInterval(this.statsTimer);
      }],
      ['close the store', () => this.store.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.logger.error({ err: error }, `shutdown: ${name} failed`);
      }
    }
    this.logStats('stopped');
  }
}
