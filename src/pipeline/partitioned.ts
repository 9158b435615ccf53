/**
 * QBL_PARTITIONS > 1 (docs/scaling.md, "Scale out: partitions"): this instance's router on the
 * intake queue, its membership, and the partitions it owns — each one a pipeline of its own on a
 * consumer of `<queue>.p<i>` that holds the lock `<queue>.p<i>.owner` on its connection.
 *
 * Ownership. The live members give every partition one owner (`assignPartitions`: rendezvous
 * hashing, balanced to max − min ≤ 1, the same on every instance that sees the same members). Each partition has one driver loop here that moves what this instance holds towards
 * what it should hold, one step at a time, and looks again after every await (a step started for
 * an older view never acts on a newer one: the generation counter). Taking a partition: hold the
 * broker's lock (retry while another connection holds it), restore the partition's open calls
 * from the shared store, consume. Giving it up: stop the sweep of it, stop intake, commit and
 * ack the batch in flight, cancel, drop its calls, and only then close its connection, which
 * deletes the lock. The broker lets one connection hold the lock, so no two instances own a
 * partition at once; a cut-off owner's late writes are fenced by the store (docs/scaling.md).
 */
import { randomUUID } from 'node:crypto';
import { BatchConsumer, type ConsumerStats } from '../../consumers/amqp/batch-consumer';
import { Membership } from '../../consumers/amqp/membership';
import { assignPartitions, declarePartitionQueue, ownerQueue, partitionOf, partitionQueue } from '../../consumers/amqp/partitions';
import { Router } from '../../consumers/amqp/router';
import type { DeadLetterVerdict } from '../../consumers/batch-handler';
import { decodeMessage } from '../../consumers/decode/decode';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config';
import { type ConfigError, QueueTakenError } from '../errors';
import type { Logger } from '../observability/logger';
import type { PartitionReadings } from '../observability/metrics';
import type { CallStore } from '../stores/store';
import { Pipeline, type PipelineOptions, type PipelineStats } from './pipeline';

/**
 * How soon a partition whose lock another connection holds is tried again: 0.5 s, doubling to
 * 2 s while it stays taken. Each try opens two connections (the consuming one and its publisher's),
 * so a lock held for long (a cut-off owner's, until the broker drops it) costs one try every 2 s,
 * not two connections every 0.5 s; the wait after the holder lets go stays under 2 s.
 */
export const LOCK_RETRY = Object.freeze({ initialMs: 500, maxMs: 2000 });

export function lockRetryMs(failures: number): number {
  return Math.min(LOCK_RETRY.maxMs, LOCK_RETRY.initialMs * 2 ** Math.max(0, failures - 1));
}

interface Slot {
  readonly partition: number;
  readonly pipeline: Pipeline;
  readonly consumer: BatchConsumer;
  /** Sweeps stop the moment the partition starts being given up or its connection is lost. */
  sweeping: boolean;
  acquiredAtMs: number;
}

export interface PartitionedOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: CallStore;
  readonly pipeline: Omit<PipelineOptions, 'store' | 'logger' | 'sharedStore' | 'ownsCall'>;
  /** An instance with another P is older than this one: it must not run. */
  readonly refused: (error: ConfigError) => void;
}

export class Partitioned {
  readonly id = `${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly router: Router;
  private readonly membership: Membership;
  private readonly logger: Logger;
  private readonly count: number;
  /** Partitions this instance should own, from the last membership view. */
  private wanted = new Set<number>();
  private readonly slots = new Map<number, Slot>();
  private readonly drivers = new Map<number, Promise<void>>();
  /** Bumped on every membership view or loss: a driver step from an older one does not act. */
  private generation = 0;
  private closing = false;
  /** In the last membership view (false: not joined yet, or cut off). */
  private member = false;
  /** Every pipeline and partition consumer this instance has had, for monotonic totals. */
  private readonly pipelines: Pipeline[] = [];
  private readonly consumers: BatchConsumer[] = [];
  private readonly perPartition: Array<{ delivered: number; committed: number }>;

  constructor(private readonly options: PartitionedOptions) {
    const { config } = options;
    this.count = config.partitions;
    this.logger = options.logger.child({ instance: this.id });
    this.perPartition = Array.from({ length: this.count }, () => ({ delivered: 0, committed: 0 }));
    this.router = new Router({
      amqp: config.amqp, topology: config.topology, intake: config.intake, partitions: this.count, logger: this.logger,
      connectionName: 'opensips-qbl-router', callIdOf: (body) => callIdOf(body, config),
    });
    this.membership = new Membership({
      amqp: config.amqp, queue: config.topology.queue, id: this.id, partitions: this.count, logger: this.logger,
      connectionName: 'opensips-qbl-members',
      live: (members) => this.assign(members),
      lost: () => this.assign([]),
      refused: options.refused,
      owned: () => this.owned,
    });
  }

  /** Partitions this instance owns now (consuming). */
  get owned(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    // The router declares the intake queue and the partitions (and refuses another P's) first.
    await this.router.start();
    await this.membership.start();
    this.logger.info({ partitions: this.count }, 'partitions: routing, and joining the members');
  }

  /** The live members share the partitions (`assignPartitions`, docs/scaling.md). */
  private assign(members: readonly string[]): void {
    if (this.closing) return;
    this.generation++;
    const index = members.indexOf(this.id);
    const wanted = new Set(assignPartitions(members, this.count).get(this.id) ?? []);
    this.wanted = wanted;
    this.member = index >= 0;
    this.logger.info({ members: members.length, wanted: [...wanted] }, members.length === 0 ? 'partitions: not a member, letting every partition go' : 'partitions: membership changed');
    for (let i = 0; i < this.count; i++) this.drive(i);
  }

  /** One driver per partition; a new view while it runs is seen at its next step. */
  private drive(partition: number): void {
    if (this.drivers.has(partition)) return;
    const run = this.driveLoop(partition)
      .catch((error: unknown) => this.logger.error({ err: error, partition }, 'partition driver failed'))
      .finally(() => {
        this.drivers.delete(partition);
        // A view that arrived during the last await.
        if (!this.closing && this.wanted.has(partition) !== this.slots.has(partition)) this.drive(partition);
      });
    this.drivers.set(partition, run);
  }

  private async driveLoop(partition: number): Promise<void> {
    let failures = 0;
    for (;;) {
      const want = !this.closing && this.wanted.has(partition);
      const slot = this.slots.get(partition);
      if (want && !slot) {
        const generation = this.generation;
        const taken = await this.acquire(partition, generation);
        failures = taken ? 0 : failures + 1;
        if (!taken) await sleep(lockRetryMs(failures));
      } else if (!want && slot) {
        await this.release(slot, this.closing ? 'shutdown' : this.member ? 'handover' : 'left');
      } else {
        return;
      }
    }
  }

  /** Holds the lock, restores, consumes; false when the lock is held elsewhere (or the view moved on). */
  private async acquire(partition: number, generation: number): Promise<boolean> {
    const { config, store } = this.options;
    const topology = { ...config.topology, queue: partitionQueue(config.topology.queue, partition), consumers: 'single-active' as const };
    const pipeline = new Pipeline({
      ...this.options.pipeline, store, logger: this.logger.child({ partition }),
      ownsCall: (callId) => partitionOf(callId, this.count) === partition,
    });
    let restored = 0;
    const consumer = new BatchConsumer({
      amqp: config.amqp, topology, intake: config.intake, logger: this.logger.child({ partition }),
      connectionName: `opensips-qbl-p${partition}`,
      handler: async (batch) => {
        this.perPartition[partition]!.delivered += batch.length;
        const verdicts = await pipeline.handleBatch(batch);
        this.perPartition[partition]!.committed += batch.length;
        return verdicts;
      },
      lockQueue: ownerQueue(config.topology.queue, partition),
      declare: async (connection) => {
        const channel = await connection.createChannel();
        await declarePartitionQueue(channel, config.topology, partition);
        await channel.close();
      },
      beforeConsume: async () => {
        if (generation !== this.generation && !this.wanted.has(partition)) throw new Error('partition no longer wanted');
        restored = await pipeline.restore();
      },
      beforeRelease: async () => {
        await pipeline.idle();
        pipeline.correlator.reset();
      },
    });
    try {
      await consumer.start();
    } catch (error) {
      await consumer.close().catch(() => undefined);
      if (!(error instanceof QueueTakenError)) this.logger.warn({ err: error, partition }, 'partition: taking it failed; retrying');
      return false;
    }
    const slot: Slot = { partition, pipeline, consumer, sweeping: true, acquiredAtMs: Date.now() };
    this.slots.set(partition, slot);
    this.pipelines.push(pipeline);
    this.consumers.push(consumer);
    this.logger.info({ partition, owner: this.id, atMs: slot.acquiredAtMs, openCalls: restored }, 'partition acquired');
    // Connection lost: the broker has (or soon has) given the lock away; drop the partition, take it again if still ours.
    consumer.once('disconnected', () => {
      // Never an unhandled rejection (it would end the process): a failed release is logged, the driver takes it from there.
      this.release(slot, 'connection-lost')
        .catch((error: unknown) => this.logger.error({ err: error, partition }, 'partition: releasing it after a lost connection failed'))
        .finally(() => this.drive(partition));
    });
    return true;
  }

  private async release(slot: Slot, reason: 'handover' | 'left' | 'shutdown' | 'connection-lost'): Promise<void> {
    if (this.slots.get(slot.partition) !== slot) return;
    slot.sweeping = false;
    // Stop intake, commit and ack the batch in flight, cancel, drop the calls (beforeRelease), then close: the lock goes last.
    try {
      await slot.consumer.close();
    } finally {
      if (this.slots.get(slot.partition) === slot) this.slots.delete(slot.partition);
    }
    this.logger.info({ partition: slot.partition, owner: this.id, atMs: Date.now(), reason }, 'partition released');
  }

  /** Sweeps every partition this instance owns. */
  async sweep(): Promise<void> {
    await Promise.all([...this.slots.values()].filter((s) => s.sweeping).map((s) => s.pipeline.sweep()));
  }

  async idle(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => s.pipeline.idle()));
  }

  /** Stops routing, gives every partition up (in-flight batches acked), leaves. */
  async close(): Promise<void> {
    this.closing = true;
    this.wanted = new Set();
    await this.router.close();
    await Promise.all([...this.slots.values()].map((slot) => this.release(slot, 'shutdown')));
    await Promise.all([...this.drivers.values()]);
    await this.membership.close();
  }

  openCallCount(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.pipeline.correlator.openCallCount;
    return n;
  }

  oldestOpenCallAgeS(): number {
    return Math.max(0, ...[...this.slots.values()].map((s) => s.pipeline.oldestOpenCallAgeS()));
  }

  /** What /metrics exports per partition and for the router. */
  readings(): PartitionReadings {
    const byPartition = (pick: (partition: number) => number): Record<string, number> =>
      Object.fromEntries(this.perPartition.map((_, partition) => [String(partition), pick(partition)]));
    const { stats } = this.router;
    return {
      owned: byPartition((p) => (this.slots.has(p) ? 1 : 0)),
      delivered: byPartition((p) => this.perPartition[p]!.delivered),
      committed: byPartition((p) => this.perPartition[p]!.committed),
      routed: byPartition((p) => stats.routed[p]!),
      routerDeadLetters: Object.values(this.router.consumer.stats.deadLettered).reduce((a, b) => a + (b ?? 0), 0),
      confirmSeconds: stats.confirmSecondsSum,
      confirmBatches: stats.confirmBatches,
    };
  }

  /** The partition consumers' and the router's counts, summed over every one this instance has had. */
  consumerStats(): ConsumerStats {
    const all = [this.router.consumer, ...this.consumers].map((c) => c.stats);
    const total = sum(all);
    total.connected = this.router.consumer.stats.connected;
    total.blocked = all.some((s) => s.blocked);
    total.lastError = all.map((s) => s.lastError).filter((e) => e !== undefined).pop();
    return total;
  }

  pipelineStats(): PipelineStats {
    const total = sum(this.pipelines.map((p) => p.stats));
    total.lastCommitMs = this.pipelines.at(-1)?.stats.lastCommitMs ?? 0;
    const last = this.pipelines.map((p) => p.stats.lastCdrAtUs).filter((t) => t !== null) as number[];
    total.lastCdrAtUs = last.length === 0 ? null : Math.max(...last);
    return total;
  }
}

/** The decoder's call id, or the dead letter the consumer would make of the body (the router's reading; bench/partitions-router-child.ts too). */
export function callIdOf(body: Buffer, config: Config): string | DeadLetterVerdict {
  const decoded = decodeMessage(body, config.decoder);
  return decoded.ok ? decoded.event.callId : { action: 'dead-letter', reason: decoded.reason, detail: decoded.detail, stage: 'decode' };
}

/** Numbers added, records merged key by key; anything else taken from the last. */
function sum<T extends object>(items: readonly T[]): T {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    for (const [key, value] of Object.entries(item)) {
      if (typeof value === 'number') out[key] = ((out[key] as number | undefined) ?? 0) + value;
      else if (value !== null && typeof value === 'object') out[key] = sum([(out[key] ?? {}) as object, value as object]);
      else out[key] = value;
    }
  }
  return out as T;
}
