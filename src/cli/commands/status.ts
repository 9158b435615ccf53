/**
 * `qbl status`: the state of the pipeline for a person, from the outside: can we reach the broker
 * with the configured URL, how deep are the queue and the dead-letter queue, what the store holds,
 * and, if the service's ops endpoint answers on this host, its readiness. Every probe fails on its
 * own line; no credential is ever printed (URLs are redacted, error texts scrubbed).
 */
import { request } from 'node:http';
import type { ChannelModel } from 'amqplib';
import pino from 'pino';
import { connectAmqp } from '../../../consumers/amqp/connection';
import { checkQueue } from '../../../consumers/amqp/probe';
import { listenToMembers } from '../../../consumers/amqp/membership';
import { partitionQueue } from '../../../consumers/amqp/partitions';
import { loadConfig, type Config } from '../../config/config';
import { ConfigError } from '../../errors';
import { redact } from '../../redact';
import { localEndpointUrl } from '../../observability/http-server';
import { countSearchStore, openCdrReader, openLocalReader } from '../../stores/open';
import type { CdrReader } from '../../stores/store';
import type { SearchConfig } from '../../stores/search/options';
import type { SqliteReader } from '../../stores/sqlite/sqlite-reader';
import { intFlag, parseFlags } from '../../flags';
import type { CliCommand } from '../command';

export interface QueueStatus {
  readonly name: string;
  readonly ready?: number;
  readonly consumers?: number;
  readonly error?: string;
}

export interface BrokerStatus {
  readonly url: string;
  readonly connected: boolean;
  readonly error?: string;
  readonly queue?: QueueStatus;
  readonly deadLetterQueue?: QueueStatus;
  /** QBL_PARTITIONS > 1: each partition's queue, and its owner as the members' heartbeats tell it. */
  readonly partitions?: readonly PartitionStatus[];
  /** QBL_PARTITIONS > 1: the instances heard, with the partitions each says it owns. */
  readonly members?: ReadonlyArray<{ readonly id: string; readonly owned: readonly number[] }>;
}

export interface PartitionStatus extends QueueStatus {
  readonly partition: number;
  /** The instance whose heartbeat says it owns the partition; absent: none heard. */
  readonly owner?: string;
}

export interface StoreStatus {
  /** The SQLite file, or (search store) the engine's redacted URL and index prefix. */
  readonly path: string;
  /** Search store only: which engine holds everything. */
  readonly engine?: 'elasticsearch' | 'opensearch';
  /** Search store only: documents of `<prefix>-calls` (one per call; openCalls of them are open). */
  readonly callDocuments?: number;
  readonly openCalls?: number;
  readonly cdrs?: number;
  readonly events?: number;
  readonly error?: string;
  /** The newest CDR by call start (from the search engine when one is configured). */
  readonly newestCdr?: { readonly callId: string; readonly inviteAt: string | null; readonly endAt: string | null; readonly disposition: string };
  readonly newestCdrError?: string;
}

export interface ServiceStatus {
  readonly url: string | null;
  readonly answered: boolean;
  readonly readiness?: { status: string; broker: boolean; store: boolean };
  readonly error?: string;
}

export interface StatusReport {
  readonly broker: BrokerStatus;
  readonly store: StoreStatus;
  readonly service: ServiceStatus;
}

const USAGE = `usage: qbl status [--json] [--timeout-ms N]
  --json           one JSON object instead of the table
  --timeout-ms N   per probe (default 5000)
Exit code 0 when the broker and the store both answered, 1 otherwise.
Configuration from the environment, as for \`qbl start\`.`;

const FLAGS = { json: { type: 'boolean' }, 'timeout-ms': { type: 'string' } } as const;

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

/** Any error text with the AMQP URL and password removed. */
function scrub(error: unknown, config: Config): string {
  return redact(messageOf(error), { urls: [config.amqp.url] });
}

export async function probeBroker(config: Config, timeoutMs: number): Promise<BrokerStatus> {
  const url = config.amqp.urlForLogs;
  let model;
  try {
    model = await connectAmqp(config.amqp, pino({ level: 'silent' }), { connectionName: 'opensips-qbl-status', connectTimeoutMs: timeoutMs });
  } catch (error) {
    return { url, connected: false, error: scrub(error, config).replace(/^AMQP connection to \S+ failed: /, '') };
  }
  try {
    const check = async (name: string): Promise<QueueStatus> => {
      try {
        const found = await checkQueue(model, name);
        return found ? { name, ...found } : { name, error: 'not declared (start the service once)' };
      } catch (error) {
        return { name, error: scrub(error, config) };
      }
    };
    return {
      url, connected: true,
      queue: await check(config.topology.queue),
      deadLetterQueue: await check(config.topology.deadLetterQueue),
      ...(config.partitions > 1 ? await probePartitions(model, config, check) : {}),
    };
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** Each partition's depth (a passive declare) and owner (the heartbeats heard for a few seconds). */
async function probePartitions(model: ChannelModel, config: Config, check: (name: string) => Promise<QueueStatus>): Promise<Pick<BrokerStatus, 'partitions' | 'members'>> {
  const queue = config.topology.queue;
  const heard = await listenToMembers(model, queue).catch(() => []);
  const owners = new Map<number, string>();
  for (const beat of heard) for (const partition of beat.owned ?? []) owners.set(partition, beat.id);
  const out: PartitionStatus[] = [];
  for (let partition = 0; partition < config.partitions; partition++) {
    const owner = owners.get(partition);
    out.push({ partition, ...(await check(partitionQueue(queue, partition))), ...(owner === undefined ? {} : { owner }) });
  }
  return { partitions: out, members: heard.map((beat) => ({ id: beat.id, owned: beat.owned ?? [] })) };
}

export async function probeStore(config: Config, timeoutMs?: number): Promise<StoreStatus> {
  if (config.search) return probeSearchStore(config.search, timeoutMs);
  const path = config.sqlitePath;
  let local: SqliteReader;
  try {
    local = openLocalReader(config);
  } catch (error) {
    // The ConfigError names SQLITE_PATH and repeats the path; its reason is what a person needs.
    const reason = error instanceof ConfigError && error.option === 'SQLITE_PATH' ? error.reason : undefined;
    return { path, error: reason ? `no qbl database here (${reason}); has \`qbl start\` run with this SQLITE_PATH?` : messageOf(error) };
  }
  let status: StoreStatus;
  try {
    const counts = local.countRows();
    status = { path, openCalls: counts.openCalls, cdrs: counts.cdrs, events: counts.events };
  } catch (error) {
    status = { path, error: messageOf(error) };
  }
  try {
    return { ...status, ...await newestCdr(local, messageOf) };
  } finally {
    await local.close();
  }
}

/**
 * The search store: everything is on the engine (no local file in search mode), so the counts
 * come from it — CDRs, raw events, call documents and the open ones among them.
 */
async function probeSearchStore(search: SearchConfig, timeoutMs?: number): Promise<StoreStatus> {
  const path = `${search.urlForLogs} prefix ${search.indexPrefix}`;
  const scrubSearch = (error: unknown) => redact(messageOf(error), { urls: [search.url], values: [search.password, search.apiKey] });
  let status: StoreStatus;
  try {
    // Within the probe's timeout: an engine that does not answer must not hold the report.
    const counts = await countSearchStore(search, timeoutMs);
    status = { path, engine: search.engine, openCalls: counts.openCalls, cdrs: counts.cdrs, events: counts.events, callDocuments: counts.callDocuments };
  } catch (error) {
    return { path, engine: search.engine, error: scrubSearch(error) };
  }
  let reader: CdrReader;
  try {
    reader = await openCdrReader({ sqlitePath: '', search });
  } catch (error) {
    return { ...status, newestCdrError: scrubSearch(error) };
  }
  try {
    return { ...status, ...await newestCdr(reader, scrubSearch) };
  } finally {
    await reader.close().catch(() => undefined);
  }
}

/** The newest CDR by call start, or the (scrubbed) reason it could not be read. */
async function newestCdr(reader: CdrReader, describe: (error: unknown) => string): Promise<Pick<StoreStatus, 'newestCdr' | 'newestCdrError'>> {
  try {
    const [newest] = await reader.searchCdrs({ limit: 1 });
    if (!newest) return {};
    const { cdr } = newest;
    return { newestCdr: { callId: cdr.call_id, inviteAt: cdr.invite_at, endAt: cdr.end_at, disposition: cdr.disposition } };
  } catch (error) {
    return { newestCdrError: describe(error) };
  }
}

/** GET /readyz of a service on this host (0.0.0.0 is asked on 127.0.0.1). */
export function probeService(config: Config, timeoutMs: number): Promise<ServiceStatus> {
  const { port } = config.http;
  if (port === 0) return Promise.resolve({ url: null, answered: false, error: 'disabled (QBL_HTTP_PORT=0)' });
  const url = localEndpointUrl(config.http, '/readyz');
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: unknown; broker?: unknown; store?: unknown };
          resolve({ url, answered: true, readiness: { status: String(body.status), broker: body.broker === true, store: body.store === true } });
        } catch {
          resolve({ url, answered: true, error: `HTTP ${res.statusCode}: not a qbl readiness answer` });
        }
      });
      res.on('error', (error) => resolve({ url, answered: false, error: messageOf(error) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({
      url, answered: false, error: error.code === 'ECONNREFUSED' ? 'not running on this host' : messageOf(error),
    }));
    req.end();
  });
}

function queueLine(label: string, queue: QueueStatus | undefined): string {
  if (!queue) return `${label}-`;
  if (queue.error) return `${label}${queue.name}: ${queue.error}`;
  return `${label}${queue.name}  ready ${queue.ready}  consumers ${queue.consumers}`;
}

/** The report for a person: one line per fact, errors in place of the values they stop. */
export function renderStatus(report: StatusReport): string {
  const { broker, store, service } = report;
  const pad = (label: string) => label.padEnd(14);
  const lines = [
    `${pad('broker')}${broker.url}  ${broker.connected ? 'connected' : `NOT CONNECTED: ${broker.error ?? 'unknown error'}`}`,
  ];
  if (broker.connected) {
    lines.push(queueLine(pad('queue'), broker.queue));
    lines.push(queueLine(pad('dead letters'), broker.deadLetterQueue));
    if (broker.members) lines.push(`${pad('members')}${broker.members.map((m) => `${m.id} (${m.owned.length})`).join('  ') || 'none heard'}`);
    for (const p of broker.partitions ?? []) lines.push(`${queueLine(pad(`partition ${p.partition}`), p)}  owner ${p.owner ?? 'none heard'}`);
  }
  const where = store.engine === undefined ? store.path : `${store.engine} ${store.path}`;
  if (store.error) lines.push(`${pad('store')}${where}: ${store.error}`);
  else {
    const calls = store.callDocuments === undefined ? '' : `  call documents ${store.callDocuments}`;
    lines.push(`${pad('store')}${where}  open calls ${store.openCalls}  CDRs ${store.cdrs}  events ${store.events}${calls}`);
  }
  if (store.newestCdrError) lines.push(`${pad('newest CDR')}${store.newestCdrError}`);
  else if (store.newestCdr) {
    const cdr = store.newestCdr;
    lines.push(`${pad('newest CDR')}started ${cdr.inviteAt ?? '-'}  ended ${cdr.endAt ?? '-'}  ${cdr.disposition}`);
  } else if (!store.error) lines.push(`${pad('newest CDR')}none yet`);
  if (service.readiness) {
    const r = service.readiness;
    lines.push(`${pad('service')}${service.url}  ${r.status}  (broker ${r.broker ? 'ok' : 'down'}, store ${r.store ? 'ok' : 'down'})`);
  } else {
    lines.push(`${pad('service')}${service.url ?? 'ops endpoint'}: ${service.error ?? 'no answer'}`);
  }
  return `${lines.join('\n')}\n`;
}

export function statusExitCode(report: StatusReport): number {
  return report.broker.connected && report.store.error === undefined ? 0 : 1;
}

export const command: CliCommand = {
  name: 'status',
  summary: 'Show broker reachability, queue and dead-letter depths, store contents and service readiness.',
  usage: USAGE,
  async run(argv) {
    const { values } = parseFlags(argv, FLAGS);
    const timeoutMs = intFlag('timeout-ms', values['timeout-ms'], 5000, 100, 600_000);
    const config = loadConfig();
    const [broker, storeStatus, service] = await Promise.all([
      probeBroker(config, timeoutMs), probeStore(config, timeoutMs), probeService(config, timeoutMs),
    ]);
    const report: StatusReport = { broker, store: storeStatus, service };
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderStatus(report));
    return statusExitCode(report);
  },
};
