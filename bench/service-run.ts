/** Starts the real Service in-process on a unique topology and a temporary SQLite file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config, type QueueType, type TopologyConfig } from '../src/config/config';
import { createLogger, type Logger } from '../src/observability/logger';
import { Service } from '../src/pipeline/service';
import { openCallStore } from '../src/stores/open';
import { SqliteReader } from '../src/stores/sqlite/sqlite-reader';
import { CDR_FIELDS, type Cdr } from '../correlators/cdr';
import { TimedStore, type CommitNote } from './timed-store';
import { benchIndexPrefix, deleteBenchIndices, searchEnv, storedSearchCdrs } from './search';

export interface IntakeFlags {
  readonly prefetch: number;
  readonly batchSize: number;
  readonly batchWaitMs: number;
}

export interface ServiceRunOptions extends IntakeFlags {
  readonly queueType: QueueType;
  readonly topology: TopologyConfig;
  /** The search store (OPENSEARCH_* or ELASTICSEARCH_* from the environment), on a fresh index prefix. */
  readonly search?: boolean;
  readonly onCommit?: (note: CommitNote) => void;
  /** Turns the number lookup on, on this port. */
  readonly lookupPort?: number;
}

export function benchConfig(options: ServiceRunOptions, sqlitePath: string): Config {
  const t = options.topology;
  const env: Record<string, string | undefined> = {
    AMQP_URL: process.env.AMQP_URL,
    QBL_EXCHANGE: t.exchange,
    QBL_QUEUE: t.queue,
    QBL_QUEUE_TYPE: options.queueType,
    QBL_DEAD_LETTER_EXCHANGE: t.deadLetterExchange,
    QBL_DEAD_LETTER_QUEUE: t.deadLetterQueue,
    QBL_PREFETCH: String(options.prefetch),
    QBL_BATCH_SIZE: String(options.batchSize),
    QBL_BATCH_WAIT_MS: String(options.batchWaitMs),
    SQLITE_PATH: sqlitePath,
    QBL_HTTP_PORT: '0',
    QBL_STATS_INTERVAL_S: '0',
    QBL_INDEX_PREFIX: benchIndexPrefix('pipeline'),
    QBL_LOOKUP_PORT: options.lookupPort === undefined ? undefined : String(options.lookupPort),
  };
  return loadConfig(options.search ? { ...env, ...searchEnv() } : env);
}

export interface RunningService {
  readonly service: Service;
  readonly store: TimedStore;
  readonly config: Config;
  /** Every stored CDR, read through a second (read-only) connection. */
  storedCdrs(): Promise<Cdr[]>;
  openCallRows(): number;
  /** Stops the service and deletes the temporary directory. */
  stop(): Promise<void>;
}

export async function startService(options: ServiceRunOptions, logger: Logger = createLogger(process.env.LOG_LEVEL ?? 'warn')): Promise<RunningService> {
  const dir = mkdtempSync(join(tmpdir(), 'qbl-bench-'));
  const config = benchConfig(options, join(dir, 'qbl.db'));
  let service: Service | undefined;
  try {
    const store = new TimedStore(await openCallStore(config, logger), options.onCommit);
    service = await Service.start({ config, logger, store });
    const running = service;
    const reader = (): SqliteReader => SqliteReader.open(config.sqlitePath);
    return {
      service: running,
      store,
      config,
      async storedCdrs() {
        if (config.search) return storedSearchCdrs(config.search);
        const db = reader();
        try {
          return (await db.searchCdrs({ limit: 10_000_000 })).map((s) => s.cdr);
        } finally {
          await db.close();
        }
      },
      openCallRows() {
        const db = reader();
        try {
          return db.countRows().openCalls;
        } finally {
          void db.close();
        }
      },
      async stop() {
        await running.close();
        if (config.search) await deleteBenchIndices(config.search);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** CDRs that differ from what the generator says the service must produce (by call id), plus missing and extra ones. */
export function compareCdrs(stored: readonly Cdr[], expected: readonly Cdr[]): { matching: number; mismatched: string[]; missing: number; extra: number } {
  const byCall = new Map(stored.map((cdr) => [cdr.call_id, cdr]));
  const mismatched: string[] = [];
  let matching = 0;
  let missing = 0;
  for (const want of expected) {
    const got = byCall.get(want.call_id);
    if (got === undefined) missing += 1;
    else if (CDR_FIELDS.every((field) => got[field] === want[field])) matching += 1;
    else mismatched.push(want.call_id);
  }
  const wanted = new Set(expected.map((cdr) => cdr.call_id));
  const extra = stored.filter((cdr) => !wanted.has(cdr.call_id)).length;
  return { matching, mismatched, missing, extra };
}
