/**
 * The search store and its bulk writer against a scripted Elasticsearch
 * (@elastic/elasticsearch-mock: no Elasticsearch server can run on this machine).
 */
import { StoreUnavailableError } from '../../src/errors';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { SearchStore, writerOptions } from '../../src/stores/search/search-store';
import { answeredCall, capturingLogger, noSleep, storedEvent, T0_US } from './search-fixtures';
import { connectionError, MAPPING_ERROR, MockCluster, responseError } from './search-es-mock';

async function openStore(cluster: MockCluster, env: Record<string, string> = {}) {
  const { logger, lines } = capturingLogger();
  const config = cluster.config(env);
  const engine = cluster.engine(config);
  const writer = new BulkWriter(engine, { ...writerOptions(config, logger), sleep: noSleep, maxAttempts: 3 });
  const store = new SearchStore(engine, writer, { indexPrefix: config.indexPrefix, retentionDays: config.retentionDays, logger });
  await store.ensureSchema();
  return { store, lines, writer };
}

describe('SearchStore.commit on Elasticsearch', () => {
  it('indexes events, the CDR and the call document under deterministic ids; a replay overwrites', async () => {
    const cluster = new MockCluster();
    const { store, lines } = await openStore(cluster);
    const batch = answeredCall('ok@host', T0_US);
    const result = await store.commit(batch);
    expect(result.rejectedEvents.size).toBe(0);
    const cdrId = batch.cdrs[0]!.cdr.cdr_id;
    expect(cluster.docs.get(`qbl-calls/${cdrId}`)).toMatchObject({ call_id: 'ok@host', open: false, deadline_us: null, event_count: 4 });
    expect(await store.eventsForCalls(['ok@host', 'none@host'])).toEqual(new Map([['ok@host', batch.events.map((s) => s.event)]]));
    expect(cluster.docs.get(`qbl-cdrs-2026.11/${cdrId}`)).toMatchObject({
      call_id: 'ok@host', invite_at: '2026-11-30T00:53:20.912345Z', start_at: '2026-11-30T00:53:20.912345Z', talk_us: 61_492_997,
    });
    for (const { event } of batch.events) expect(cluster.docs.has(`qbl-events-2026.11/${event.id}`)).toBe(true);
    expect(cluster.docs.size).toBe(6);

    await store.commit(batch);
    expect(cluster.docs.size).toBe(6);
    await store.close();
    expect(lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
  });

  it('a mapping rejection dead-letters that event with the engine reason while the rest lands', async () => {
    const cluster = new MockCluster();
    const bad = storedEvent('bad@host', 'invite_reply', T0_US, { replyCode: 99_999_999_999 });
    cluster.bulkScript = (ops) => ops.map((op) => (op.id === bad.event.id ? { status: 400, error: MAPPING_ERROR } : { status: 201 }));
    const { store } = await openStore(cluster);
    const batch = answeredCall('ok@host', T0_US);
    const result = await store.commit({ ...batch, events: [...batch.events, bad] });
    expect([...result.rejectedEvents.keys()]).toEqual([bad.event.id]);
    expect(result.rejectedEvents.get(bad.event.id)).toMatch(/HTTP 400.*document_parsing_exception.*out of range of int/);
    expect(cluster.docs.size).toBe(6);
    expect(store.stats.rejectedEvents).toBe(1);
    await store.close();
  });

  it('items answered 429 are retried alone until accepted', async () => {
    const cluster = new MockCluster();
    cluster.bulkScript = (ops, request) => ops.map((_op, k) => (request === 1 && k < 2
      ? { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' } }
      : { status: 201 }));
    const { store, writer } = await openStore(cluster);
    const result = await store.commit(answeredCall('busy@host', T0_US));
    expect(result.rejectedEvents.size).toBe(0);
    // Events and the CDR, the two refused again, then the call document.
    expect(cluster.bulkRequests.map((ops) => ops.length)).toEqual([5, 2, 1]);
    expect(cluster.bulkRequests[1]).toEqual(cluster.bulkRequests[0]!.slice(0, 2));
    expect(writer.stats).toMatchObject({ accepted: 6, retried: 2, rejected: 0 });
    await store.close();
  });

  it('a whole request answered 503 is retried', async () => {
    const cluster = new MockCluster();
    cluster.bulkScript = (ops, request) => (request === 1
      ? responseError(503, { type: 'cluster_block_exception', reason: 'blocked' })
      : ops.map(() => ({ status: 200 })));
    const { store } = await openStore(cluster);
    await expect(store.commit(answeredCall('x@host', T0_US))).resolves.toEqual({ rejectedEvents: new Map() });
    expect(cluster.bulkRequests).toHaveLength(3);
    await store.close();
  });

  it('cluster down: StoreUnavailableError and no call document written; back up: the same batch lands', async () => {
    const cluster = new MockCluster();
    const { store, lines } = await openStore(cluster);
    const batch = answeredCall('down@host', T0_US);
    cluster.bulkScript = () => connectionError();
    await expect(store.commit(batch)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(cluster.bulkRequests).toHaveLength(3); // maxAttempts
    expect([...cluster.docs.keys()].filter((key) => key.startsWith('qbl-calls/'))).toEqual([]);
    expect(lines.some((line) => line.level === 50 && /unavailable/.test(String(line.msg)))).toBe(true);

    cluster.bulkScript = (ops) => ops.map(() => ({ status: 201 }));
    await expect(store.commit(batch)).resolves.toEqual({ rejectedEvents: new Map() });
    expect(cluster.docs.size).toBe(6);
    await store.close();
  });

  it('a persistent 429 ends as StoreUnavailableError, not as a dead letter', async () => {
    const cluster = new MockCluster();
    cluster.bulkScript = (ops) => ops.map(() => ({ status: 429, error: { type: 'circuit_breaking_exception', reason: 'too many' } }));
    const { store } = await openStore(cluster);
    await expect(store.commit(answeredCall('x@host', T0_US))).rejects.toThrow(/circuit_breaking_exception/);
    expect(cluster.docs.size).toBe(0);
    await store.close();
  });

  it('an unauthorised request is not retried in the writer and pauses intake', async () => {
    const cluster = new MockCluster();
    cluster.bulkScript = () => responseError(401, { type: 'security_exception', reason: 'unable to authenticate user [qbl]' });
    const { store } = await openStore(cluster, { ELASTICSEARCH_USERNAME: 'qbl', ELASTICSEARCH_PASSWORD: 's3cret-pw' });
    const failure = store.commit(answeredCall('x@host', T0_US));
    await expect(failure).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(failure).rejects.toThrow(/HTTP 401.*security_exception/);
    expect(cluster.bulkRequests).toHaveLength(1);
    await store.close();
  });

  it('a rejected CDR is logged with its reason and counted, not reported as a rejected event', async () => {
    const cluster = new MockCluster();
    const batch = answeredCall('cdr@host', T0_US);
    const cdrId = batch.cdrs[0]!.cdr.cdr_id;
    cluster.bulkScript = (ops) => ops.map((op) => (op.id === cdrId && op.index.startsWith('qbl-cdrs-') ? { status: 400, error: MAPPING_ERROR } : { status: 201 }));
    const { store, lines } = await openStore(cluster);
    const result = await store.commit(batch);
    expect(result.rejectedEvents.size).toBe(0);
    expect(store.stats.rejectedCdrs).toBe(1);
    const line = lines.find((l) => l.cdr_id === cdrId);
    expect(line).toMatchObject({ level: 50, call_id: 'cdr@host', index: 'qbl-cdrs-2026.11' });
    expect(String(line!.reason)).toMatch(/document_parsing_exception/);
    await store.close();
  });

  it('a call document the engine refuses (a write block) leaves the batch unacked: StoreUnavailableError, then it lands', async () => {
    const cluster = new MockCluster();
    const batch = answeredCall('blocked@host', T0_US);
    let blocked = true;
    cluster.bulkScript = (ops) => ops.map((op) => (blocked && op.index === 'qbl-calls'
      ? { status: 403, error: { type: 'cluster_block_exception', reason: 'index [qbl-calls] blocked by: [FORBIDDEN/8/index write (api)]' } }
      : { status: 201 }));
    const { store } = await openStore(cluster);
    await expect(store.commit(batch)).rejects.toBeInstanceOf(StoreUnavailableError);
    blocked = false;
    await expect(store.commit(batch)).resolves.toEqual({ rejectedEvents: new Map() });
    expect(cluster.docs.has(`qbl-calls/${batch.cdrs[0]!.cdr.cdr_id}`)).toBe(true);
    await store.close();
  });

  it('a request too large is split; a single document too large is rejected with the reason', async () => {
    const cluster = new MockCluster();
    const huge = storedEvent('big@host', 'invite_request', T0_US, {});
    const big = { ...huge, body: Buffer.alloc(64 * 1024, 0x61) };
    cluster.bulkScript = (ops) => (ops.some((op) => op.id === big.event.id)
      ? responseError(413, { type: 'content_too_long', reason: 'request too large' })
      : ops.map(() => ({ status: 201 })));
    const { store } = await openStore(cluster);
    const batch = answeredCall('ok@host', T0_US);
    const result = await store.commit({ ...batch, events: [...batch.events, big] });
    expect([...result.rejectedEvents.keys()]).toEqual([big.event.id]);
    expect(result.rejectedEvents.get(big.event.id)).toMatch(/HTTP 413/);
    expect(cluster.docs.size).toBe(6);
    await store.close();
  });

  it('duplicate events in one batch become one document', async () => {
    const cluster = new MockCluster();
    const { store } = await openStore(cluster);
    const batch = answeredCall('dup@host', T0_US);
    await store.commit({ ...batch, events: [...batch.events, ...batch.events] });
    expect(cluster.bulkRequests[0]).toHaveLength(5);
    await store.close();
  });
});

describe('schema installation', () => {
  it('installs the ILM policy and both templates, idempotently, with the policy attached', async () => {
    const cluster = new MockCluster();
    const config = cluster.config({ QBL_RETENTION_DAYS: '90' });
    const first = await SearchStore.open(config, undefined, cluster.engine(config));
    const second = await SearchStore.open(config, undefined, cluster.engine(config));
    expect(cluster.policyPuts).toHaveLength(2);
    expect(cluster.policyPuts[0]).toEqual(cluster.policyPuts[1]);
    expect(cluster.policyPuts[0]).toMatchObject({
      name: 'qbl-retention', body: { policy: { phases: { delete: { min_age: '121d', actions: { delete: {} } } } } },
    });
    expect(cluster.templatePuts.map((put) => put.name)).toEqual(['qbl-cdrs', 'qbl-events', 'qbl-calls', 'qbl-cdrs', 'qbl-events', 'qbl-calls']);
    const calls = cluster.templates.get('qbl-calls') as { index_patterns: string[]; template: { settings: Record<string, unknown> } };
    expect(calls.index_patterns).toEqual(['qbl-calls']);
    expect(calls.template.settings['index.lifecycle.name']).toBeUndefined();
    expect(cluster.templatePuts[0]).toEqual(cluster.templatePuts[3]);
    const cdrs = cluster.templates.get('qbl-cdrs') as { index_patterns: string[]; template: { settings: Record<string, unknown>; mappings: { properties: Record<string, { type: string }> } } };
    expect(cdrs.index_patterns).toEqual(['qbl-cdrs-*']);
    expect(cdrs.template.settings['index.lifecycle.name']).toBe('qbl-retention');
    expect(cdrs.template.mappings.properties.answer_at!.type).toBe('date_nanos');
    await first.close();
    await second.close();
  });

  it('a cluster without ILM gets a warning and templates without a lifecycle', async () => {
    const cluster = new MockCluster();
    cluster.ilmAnswer = () => responseError(410, { type: 'api_not_available_exception', reason: 'Request for uri [/_ilm/policy/qbl-retention] with method [PUT] exists but is not available when running in serverless mode' });
    const { logger, lines } = capturingLogger();
    const config = cluster.config();
    const store = await SearchStore.open(config, logger, cluster.engine(config));
    expect(lines.find((line) => line.level === 40)).toMatchObject({ policy: 'qbl-retention' });
    const cdrs = cluster.templates.get('qbl-cdrs') as { template: { settings: Record<string, unknown> } };
    expect(cdrs.template.settings['index.lifecycle.name']).toBeUndefined();
    await expect(store.commit(answeredCall('x@host', T0_US))).resolves.toBeDefined();
    await store.close();
  });

  it('a cluster down at start delays the install to the first commit', async () => {
    const cluster = new MockCluster();
    cluster.down = connectionError();
    const { logger, lines } = capturingLogger();
    const config = cluster.config();
    const store = await SearchStore.open(config, logger, cluster.engine(config));
    expect(lines.some((line) => line.level === 40 && /not reachable at start/.test(String(line.msg)))).toBe(true);
    await expect(store.commit(answeredCall('x@host', T0_US))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    cluster.down = null;
    await store.commit(answeredCall('x@host', T0_US));
    expect(cluster.templatePuts.map((put) => put.name)).toEqual(['qbl-cdrs', 'qbl-events', 'qbl-calls']);
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
  });

  it('templates refused after start (403) pause intake: StoreUnavailableError, never a message\'s failure', async () => {
    const cluster = new MockCluster();
    cluster.down = connectionError();
    const config = cluster.config();
    const store = await SearchStore.open(config, capturingLogger().logger, cluster.engine(config));
    cluster.down = responseError(403, { type: 'security_exception', reason: 'action [indices:admin/index_template/put] is unauthorized' });
    const error = await store.commit(answeredCall('x@host', T0_US)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(String(error)).toMatch(/cannot install index templates.*security_exception/);
    expect(cluster.bulkRequests).toHaveLength(0);
    // The same for a standby's restore of the open calls.
    await expect(store.openCalls()).rejects.toBeInstanceOf(StoreUnavailableError);
    cluster.down = null;
    await expect(store.commit(answeredCall('x@host', T0_US))).resolves.toBeDefined();
    expect(cluster.bulkRequests.length).toBeGreaterThan(0);
    await store.close();
  });

  it('an old index that refuses the added fields is a warning, not a failed start', async () => {
    const cluster = new MockCluster();
    const blocked = responseError(403, { type: 'cluster_block_exception', reason: 'index [qbl-cdrs-2025.01] blocked by: [FORBIDDEN/8/index write (api)]' });
    cluster.mock.clear({ method: 'PUT', path: '/:index/_mapping' });
    cluster.mock.add({ method: 'PUT', path: '/:index/_mapping' }, () => blocked as never);
    const { logger, lines } = capturingLogger();
    const config = cluster.config();
    const store = await SearchStore.open(config, logger, cluster.engine(config));
    expect(lines.find((line) => line.level === 40 && /new fields to existing CDR indices/.test(String(line.msg)))).toMatchObject({ fields: ['written_at'] });
    await expect(store.commit(answeredCall('x@host', T0_US))).resolves.toBeDefined();
    await store.close();
  });

  it('never puts the password or the API key in an error or a log line', async () => {
    const cluster = new MockCluster();
    cluster.down = connectionError();
    const { logger, lines } = capturingLogger();
    const config = cluster.config({ ELASTICSEARCH_URL: 'http://qbl:url-secret@localhost:9200', ELASTICSEARCH_API_KEY: 'key-secret' });
    const store = await SearchStore.open(config, logger, cluster.engine(config));
    const error = await store.commit(answeredCall('x@host', T0_US)).catch((e: Error) => e);
    const text = `${String(error)} ${JSON.stringify(lines)}`;
    expect(text).not.toMatch(/url-secret|key-secret/);
    await store.close();
  });
});
