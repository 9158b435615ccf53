/**
 * Scale-out figures of QBL_PARTITIONS (issue 13; docs/performance.md, "Scale-out (issue 13)"),
 * on the search store only (OPENSEARCH_URL or ELASTICSEARCH_URL), P = 8:
 *
 * - Aggregate events/s with 1, 2 and 3 `qbl start` processes on one intake queue. Per N, a fresh
 *   queue name and index prefix; the instances start and their partitions settle, balanced,
 *   before anything is published (start-up and settling are not timed). Then the bench's stream
 *   is published to the intake exchange with confirms, and the clock runs from the first publish
 *   (the routers are already consuming: the first delivery follows within milliseconds) to the
 *   first poll of the engine (every POLL_MS) that finds every expected CDR with all its events;
 *   the CDRs are then read back and must equal the expected ones exactly, or there is no figure.
 * - The router's CPU per event, in isolation: the router alone (bench/partitions-router-child.ts)
 *   moving a backlog already in the intake queue to the 8 partition queues, which have no
 *   consumer; its process's CPU time (/proc) over the events routed, and the broker's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ChannelModel } from 'amqplib';
import { loadConfig, type Config, type QueueType } from '../src/config/config';
import type { SearchConfig } from '../src/stores/search/options';
import { membersExchange, ownerQueue, partitionExchange, partitionQueue } from '../consumers/amqp/partitions';
import type { Cdr } from '../correlators/cdr';
import { amqpUrl, type BenchMessage, benchTopology, declare, delay, openConnection, publishConfirmed, queueDepth, waitForDepth } from './broker';
import { findBrokerPid, processCpuUs } from './cpu';
import { authHeaders, benchIndexPrefix, deleteBenchIndices, searchEnv, searchSkipReason, storedSearchCdrs } from './search';
import { compareCdrs, type IntakeFlags } from './service-run';
import type { BenchReport } from './report';

export const BENCH_PARTITIONS = 8;
export const INSTANCE_COUNTS = [1, 2, 3] as const;
/** How often the engine is asked whether every CDR is complete: the end of the clock is late by at most this (plus one request). */
const POLL_MS = 100;
const SETTLE_TIMEOUT_MS = 60_000;

export type PartitionFigures = Pick<BenchReport, 'partitions_instances_1_per_s' | 'partitions_instances_2_per_s' | 'partitions_instances_3_per_s'
  | 'partitions_router_cpu_us' | 'partitions_router_broker_cpu_us' | 'partitions_skipped'>;

export interface PartitionOptions extends IntakeFlags {
  readonly queueType: QueueType;
  /** Gives up when the CDRs stop progressing for this long. */
  readonly stallTimeoutMs?: number;
}

export interface ScaleOutResult {
  readonly instances: number;
  readonly events: number;
  readonly elapsedMs: number;
  readonly perS: number;
  readonly matchingCdrs: number;
  /** Milliseconds the instances took to start and settle (not timed in perS). */
  readonly settleMs: number;
  /** The intake queue it used (deleted, with its partitions, before returning). */
  readonly queue: string;
}

export interface RouterCpuResult {
  readonly events: number;
  readonly routerCpuUs: number;
  readonly brokerCpuUs: number | null;
  readonly elapsedMs: number;
  readonly queue: string;
}

/** `qbl`'s entry point and the router child, compiled: next to this file under dist/, or dist/ when run from the sources (jest). */
function compiled(...path: string[]): string {
  const fromDist = join(__dirname, '..', ...path);
  return __filename.endsWith('.js') ? fromDist : join(__dirname, '..', 'dist', ...path);
}

/** The environment of an instance (or of the router alone): the bench's broker, engine and intake, a fresh topology and prefix. */
function partitionEnv(queueType: QueueType, intake: IntakeFlags, indexPrefix: string, sqliteDir: string): Record<string, string> {
  const t = benchTopology(queueType, 'partitions');
  const env: Record<string, string | undefined> = {
    ...searchEnv(),
    AMQP_URL: amqpUrl(),
    QBL_EXCHANGE: t.exchange,
    QBL_QUEUE: t.queue,
    QBL_QUEUE_TYPE: queueType,
    QBL_DEAD_LETTER_EXCHANGE: t.deadLetterExchange,
    QBL_DEAD_LETTER_QUEUE: t.deadLetterQueue,
    QBL_PARTITIONS: String(BENCH_PARTITIONS),
    QBL_PREFETCH: String(intake.prefetch),
    QBL_BATCH_SIZE: String(intake.batchSize),
    QBL_BATCH_WAIT_MS: String(intake.batchWaitMs),
    QBL_INDEX_PREFIX: indexPrefix,
    SQLITE_PATH: join(sqliteDir, 'qbl.db'),
    QBL_HTTP_PORT: '0',
    QBL_STATS_INTERVAL_S: '0',
    LOG_LEVEL: 'info',
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Deletes every queue and exchange of the topology, the partitions' too; best effort. */
async function deletePartitionTopology(model: ChannelModel, config: Config): Promise<void> {
  const t = config.topology;
  const each = async (use: (channel: Awaited<ReturnType<ChannelModel['createChannel']>>) => Promise<unknown>) => {
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    await use(channel).catch(() => undefined);
    await channel.close().catch(() => undefined);
  };
  for (let p = 0; p < config.partitions; p++) {
    await each((c) => c.deleteQueue(partitionQueue(t.queue, p)));
    await each((c) => c.deleteQueue(ownerQueue(t.queue, p)));
  }
  for (const queue of [t.queue, t.deadLetterQueue, `${t.queue}.lock`]) await each((c) => c.deleteQueue(queue));
  for (const exchange of [t.exchange, t.deadLetterExchange, partitionExchange(t.queue), membersExchange(t.queue)]) await each((c) => c.deleteExchange(exchange));
}

interface Instance {
  readonly process: ChildProcess;
  readonly owned: Set<number>;
  readonly tail: string[];
}

function startInstance(env: Record<string, string>): Instance {
  const child = spawn(process.execPath, [compiled('src', 'cli', 'main.js'), 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const instance: Instance = { process: child, owned: new Set(), tail: [] };
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      instance.tail.push(line);
      if (!line.includes('"msg":"partition ')) continue;
      const entry = JSON.parse(line) as { msg: string; partition: number };
      if (entry.msg === 'partition acquired') instance.owned.add(entry.partition);
      else if (entry.msg === 'partition released') instance.owned.delete(entry.partition);
    }
    instance.tail.splice(0, Math.max(0, instance.tail.length - 20));
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => instance.tail.push(text));
  return instance;
}

const running = (i: Instance): boolean => i.process.exitCode === null && i.process.signalCode === null;

async function stopInstances(instances: readonly Instance[]): Promise<void> {
  await Promise.all(instances.map((i) => new Promise<void>((resolve) => {
    if (!running(i)) return resolve();
    // SIGTERM commits and acks what is in flight; one that has not exited within 30 s is killed.
    const stuck = setTimeout(() => i.process.kill('SIGKILL'), 30_000);
    i.process.once('exit', () => { clearTimeout(stuck); resolve(); });
    i.process.kill('SIGTERM');
  })));
}

/** Every partition owned by exactly one instance, each owning ⌊P/N⌋ or ⌈P/N⌉. */
export function balanced(owned: readonly ReadonlySet<number>[], partitions: number): boolean {
  const all = owned.flatMap((s) => [...s]);
  const low = Math.floor(partitions / owned.length);
  return all.length === partitions && new Set(all).size === partitions && owned.every((s) => s.size === low || s.size === Math.ceil(partitions / owned.length));
}

/** Count of the CDRs under the prefix and the sum of their events, after a refresh: one cheap question per poll. */
async function cdrProgress(config: SearchConfig): Promise<{ cdrs: number; events: number }> {
  const base = config.url.replace(/\/+$/, '');
  const headers = { ...authHeaders(config), 'content-type': 'application/json' };
  const pattern = `${config.indexPrefix}-cdrs-*`;
  await fetch(`${base}/${pattern}/_refresh?allow_no_indices=true`, { method: 'POST', headers });
  const response = await fetch(`${base}/${pattern}/_search?allow_no_indices=true`, {
    method: 'POST', headers, body: JSON.stringify({ size: 0, track_total_hits: true, aggs: { events: { sum: { field: 'events' } } } }),
  });
  if (!response.ok) return { cdrs: 0, events: 0 };
  const body = (await response.json()) as { hits: { total: { value: number } | number }; aggregations?: { events: { value: number } } };
  const total = typeof body.hits.total === 'number' ? body.hits.total : body.hits.total.value;
  return { cdrs: total, events: Math.round(body.aggregations?.events.value ?? 0) };
}

/** N instances at P = 8 drain the stream; throws unless the engine ends with exactly the expected CDRs. */
export async function measureScaleOut(instances: number, messages: readonly BenchMessage[], expected: readonly Cdr[], options: PartitionOptions): Promise<ScaleOutResult> {
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-partitions-'));
  const env = partitionEnv(options.queueType, options, benchIndexPrefix(`partitions-${instances}`), dir);
  const config = loadConfig(env);
  const search = config.search!;
  const model = await openConnection('qbl-bench-partitions');
  const started: Instance[] = [];
  try {
    const settleStart = performance.now();
    for (let i = 0; i < instances; i++) started.push(startInstance({ ...env, SQLITE_PATH: join(dir, `qbl-${i}.db`) }));
    for (;;) {
      if (balanced(started.map((i) => i.owned), config.partitions)) break;
      const dead = started.find((i) => !running(i));
      if (dead) throw new Error(`an instance exited while starting: ${dead.tail.slice(-5).join(' | ')}`);
      if (performance.now() - settleStart > SETTLE_TIMEOUT_MS) throw new Error(`${instances} instances: partitions not balanced within ${SETTLE_TIMEOUT_MS / 1000} s`);
      await delay(50);
    }
    const settleMs = performance.now() - settleStart;
    const wantEvents = expected.reduce((sum, cdr) => sum + cdr.events, 0);

    const startedAt = performance.now();
    await publishConfirmed(model, config.topology.exchange, messages);
    let endedAt: number | undefined;
    let last = { cdrs: -1, events: -1 };
    let progressAt = performance.now();
    while (endedAt === undefined) {
      const askedAt = performance.now();
      const now = await cdrProgress(search);
      if (now.cdrs !== last.cdrs || now.events !== last.events) [last, progressAt] = [now, askedAt];
      else if (askedAt - progressAt > (options.stallTimeoutMs ?? 120_000)) {
        throw new Error(`${instances} instances stalled at ${now.cdrs} of ${expected.length} CDRs, ${now.events} of ${wantEvents} events`);
      }
      const dead = started.find((i) => !running(i));
      if (dead) throw new Error(`an instance exited during the drain: ${dead.tail.slice(-5).join(' | ')}`);
      if (now.cdrs >= expected.length && now.events >= wantEvents) endedAt = askedAt;
      else await delay(POLL_MS);
    }
    const elapsedMs = endedAt - startedAt;
    const check = compareCdrs(await storedSearchCdrs(search), expected);
    if (check.matching !== expected.length || check.extra > 0) {
      throw new Error(`${instances} instances: ${check.matching} of ${expected.length} CDRs exact (${check.missing} missing, ${check.mismatched.length} differ, ${check.extra} extra)`);
    }
    // Nothing left behind on the broker either: every partition and the intake queue empty.
    for (const queue of [config.topology.queue, ...Array.from({ length: config.partitions }, (_, p) => partitionQueue(config.topology.queue, p))]) {
      const depth = await queueDepth(model, queue);
      if (depth !== 0) throw new Error(`${instances} instances: ${depth} messages left in ${queue}`);
    }
    return { instances, events: messages.length, elapsedMs, perS: (messages.length * 1000) / elapsedMs, matchingCdrs: check.matching, settleMs, queue: config.topology.queue };
  } finally {
    await stopInstances(started);
    await deletePartitionTopology(model, config);
    await model.close().catch(() => undefined);
    await deleteBenchIndices(search);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The router alone moves a backlog from the intake queue to the 8 partition queues (no consumer on them): CPU per event. */
export async function measureRouterCpu(messages: readonly BenchMessage[], options: PartitionOptions): Promise<RouterCpuResult> {
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-router-'));
  const env = partitionEnv(options.queueType, options, benchIndexPrefix('router'), dir);
  const config = loadConfig(env);
  const model = await openConnection('qbl-bench-router-publisher');
  let child: ChildProcess | undefined;
  try {
    await declare(model, config.topology);
    await publishConfirmed(model, config.topology.exchange, messages);
    await waitForDepth(model, config.topology.queue, messages.length);
    const script = compiled('bench', 'partitions-router-child.js');
    if (!existsSync(script)) throw new Error(`${script} not built (npm run build)`);
    child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let errors = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => { errors += text; });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.setEncoding('utf8').on('data', (text: string) => { if (text.includes('ready')) resolve(); });
      child!.once('exit', () => reject(new Error(`the router child exited: ${errors.trim()}`)));
    });
    const pid = child.pid!;
    const brokerPid = findBrokerPid();
    const routerBefore = processCpuUs(pid)!;
    const brokerBefore = processCpuUs(brokerPid);
    const startedAt = performance.now();
    child.stdin!.write('go\n');
    const partitions = Array.from({ length: config.partitions }, (_, p) => partitionQueue(config.topology.queue, p));
    let routed = 0;
    let progressAt = performance.now();
    while (routed < messages.length) {
      await delay(20);
      if (child.exitCode !== null) throw new Error(`the router child exited: ${errors.trim()}`);
      const depths = await Promise.all(partitions.map((q) => queueDepth(model, q).catch(() => 0)));
      const now = depths.reduce((a, b) => a + b, 0);
      if (now !== routed) [routed, progressAt] = [now, performance.now()];
      else if (performance.now() - progressAt > (options.stallTimeoutMs ?? 60_000)) throw new Error(`the router stalled at ${routed} of ${messages.length} events`);
    }
    const routerAfter = processCpuUs(pid)!;
    const brokerAfter = processCpuUs(brokerPid);
    return {
      events: messages.length,
      routerCpuUs: (routerAfter - routerBefore) / messages.length,
      brokerCpuUs: brokerBefore === null || brokerAfter === null ? null : (brokerAfter - brokerBefore) / messages.length,
      elapsedMs: performance.now() - startedAt,
      queue: config.topology.queue,
    };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await deletePartitionTopology(model, config);
    await model.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const tenths = (value: number): number => Math.round(value * 10) / 10;

/** Every scale-out figure, or nulls and the reason when no engine is configured. */
export async function measurePartitions(messages: readonly BenchMessage[], expected: readonly Cdr[], options: PartitionOptions, log: (line: string) => void): Promise<PartitionFigures> {
  const skipped = searchSkipReason();
  if (skipped !== null) {
    log(`partitions skipped: ${skipped}`);
    return {
      partitions_instances_1_per_s: null, partitions_instances_2_per_s: null, partitions_instances_3_per_s: null,
      partitions_router_cpu_us: null, partitions_router_broker_cpu_us: null, partitions_skipped: skipped,
    };
  }
  const perS: number[] = [];
  for (const n of INSTANCE_COUNTS) {
    const t0 = performance.now();
    const result = await measureScaleOut(n, messages, expected, options);
    perS.push(Math.round(result.perS));
    log(`partitions: ${n} instance(s) at P = ${BENCH_PARTITIONS}: ${Math.round(result.perS)}/s (settled in ${Math.round(result.settleMs)} ms, `
      + `drained in ${Math.round(result.elapsedMs)} ms, ${Math.round(performance.now() - t0)} ms in all)`);
  }
  const router = await measureRouterCpu(messages, options);
  log(`partitions: router alone ${router.routerCpuUs.toFixed(1)} CPU µs/event (broker ${router.brokerCpuUs?.toFixed(1) ?? 'n/a'}), ${Math.round(router.elapsedMs)} ms`);
  return {
    partitions_instances_1_per_s: perS[0]!,
    partitions_instances_2_per_s: perS[1]!,
    partitions_instances_3_per_s: perS[2]!,
    partitions_router_cpu_us: tenths(router.routerCpuUs),
    partitions_router_broker_cpu_us: router.brokerCpuUs === null ? null : tenths(router.brokerCpuUs),
    partitions_skipped: null,
  };
}
