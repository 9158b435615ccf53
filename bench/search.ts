/**
 * The search-store path (OPENSEARCH_URL or ELASTICSEARCH_URL): the engine's own limit, measured
 * with a bare client, and the service's stored CDRs read back from the engine.
 *
 * The limit: the same event and CDR documents the service writes for the stream (built up front,
 * as the pipeline would build them batch by batch), bulk-indexed with the engine client straight
 * into a fresh index prefix with the service's templates (so the same mappings, shards and
 * refresh settings), in requests of QBL_BULK_MAX_DOCS with QBL_BULK_CONCURRENCY in flight —
 * the service's defaults. Events per second: the stream's events over the time to index all.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config';
import type { SearchConfig } from '../src/stores/search/options';
import type { BulkAction, SearchEngine } from '../src/stores/search/engine';
import { batchCdrIds, cdrActions, dedupeActions, eventAction, indexPattern } from '../src/stores/search/documents';
import { installSchema } from '../src/stores/search/install';
import { callsTemplate, lifecyclePolicyName, templateName } from '../src/stores/search/templates';
import { searchCdrPages } from '../src/stores/search/search-stream';
import { changedCalls, createSearchEngine } from '../src/stores/search/search-store';
import type { Cdr } from '../correlators/cdr';
import type { BenchMessage } from './broker';
import { rate, type RateResult } from './limit';
import { commitBatches } from './store-alone';
import { findListenerPid, processCpuUs, processName } from './cpu';
import { callDocument, callDocumentId, callsIndex } from '../src/stores/search/calls';
import type { CallEvent } from '../correlators/events';

export const SEARCH_ENV = ['OPENSEARCH_URL', 'ELASTICSEARCH_URL'] as const;

/** Why the search figures are not measured, or null when an engine is configured. */
export function searchSkipReason(env: NodeJS.ProcessEnv = process.env): string | null {
  const set = SEARCH_ENV.filter((name) => (env[name] ?? '').trim() !== '');
  if (set.length === 0) return 'OPENSEARCH_URL / ELASTICSEARCH_URL not set';
  if (set.length > 1) return 'both OPENSEARCH_URL and ELASTICSEARCH_URL set';
  return null;
}

/** A fresh index prefix for one measurement, so no run sees another's documents. */
export function benchIndexPrefix(label: string): string {
  return `qbl-bench-${label}-${randomBytes(4).toString('hex')}`;
}

/** The engine's variables from this process's environment (URL, credentials, QBL_BULK_*), to pass to a config. */
export function searchEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('OPENSEARCH_') || name.startsWith('ELASTICSEARCH_') || name.startsWith('QBL_BULK_')) env[name] = value;
  }
  return env;
}

/** The search engine's configuration from the environment, with this prefix. */
export function benchSearchConfig(indexPrefix: string): SearchConfig {
  const search = loadConfig({ ...searchEnv(), QBL_INDEX_PREFIX: indexPrefix }).search;
  if (search === undefined) throw new Error('no search engine configured');
  return search;
}

/**
 * The documents the service writes for the stream, per commit as it would (deduplicated within a
 * commit). With `state`, also the join state (src/stores/search/calls.ts): after each commit's
 * events and CDRs, one call document for every call the commit changes, holding every event of
 * the call so far, as the service writes it (unconditionally here: a bare client has no other
 * writer to guard against).
 */
export function searchActions(messages: readonly BenchMessage[], batchSize: number, indexPrefix: string, state = false): { actions: BulkAction[]; events: number } {
  const actions: BulkAction[] = [];
  let events = 0;
  const writtenAtUs = Date.now() * 1000;
  const callEvents = new Map<string, CallEvent[]>();
  for (const batch of commitBatches(messages, batchSize)) {
    events += batch.events.length;
    const cdrIdOf = batchCdrIds();
    actions.push(...dedupeActions(batch.events.map((stored) => eventAction(indexPrefix, stored, cdrIdOf))));
    actions.push(...dedupeActions(batch.cdrs.flatMap((record) => cdrActions(indexPrefix, record, writtenAtUs))));
    if (!state) continue;
    for (const { event } of batch.events) {
      const list = callEvents.get(event.callId);
      if (list === undefined) callEvents.set(event.callId, [event]);
      else if (!list.some((e) => e.id === event.id)) list.push(event);
    }
    for (const [callId, deadlineUs] of changedCalls(batch)) {
      const document = callDocument(callId, callEvents.get(callId) ?? [], deadlineUs !== null, deadlineUs, writtenAtUs);
      actions.push({ index: callsIndex(indexPrefix), id: callDocumentId(callId), document: { ...document } });
    }
  }
  return { actions, events };
}

export interface SearchLimitResult extends RateResult {
  readonly documents: number;
  readonly requests: number;
  /** The search node's CPU µs per event while indexing, when it runs on this host. */
  readonly engineCpuUs: number | null;
}

/** Bulk-indexes the actions in requests of `maxDocs`, `concurrency` in flight; throws if the engine refused any. */
export async function bulkIndexAll(engine: SearchEngine, actions: readonly BulkAction[], maxDocs: number, concurrency: number): Promise<{ elapsedMs: number; requests: number }> {
  let next = 0;
  let requests = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < actions.length) {
      const chunk = actions.slice(next, next + maxDocs);
      next += chunk.length;
      requests += 1;
      const results = await engine.bulk(chunk);
      const refused = results.filter((r) => !r.ok);
      if (refused.length > 0) throw new Error(`the engine refused ${refused.length} of ${chunk.length} documents: ${JSON.stringify(refused[0])}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { elapsedMs: performance.now() - started, requests };
}

/**
 * The search node's pid when it listens on this host (its CPU is then accounted), else null. Both
 * engines are JVMs: a listener that is not (`docker-proxy` in front of a node in a container, a
 * local TLS or auth proxy) is not the engine, and its CPU would be reported as the engine's.
 */
export function localEnginePid(url: string): number | null {
  try {
    const parsed = new URL(url);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) return null;
    const pid = findListenerPid(Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)));
    return pid !== null && processName(pid) === 'java' ? pid : null;
  } catch {
    return null;
  }
}

export async function measureSearchLimit(messages: readonly BenchMessage[], batchSize: number, state = false): Promise<SearchLimitResult> {
  const config = benchSearchConfig(benchIndexPrefix(state ? 'state' : 'limit'));
  const { actions, events } = searchActions(messages, batchSize, config.indexPrefix, state);
  const engine = await createSearchEngine(config);
  const enginePid = localEnginePid(config.url);
  try {
    await installSchema(engine, config.indexPrefix, config.retentionDays);
    const cpuBefore = processCpuUs(enginePid);
    const { elapsedMs, requests } = await bulkIndexAll(engine, actions, config.bulkMaxDocs, config.bulkConcurrency);
    const cpuAfter = processCpuUs(enginePid);
    const engineCpuUs = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / events;
    return { messages: events, elapsedMs, perS: rate(events, elapsedMs), documents: actions.length, requests, engineCpuUs };
  } finally {
    await engine.close();
    await deleteBenchIndices(config);
  }
}

/** Every CDR stored under the prefix, read back from the engine after a refresh. */
export async function storedSearchCdrs(config: SearchConfig): Promise<Cdr[]> {
  const engine = await createSearchEngine(config);
  try {
    await engine.refresh(indexPattern(config.indexPrefix, 'cdrs'));
    const cdrs: Cdr[] = [];
    for await (const page of searchCdrPages(engine, config.indexPrefix, { pageSize: 5000 })) for (const stored of page) cdrs.push(stored.cdr);
    return cdrs;
  } finally {
    await engine.close();
  }
}

export function authHeaders(config: SearchConfig): Record<string, string> {
  if (config.apiKey) return { authorization: `ApiKey ${config.apiKey}` };
  if (config.username) return { authorization: `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}` };
  return {};
}

/** Deletes the prefix's indices (by name: clusters may refuse wildcard deletes), templates and policy; best effort. */
export async function deleteBenchIndices(config: SearchConfig): Promise<void> {
  const base = config.url.replace(/\/+$/, '');
  const headers = authHeaders(config);
  const call = (method: string, path: string) => fetch(`${base}${path}`, { method, headers }).catch(() => undefined);
  const listed = await call('GET', `/_cat/indices/${config.indexPrefix}-*?format=json&h=index`);
  const indices = listed?.ok ? ((await listed.json()) as Array<{ index: string }>).map((row) => row.index) : [];
  for (const index of indices) await call('DELETE', `/${index}`);
  for (const kind of ['cdrs', 'events'] as const) await call('DELETE', `/_index_template/${templateName(config.indexPrefix, kind)}`);
  await call('DELETE', `/_index_template/${callsTemplate(config.indexPrefix).name}`);
  const policy = lifecyclePolicyName(config.indexPrefix);
  await call('DELETE', config.engine === 'opensearch' ? `/_plugins/_ism/policies/${policy}` : `/_ilm/policy/${policy}`);
}
