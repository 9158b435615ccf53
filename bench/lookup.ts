/**
 * The number lookup's figures (issue 18), all while the service drains a backlog:
 * - latency: the lookup, and a bare Node HTTP server answering a constant JSON (a real answer's
 *   bytes) from a worker thread of the same process, each under the same paced load from a child
 *   process (at priority 0), in drains of the same backlog; p99 of the lookup over p99 of the bare server;
 * - throughput: as many lookups as 64 busy connections get answered, during a drain;
 * - the pipeline's slowdown: drains with paced lookups, each between two drains without (after a
 *   warm-up drain that is not counted), their rates compared; the load runs at LOAD_NICE (it stands
 *   in for OpenSIPS, whose CPU is not the lookup's), and a second figure with it at the service's
 *   own priority;
 * - bytes per tracked number and per (caller, prefix) pair (a child with --expose-gc);
 * - the rebuild at start: CDRs read back from SQLite into the figures, timed.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { Cdr } from '../correlators/cdr';
import { loadConfig, type QueueType } from '../src/config/config';
import { LookupWorker } from '../src/lookup/lookup-worker';
import { DEFAULT_DIAL_PLAN } from '../src/numbers/dial-plan';
import { SqliteLookupStore } from '../src/stores/sqlite/lookup-store';
import { SqliteStore } from '../src/stores/sqlite/sqlite-store';
import { percentile } from './latency';
import type { LoadOptions, LoadResult } from './lookup-load';
import type { LatencySnapshot } from '../src/lookup/protocol';
import { assertPipelineCorrect, measurePipeline, type PipelineResult } from './pipeline';
import type { IntakeFlags } from './service-run';
import type { BenchMessage } from './broker';
import { syntheticCdr } from './lookup-cdrs';
import { factOf } from '../src/lookup/facts';

export interface LookupBenchOptions extends IntakeFlags {
  readonly queueType: QueueType;
  /** Paced lookups per second during a drain. */
  readonly ratePerS: number;
  readonly connections: number;
  /** Numbers tracked for the bytes-per-number figure. */
  readonly memoryNumbers: number;
  /** CDRs in the store for the rebuild figure. */
  readonly rebuildCdrs: number;
}

export interface LatencyFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Answers completed per second over the drain. */
  readonly perS: number;
  readonly errors: number;
  /** Requests due during the drain that never got a connection before the run stopped (an overloaded server). */
  readonly unsent: number;
}

export interface LookupBenchResult {
  /** p99 of the lookup thread's own answer time in the paced drain (a histogram bucket's bound, ms). */
  readonly serverP99Ms: number | null;
  /** Lookup and bare server in alternating slices of one drain. */
  readonly lookup: LatencyFigures;
  readonly bare: LatencyFigures;
  /** The lookup alone under the paced load (the drain the slowdown is measured on). */
  readonly lookupOnly: LatencyFigures;
  readonly maxPerS: number;
  readonly drainAlonePerS: number;
  readonly drainWithLookupsPerS: number;
  /** 1 - with / alone, the load at LOAD_NICE. */
  readonly slowdown: number;
  /**
   * CPU per lookup in the drains at LOAD_NICE: the service's (its CPU per event over the drain,
   * less that of the drains without lookups around it, per lookup answered) and the load's own.
   */
  readonly serviceCpuUsPerLookup: number;
  readonly loadCpuUsPerLookup: number;
  /** The same with the load at the service's own priority: OpenSIPS's side of each lookup charged to this machine's drain too. */
  readonly drainWithLookupsSamePriorityPerS: number;
  readonly slowdownSamePriority: number;
  readonly bytesPerNumber: number;
  readonly bytesPerPair: number;
  readonly rebuildCdrs: number;
  readonly rebuildMs: number;
}

/** The throughput run keeps this many times the paced load's connections busy. */
export const MAX_LOAD_FACTOR = 4;

/** A bare Node HTTP server in a worker thread: the same body for every request. */
const BARE_SERVER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
const server = createServer({ keepAliveTimeout: 65000 }, (req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(workerData.body) });
  res.end(workerData.body);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => { server.closeAllConnections(); server.close(() => parentPort.close()); });
`;

async function startBareServer(body: string): Promise<{ port: number; stop(): Promise<void> }> {
  const worker = new Worker(BARE_SERVER, { eval: true, workerData: { body } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    port,
    stop: () => new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage('end');
    }),
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Lookup paths as OpenSIPS would send them: the stream's callees, each with its caller. */
export function lookupPaths(expected: readonly Cdr[], limit = 10_000): string[] {
  return expected.slice(0, limit).filter((cdr) => cdr.callee !== null).map((cdr) =>
    `/v1/numbers/${encodeURIComponent(cdr.callee!)}${cdr.caller === null ? '' : `?caller=${encodeURIComponent(cdr.caller)}`}`);
}

/**
 * The load's scheduling priority (nice) in the measured drains. It stands in for OpenSIPS, which
 * in production runs on cores of its own: its half of each request (a raw-socket HTTP client, about
 * as much CPU as the lookup's own side on loopback) is not what the lookup costs the pipeline. At
 * nice 19 it takes the cores the drain leaves idle (fsync waits) first; every request is still
 * timed from when it was due, so a load held back shows as latency and as fewer answers, for the
 * lookup and the bare server alike. The slowdown is also measured with the load at priority 0.
 */
export const LOAD_NICE = 19;

/** Starts the load in a child process at priority `nice`; `stop()` ends it and resolves with what it measured. */
function loadInChild(options: LoadOptions, nice: number): { started: Promise<void>; stop(): Promise<LoadResult> } {
  const child = fork(join(__dirname, 'lookup-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Raising one's own child's nice needs no privilege.
  if (nice !== 0 && child.pid !== undefined) setPriority(child.pid, nice);
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => { started = resolve; });
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.on('message', (message) => {
      if (message === 'started') started();
      else resolve(message as LoadResult);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`lookup load exited with ${code} before answering`)));
  });
  void result.catch(() => started()); // a child that dies does not leave the drain waiting
  child.send(options);
  let stopping: Promise<LoadResult> | undefined;
  return {
    started: startedPromise,
    stop() {
      stopping ??= (child.send('end'), result);
      return stopping;
    },
  };
}

/** Latency of the requests to `target` due while the drain ran (first delivery to last commit), and its answers per second within it. */
export function latencyWithin(result: LoadResult, fromMs: number, toMs: number, target = 0): LatencyFigures {
  const latencies: number[] = [];
  let answered = 0;
  for (let k = 0; k < result.samples.length; k += 3) {
    if (result.samples[k + 2] !== target) continue;
    const dueMs = result.samples[k]!;
    const latencyMs = result.samples[k + 1]!;
    if (dueMs >= fromMs && dueMs <= toMs) latencies.push(latencyMs);
    if (dueMs + latencyMs >= fromMs && dueMs + latencyMs <= toMs) answered += 1;
  }
  latencies.sort((a, b) => a - b);
  const spanS = Math.max(0.001, (toMs - Math.max(fromMs, result.startedAtMs)) / 1000);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), perS: answered / spanS, errors: result.errors, unsent: result.unsent };
}

interface Drain {
  readonly pipeline: PipelineResult;
  readonly load: LoadResult | null;
  /** The lookup thread's own answer times over the drain (qbl_lookup_duration_seconds). */
  readonly server: LatencySnapshot | null;
}

/** The upper bound (ms) of the histogram bucket holding the `p`-th percentile; null when empty. */
export function histogramPercentileMs(latency: LatencySnapshot, p: number): number | null {
  if (latency.count === 0) return null;
  let cumulative = 0;
  for (let i = 0; i < latency.counts.length; i += 1) {
    cumulative += latency.counts[i]!;
    if (cumulative >= (p / 100) * latency.count) return i < latency.boundsS.length ? latency.boundsS[i]! * 1000 : Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}

/** One drain of the backlog by the service (lookup on), with `load` (given the lookup's port) run alongside. */
async function drain(messages: readonly BenchMessage[], expected: readonly Cdr[], options: LookupBenchOptions,
  load: ((lookupPort: number) => LoadOptions) | null, nice = LOAD_NICE): Promise<Drain> {
  const lookupPort = await freePort();
  let result: LoadResult | null = null;
  let server: LatencySnapshot | null = null;
  const pipeline = await measurePipeline(messages, expected, {
    ...options, lookupPort,
    alongside: async (running) => {
      if (load === null) return { stop: async () => undefined };
      const child = loadInChild(load(lookupPort), nice);
      // The drain's figures count only while the load runs: the load must be running before the drain is well under way.
      await child.started;
      return {
        stop: async () => {
          if (result !== null) return;
          result = await child.stop();
          server = (await running.service.lookup?.workerStats())?.latency ?? null;
        },
      };
    },
  });
  assertPipelineCorrect(pipeline, 'lookup bench drain');
  return { pipeline, load: result, server };
}

/** The load's figures during the drain; a load that got errors or no answers is no result (a server that answers 503 is fast). */
function within(d: Drain, target = 0): LatencyFigures {
  const figures = latencyWithin(d.load!, d.pipeline.firstReceivedAtMs, d.pipeline.lastCommitAtMs, target);
  if (d.load!.errors > 0 || !(figures.perS > 0)) {
    throw new Error(`lookup bench: ${d.load!.errors} requests failed and ${Math.round(figures.perS)} answers/s to port #${target} during the drain`);
  }
  return figures;
}

/** Requests the load got answered during the drain (first delivery to last commit), from its figures. */
function answeredWithin(d: Drain, figures: LatencyFigures): number {
  return figures.perS * Math.max(0.001, (d.pipeline.lastCommitAtMs - Math.max(d.pipeline.firstReceivedAtMs, d.load!.startedAtMs)) / 1000);
}

/** The service's CPU per lookup: a with-drain's CPU per event over its neighbours' without, times events, per lookup answered. */
export function serviceCpuUsPerLookup(withUsPerEvent: number, aloneUsPerEvent: readonly [number, number], events: number, lookups: number): number {
  return ((withUsPerEvent - (aloneUsPerEvent[0] + aloneUsPerEvent[1]) / 2) * events) / Math.max(1, lookups);
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);

/**
 * `1 − rate with lookups / rate without`, each with-drain against the mean of the drains just
 * before and after it, averaged over the with-drains `counted` picks (all by default): `alone`
 * has one more entry than `withLookups` (alone, with, alone, with, …, alone).
 */
export function bracketedSlowdown(alone: readonly number[], withLookups: readonly number[],
  counted: (index: number) => boolean = () => true): number {
  if (alone.length !== withLookups.length + 1 || withLookups.length === 0) {
    throw new Error(`lookup bench: ${alone.length} drains without lookups around ${withLookups.length} with them`);
  }
  const ratios = withLookups.map((rate, i) => rate / ((alone[i]! + alone[i + 1]!) / 2)).filter((_, i) => counted(i));
  if (ratios.length === 0) throw new Error('lookup bench: no drain with lookups counted');
  return 1 - mean(ratios);
}

/** A with-drain counts only if its load got (nearly) the paced rate answered: held back, it would understate the slowdown. */
export const MIN_PACED_SHARE = 0.95;

export function assertLoadKeptPace(figures: LatencyFigures, ratePerS: number): void {
  if (figures.perS < MIN_PACED_SHARE * ratePerS) {
    throw new Error(`lookup bench: the load got ${Math.round(figures.perS)} of ${ratePerS} lookups/s answered during a drain: `
      + 'a slowdown measured with fewer lookups than paced would be understated');
  }
}

/** The with-drains in turn: at LOAD_NICE (even places, the headline, one more of them) and at priority 0 (odd places). */
export const WITH_DRAIN_NICES: readonly number[] = Object.freeze([LOAD_NICE, 0, LOAD_NICE, 0, LOAD_NICE]);

/** The answer the bare server sends for every request: a real answer's bytes. */
export const BARE_BODY = '{"number":"+5511987654321","e164":"+5511987654321","verdict":"allow","reasons":[],'
  + '"figures":{"window_days":7,"calls":3,"answered":2,"invalid":0,"last_final_code":200,"last_seen":"2026-11-27T13:05:09.000000Z"},'
  + '"burst":{"caller":"+5511912345678","prefix":"+551198","window_s":600,"calls":1,"short_or_unanswered":0},"blocklist":null}';

export async function measureLookup(messages: readonly BenchMessage[], expected: readonly Cdr[], options: LookupBenchOptions,
  log: (line: string) => void = () => undefined): Promise<LookupBenchResult> {
  const paths = lookupPaths(expected);
  const bare = await startBareServer(BARE_BODY);
  try {
    const load = (ports: number[], mode: 'paced' | 'max'): LoadOptions => ({
      ports, paths, mode, ratePerS: options.ratePerS, sliceMs: 250, connections: options.connections, maxDurationMs: 600_000, warmUp: true,
    });
    // A first drain warms the JIT, the broker's queue and the page cache; it is not counted.
    const warm = await drain(messages, expected, options, null);
    log(`lookup: warm-up drain ${Math.round(warm.pipeline.perS)}/s (not counted)`);
    // Drains without and with the paced lookups alternate, each with-drain between two without:
    // the machine's drift (other processes, the broker's own housekeeping) falls on both sides.
    const alone = [await drain(messages, expected, options, null)];
    const lookups: Drain[] = [];
    const paced = (port: number) => load([port], 'paced');
    for (const nice of WITH_DRAIN_NICES) {
      lookups.push(await drain(messages, expected, options, paced, nice));
      alone.push(await drain(messages, expected, options, null));
    }
    const alonePerS = alone.map((d) => d.pipeline.perS);
    const withPerS = lookups.map((d) => d.pipeline.perS);
    const niced = (i: number) => WITH_DRAIN_NICES[i] === LOAD_NICE;
    const nicedIndexes = WITH_DRAIN_NICES.map((_, i) => i).filter(niced);
    const nicedFigures = new Map(nicedIndexes.map((i) => [i, within(lookups[i]!)]));
    for (const figures of nicedFigures.values()) assertLoadKeptPace(figures, options.ratePerS);
    const serviceCpu = mean(nicedIndexes.map((i) => serviceCpuUsPerLookup(lookups[i]!.pipeline.cpu.consumerUs,
      [alone[i]!.pipeline.cpu.consumerUs, alone[i + 1]!.pipeline.cpu.consumerUs], lookups[i]!.pipeline.committedEvents,
      answeredWithin(lookups[i]!, nicedFigures.get(i)!))));
    const loadCpu = mean(nicedIndexes.map((i) => lookups[i]!.load!.cpuUs / Math.max(1, lookups[i]!.load!.samples.length / 3 + lookups[i]!.load!.errors)));
    log(`lookup: CPU per lookup during the drains: service ${serviceCpu.toFixed(1)} µs, load ${loadCpu.toFixed(1)} µs`);
    log(`lookup: drains ${alonePerS.map(Math.round).join(', ')}/s alone, ${withPerS.map(Math.round).join(', ')}/s with ${options.ratePerS} lookups/s `
      + `(in turns; load at nice ${WITH_DRAIN_NICES.join(', ')})`);
    // Lookup and bare server in turns of 250 ms within one drain: both measured under the same conditions.
    const both = await drain(messages, expected, options, (port) => load([port, bare.port], 'paced'), 0);
    const lookup = within(both, 0);
    const bareFigures = within(both, 1);
    log(`lookup: p99 ${lookup.p99Ms.toFixed(2)} ms, bare server ${bareFigures.p99Ms.toFixed(2)} ms (alternating, during a drain)`);
    // As many in flight as OpenSIPS's async transfers allow: 4 per connection of the paced load (16 workers × 4).
    const max = within(await drain(messages, expected, options, (port) => ({ ...load([port], 'max'), connections: options.connections * MAX_LOAD_FACTOR }), 0));
    log(`lookup: ${Math.round(max.perS)} lookups/s at most (${options.connections * MAX_LOAD_FACTOR} connections, during a drain)`);
    const memory = await measureLookupMemory(options.memoryNumbers);
    const rebuild = await measureRebuild(options.rebuildCdrs);
    log(`lookup: ${memory.bytesPerNumber} B/number, ${memory.bytesPerPair} B/pair; rebuild of ${rebuild.cdrs} CDRs ${rebuild.ms} ms`);
    return {
      serverP99Ms: lookups[0]!.server === null ? null : histogramPercentileMs(lookups[0]!.server, 99),
      lookup,
      bare: bareFigures,
      lookupOnly: nicedFigures.get(0)!,
      maxPerS: max.perS,
      drainAlonePerS: mean(alonePerS),
      drainWithLookupsPerS: mean(withPerS.filter((_, i) => niced(i))),
      slowdown: bracketedSlowdown(alonePerS, withPerS, niced),
      serviceCpuUsPerLookup: serviceCpu,
      loadCpuUsPerLookup: loadCpu,
      drainWithLookupsSamePriorityPerS: mean(withPerS.filter((_, i) => !niced(i))),
      slowdownSamePriority: bracketedSlowdown(alonePerS, withPerS, (i) => !niced(i)),
      bytesPerNumber: memory.bytesPerNumber,
      bytesPerPair: memory.bytesPerPair,
      rebuildCdrs: rebuild.cdrs,
      rebuildMs: rebuild.ms,
    };
  } finally {
    await bare.stop();
  }
}

const run = promisify(execFile);

export async function measureLookupMemory(numbers: number): Promise<{ bytesPerNumber: number; bytesPerPair: number }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', join(__dirname, 'lookup-memory-child.js'), String(numbers)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { bytesPerNumber: number; bytesPerPair: number };
}

/**
 * `cdrs` CDRs of the last days in a fresh SQLite file (as the service commits them), then the
 * rebuild the lookup runs at start: read them back, fold them into the worker thread's figures.
 */
export async function measureRebuild(cdrs: number): Promise<{ cdrs: number; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-rebuild-'));
  const path = join(dir, 'qbl.db');
  try {
    const store = SqliteStore.open(path);
    const nowUs = Date.now() * 1000;
    for (let done = 0; done < cdrs; done += 5000) {
      const batch = Array.from({ length: Math.min(5000, cdrs - done) }, (_, k) => syntheticCdr(done + k, nowUs));
      await store.commit({ events: [], cdrs: batch, openCalls: [], closedCallIds: [] });
    }
    await store.close();
    const config = loadConfig({}).lookup; // the defaults
    const lookupStore = SqliteLookupStore.open(path);
    const worker = await LookupWorker.start({
      host: '127.0.0.1', port: 0, dialPlan: DEFAULT_DIAL_PLAN, limits: config.limits, pruneIntervalMs: 60_000,
      rules: { ...config.rules, invalidCodes: [...config.rules.invalidCodes] },
    }, () => undefined);
    try {
      const started = Date.now();
      const read = await lookupStore.callsSince(nowUs - config.rules.windowDays * 86_400_000_000, (chunk) => worker.ingest(chunk.map(factOf)));
      const stats = await worker.stats(600_000); // answered once every fact sent before it is folded in
      const ms = Date.now() - started;
      if (stats?.state.facts !== read) throw new Error(`rebuild folded ${stats?.state.facts} of ${read} CDRs`);
      return { cdrs: read, ms };
    } finally {
      await worker.close();
      await lookupStore.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
