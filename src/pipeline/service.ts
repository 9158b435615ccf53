/**
 * The composition root: wires source → decode → correlate → write and owns the lifecycle.
 * close() is idempotent and ordered: stop intake → finish the in-flight batch (commit, ack)
 * → stop the sweep → close the store.
 */
import { BatchConsumer, DEFAULT_QUEUE_TAKEN_GRACE_MS } from '../../consumers/amqp/batch-consumer';
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
  private ops: OpsServer | undefined;
  private readonly startedAtMs = Date.now();
  /** Settles when the service cannot go on (the exclusive queue stayed taken): `qbl start` exits. */
  readonly fatal: Promise<QueueTakenError>;
  private failWith: (error: QueueTakenError) => void = () => undefined;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly store: CallStore,
    readonly pipeline: Pipeline,
    readonly consumer: BatchConsumer,
    readonly metrics: ServiceMetrics,
    /** The number lookup, when QBL_LOOKUP_PORT is set. */
    readonly lookup?: LookupService,
  ) {
    this.fatal = new Promise((resolve) => { this.failWith = resolve; });
    consumer.on('fatal', (error: QueueTakenError) => this.failWith(error));
  }

  /** The port the ops endpoint listens on (undefined when QBL_HTTP_PORT=0). */
  get httpPort(): number | undefined {
    return this.ops?.port;
  }

  static async start(options: ServiceOptions): Promise<Service> {
    const { config, logger } = options;
    const store = options.store ?? (await openCallStore(config, logger));
    // The search store holds the join state for every instance; one active consumer at a time.
    const sharedStore = config.topology.consumers === 'single-active';
    const lookup = config.lookup.port === 0 ? undefined : new LookupService({
      config: config.lookup, dialPlan: config.dialPlan, store: await openLookupStore(config), logger,
    });
    const metrics = new ServiceMetrics({ storeEngine: config.search?.engine ?? 'sqlite', lookup: lookup !== undefined });
    const pipeline = new Pipeline({
      correlator: config.correlator, decoder: config.decoder, store, logger,
      enrich: options.enrich ?? makeNumberEnricher(config.dialPlan), onCommit: metrics.observeCommit,
      onCommitted: lookup?.onCommitted, sharedStore,
    });
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
    const service = new Service(config, logger, store, pipeline, consumer, metrics, lookup);
    metrics.bind({ read: () => service.readings(), pingStore: () => store.ping(), readLookup: lookup === undefined ? undefined : () => lookup.readings() });
    try {
      // Before the broker: /readyz answers not_ready while the first connection is being made.
      await service.startOps();
      // Before the first batch: the figures are rebuilt from what the store holds, then the commit hook adds to them.
      await service.startLookup();
      await consumer.start();
    } catch (error) {
      await service.lookup?.close();
      await service.ops?.close();
      if (!options.store) await store.close().catch(() => undefined);
      throw error;
    }
    service.startTimers();
    logger.info({ amqp: config.amqp.urlForLogs, queue: config.topology.queue, queueType: config.topology.queueType }, 'consuming');
    return service;
  }

  private async startOps(): Promise<void> {
    const { host, port } = this.config.http;
    if (port === 0) return;
    try {
      this.ops = await OpsServer.start({
        host, port, logger: this.logger,
        metricsText: () => this.metrics.text(),
        metricsContentType: this.metrics.contentType,
        brokerConnected: () => this.consumer.stats.connected,
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
      this.pipeline.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'sweep failed; retrying on the next tick'));
    }, this.config.correlator.sweepIntervalMs);
    if (this.config.statsIntervalS > 0) {
      this.statsTimer = setInterval(() => this.logStats('stats'), this.config.statsIntervalS * 1000);
      this.statsTimer.unref();
    }
  }

  /** The stats line (and the shutdown summary): the metrics' readings, in the log's words. */
  snapshot() {
    const r = this.readings();
    const { messages, lastCommitMs } = this.pipeline.stats;
    const { lastError } = this.consumer.stats;
    return {
      connected: r.brokerConnected,
      blocked: r.brokerBlocked,
      messages,
      events: r.eventsByKind,
      rejected: r.rejectedByReason,
      deadLettered: r.deadLettersByReason,
      cdrs: this.pipeline.stats.cdrsByDisposition,
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
    const p = this.pipeline.stats;
    const c = this.consumer.stats;
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
      openCalls: this.pipeline.correlator.openCallCount,
      oldestOpenCallAgeS: this.pipeline.oldestOpenCallAgeS(),
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
      ['stop intake and finish the in-flight batch', () => this.consumer.close()],
      ['stop timers and let a running sweep finish', () => {
        clearInterval(this.sweepTimer);
        clearInterval(this.statsTimer);
        return this.pipeline.idle();
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
