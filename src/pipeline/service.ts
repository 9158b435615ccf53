/**
 * The composition root: wires source → decode → correlate → write and owns the lifecycle.
 * close() is idempotent and ordered: stop intake → finish the in-flight batch (commit, ack)
 * → stop the sweep → close the store.
 */
import { BatchConsumer, type ConsumerStats, DEFAULT_QUEUE_TAKEN_GRACE_MS } from '../../consumers/amqp/batch-consumer';
import type { Config } from '../config/config';
import { formatUs } from '../../correlators/cdr';
import { ConfigError, type QueueTakenError } from '../errors';
import { OpsServer } from '../observability/http-server';
import type { Logger } from '../observability/logger';
import { type MetricsReadings, ServiceMetrics } from '../observability/metrics';
import { makeNumberEnricher } from '../numbers/normaliser';
import { openCallStore, openLookupStore } from '../stores/open';
import { LookupService } from '../lookup/lookup-service';
import { LookupWorkerError } from '../lookup/lookup-worker';
import type { CallStore } from '../stores/store';
import { Partitioned } from './partitioned';
import { Pipeline, type CdrEnricher, type PipelineStats } from './pipeline';

/** What the service runs: one pipeline on one consumer, or (QBL_PARTITIONS > 1) the partitions. */
type Work =
  | { readonly kind: 'single'; readonly pipeline: Pipeline; readonly consumer: BatchConsumer }
  | { readonly kind: 'partitioned'; readonly partitioned: Partitioned };

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
  private ops: OpsServer | undefined;
  private readonly startedAtMs = Date.now();
  /** Settles when the service cannot go on (the exclusive queue stayed taken): `qbl start` exits. */
  readonly fatal: Promise<QueueTakenError | ConfigError>;
  private failWith: (error: QueueTakenError | ConfigError) => void = () => undefined;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly store: CallStore,
    private readonly work: Work,
    readonly metrics: ServiceMetrics,
    /** The number lookup, when QBL_LOOKUP_PORT is set. */
    readonly lookup?: LookupService,
  ) {
    this.fatal = new Promise((resolve) => { this.failWith = resolve; });
    if (work.kind === 'single') work.consumer.on('fatal', (error: QueueTakenError) => this.failWith(error));
  }

  /** The pipeline (QBL_PARTITIONS = 1). */
  get pipeline(): Pipeline {
    if (this.work.kind !== 'single') throw new Error('QBL_PARTITIONS > 1: one pipeline per owned partition; see service.partitioned');
    return this.work.pipeline;
  }

  /** The consumer (QBL_PARTITIONS = 1). */
  get consumer(): BatchConsumer {
    if (this.work.kind !== 'single') throw new Error('QBL_PARTITIONS > 1: see service.partitioned');
    return this.work.consumer;
  }

  /** The router and owned partitions (QBL_PARTITIONS > 1). */
  get partitioned(): Partitioned | undefined {
    return this.work.kind === 'partitioned' ? this.work.partitioned : undefined;
  }

  private consumerStats(): ConsumerStats {
    return this.work.kind === 'single' ? this.work.consumer.stats : this.work.partitioned.consumerStats();
  }

  private pipelineStats(): PipelineStats {
    return this.work.kind === 'single' ? this.work.pipeline.stats : this.work.partitioned.pipelineStats();
  }

  /** The port the ops endpoint listens on (undefined when QBL_HTTP_PORT=0). */
  get httpPort(): number | undefined {
    return this.ops?.port;
  }

  static async start(options: ServiceOptions): Promise<Service> {
    const { config, logger } = options;
    const store = options.store ?? (await openCallStore(config, logger));
    const lookup = config.lookup.port === 0 ? undefined : new LookupService({
      config: config.lookup, dialPlan: config.dialPlan, store: await openLookupStore(config), logger,
    });
    const metrics = new ServiceMetrics({ storeEngine: config.search?.engine ?? 'sqlite', lookup: lookup !== undefined, partitions: config.partitions > 1 });
    const pipelineOptions = {
      correlator: config.correlator, decoder: config.decoder,
      enrich: options.enrich ?? makeNumberEnricher(config.dialPlan), onCommit: metrics.observeCommit, onCommitted: lookup?.onCommitted,
    };
    if (config.partitions > 1) {
      // QBL_PARTITIONS > 1 (docs/scaling.md): a router, the membership, one pipeline per owned partition.
      let service: Service | undefined;
      const partitioned = new Partitioned({ config, logger, store, pipeline: pipelineOptions, refused: (error) => service?.failWith(error) });
      service = new Service(config, logger, store, { kind: 'partitioned', partitioned }, metrics, lookup);
      await service.run(() => partitioned.start(), options);
      logger.info({ amqp: config.amqp.urlForLogs, queue: config.topology.queue, partitions: config.partitions }, 'consuming');
      return service;
    }
    // The search store holds the join state for every instance; one active consumer at a time.
    const sharedStore = config.topology.consumers === 'single-active';
    const pipeline = new Pipeline({ ...pipelineOptions, store, logger, sharedStore });
    if (sharedStore) {
      logger.info('shared store: standing by until the broker makes this instance the active consumer');
    } else {
      const restored = await pipeline.restore();
      logger.info({ openCalls: restored }, 'restored open calls from the store');
    }
    const consumer = new BatchConsumer({
      amqp: config.amqp, topology: config.topology, intake: config.intake, handler: pipeline.handleBatch, logger,
      // The broker drops a dead connection (and its lock) after two missed heartbeats.
      queueTakenGraceMs: Math.max(DEFAULT_QUEUE_TAKEN_GRACE_MS, 3 * config.amqp.heartbeatS * 1000),
    });
    // With single-active-consumer, a lost connection hands the queue to a standby.
    if (sharedStore) consumer.on('disconnected', () => void pipeline.deactivate());
    const service = new Service(config, logger, store, { kind: 'single', pipeline, consumer }, metrics, lookup);
    await service.run(() => consumer.start(), options);
    logger.info({ amqp: config.amqp.urlForLogs, queue: config.topology.queue, queueType: config.topology.queueType }, 'consuming');
    return service;
  }

  /** Ops endpoint, lookup, then intake; on a failure, what was started is closed again. */
  private async run(startIntake: () => Promise<void>, options: ServiceOptions): Promise<void> {
    const { store, lookup } = this;
    const { work } = this;
    this.metrics.bind({
      read: () => this.readings(), pingStore: () => store.ping(), readLookup: lookup === undefined ? undefined : () => lookup.readings(),
      readPartitions: work.kind === 'partitioned' ? () => work.partitioned.readings() : undefined,
    });
    const service = this;
    try {
      // Before the broker: /readyz answers not_ready while the first connection is being made.
      await service.startOps();
      // Before the first batch: the figures are rebuilt from what the store holds, then the commit hook adds to them.
      await service.startLookup();
      await startIntake();
    } catch (error) {
      if (this.work.kind === 'partitioned') await this.work.partitioned.close().catch(() => undefined);
      await service.lookup?.close();
      await service.ops?.close();
      if (!options.store) await store.close().catch(() => undefined);
      throw error;
    }
    service.startTimers();
  }

  private async startOps(): Promise<void> {
    const { host, port } = this.config.http;
    if (port === 0) return;
    try {
      this.ops = await OpsServer.start({
        host, port, logger: this.logger,
        metricsText: () => this.metrics.text(),
        metricsContentType: this.metrics.contentType,
        brokerConnected: () => this.consumerStats().connected,
        pingStore: () => this.store.ping(),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError('QBL_HTTP_PORT', 'a port the ops endpoint can listen on (0 disables it)', `${host}:${port}`, code);
    }
  }

  private async startLookup(): Promise<void> {
    if (!this.lookup) return;
    try {
      await this.lookup.start();
    } catch (error) {
      if (!(error instanceof LookupWorkerError) || error.code === undefined) throw error;
      const { host, port } = this.config.lookup;
      throw new ConfigError('QBL_LOOKUP_PORT', 'a port the number lookup can listen on (0 disables it)', `${host}:${port} (${error.code})`);
    }
  }

  private startTimers(): void {
    this.sweepTimer = setInterval(() => {
      (this.work.kind === 'single' ? this.work.pipeline.sweep() : this.work.partitioned.sweep()).catch((error: unknown) => this.logger.warn({ err: error }, 'sweep failed; retrying on the next tick'));
    }, this.config.correlator.sweepIntervalMs);
    if (this.config.statsIntervalS > 0) {
      this.statsTimer = setInterval(() => this.logStats('stats'), this.config.statsIntervalS * 1000);
      this.statsTimer.unref();
    }
  }

  /** The stats line (and the shutdown summary): the metrics' readings, in the log's words. */
  snapshot() {
    const r = this.readings();
    const pipelineStats = this.pipelineStats();
    const { messages, lastCommitMs } = pipelineStats;
    const { lastError } = this.consumerStats();
    return {
      connected: r.brokerConnected,
      blocked: r.brokerBlocked,
      messages,
      events: r.eventsByKind,
      rejected: r.rejectedByReason,
      deadLettered: r.deadLettersByReason,
      cdrs: pipelineStats.cdrsByDisposition,
      openCalls: r.openCalls,
      oldestOpenCallAgeS: Math.round(r.oldestOpenCallAgeS),
      unacked: r.unackedDeliveries,
      reconnects: r.amqpReconnects,
      storeRetries: r.storeRetries,
      lastCommitMs: Math.round(lastCommitMs * 1000) / 1000,
      lastCdrAt: r.lastCdrAtUs === null ? null : formatUs(r.lastCdrAtUs),
      ...(lastError === undefined ? {} : { lastError }),
    };
  }

  /** What the metrics count, from the stages' own stats. */
  readings(): MetricsReadings {
    const p = this.pipelineStats();
    const c = this.consumerStats();
    const { work } = this;
    return {
      deliveriesReceived: c.delivered,
      deliveriesAcked: c.acked,
      deliveriesDropped: c.dropped,
      unackedDeliveries: c.unacked,
      eventsByKind: p.eventsByKind,
      rejectedByReason: p.rejectedByReason,
      deadLettersByReason: c.deadLettered,
      cdrsBySourceAndDisposition: p.cdrsBySourceAndDisposition,
      storeRetries: c.retries,
      amqpReconnects: c.reconnects,
      lastCdrAtUs: p.lastCdrAtUs,
      openCalls: work.kind === 'single' ? work.pipeline.correlator.openCallCount : work.partitioned.openCallCount(),
      oldestOpenCallAgeS: work.kind === 'single' ? work.pipeline.oldestOpenCallAgeS() : work.partitioned.oldestOpenCallAgeS(),
      brokerConnected: c.connected,
      brokerBlocked: c.blocked,
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
      ['stop intake and finish the in-flight batch', () => (this.work.kind === 'single' ? this.work.consumer.close() : this.work.partitioned.close())],
      ['stop timers and let a running sweep finish', () => {
        clearInterval(this.sweepTimer);
        clearInterval(this.statsTimer);
        return this.work.kind === 'single' ? this.work.pipeline.idle() : this.work.partitioned.idle();
      }],
      ['close the ops endpoint', () => this.ops?.close()],
      // Before the store: its SQLite connection must be gone when the store's writer closes the file.
      ['close the number lookup', () => this.lookup?.close()],
      ['close the store', () => this.store.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.logger.error({ err: error }, `shutdown: ${name} failed`);
      }
    }
    this.logger.info({ ...this.snapshot(), uptimeS: Math.round((Date.now() - this.startedAtMs) / 1000) }, 'stopped');
  }
}
