/**
 * The OpenSearch engine, the shared bulk writer, reader and store on a real OpenSearch node
 * (`make opensearch-up`). Skipped, with a message, when no node answers.
 */
import type { Client } from '@opensearch-project/opensearch';
import { formatUs, type CdrRecord } from '../../correlators/cdr';
import type { CommitBatch } from '../../src/stores/store';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { cdrAction, cdrActions, eventAction } from '../../src/stores/search/documents';
import { installSchema } from '../../src/stores/search/install';
import { OpenSearchEngine, ismPolicyBody } from '../../src/stores/search/opensearch-engine';
import { SearchReader } from '../../src/stores/search/search-reader';
import { SearchStore, writerOptions } from '../../src/stores/search/search-store';
import { indexTemplate, retentionPolicy } from '../../src/stores/search/templates';
import { answeredCall, answeredCdr, capturingLogger, MemoryStore, noSleep, storedEvent, T0_US } from '../unit/search-fixtures';
import { cleanUp, describeOnNode, NODE_HAS_ISM, nodeConfig, rawClient, uniquePrefix } from './node';

const DAY_US = 86_400_000_000;

/** Raw answers of the node, read field by field in assertions (the client's types mark every field optional). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any;

/** An answered call with its own numbers, so searches by number can tell calls apart. */
function call(callId: string, inviteUs: number, caller: string, callee: string): CommitBatch {
  const batch = answeredCall(callId, inviteUs);
  const base = answeredCdr(callId, inviteUs);
  const cdr: CdrRecord = { ...base, cdr: { ...base.cdr, caller, callee }, extras: { ...base.extras, caller_e164: null, callee_e164: null } };
  return { ...batch, events: batch.events.map((e) => ({ ...e, event: { ...e.event, caller, callee } })), cdrs: [cdr] };
}

async function writeAll(engine: OpenSearchEngine, batches: readonly CommitBatch[], prefix: string): Promise<void> {
  const writer = new BulkWriter(engine, { maxDocs: 500, concurrency: 2, sleep: noSleep });
  const actions = batches.flatMap((b) => [...b.events.map((e) => eventAction(prefix, e)), ...b.cdrs.map((c) => cdrAction(prefix, c))]);
  const written = writer.write(actions);
  const outcomes = await written;
  await writer.close();
  expect(outcomes.every((o) => o.accepted)).toBe(true);
  await engine.refresh(`${prefix}-*`);
}

describeOnNode('OpenSearch engine on a real node', () => {
  let raw: Client;
  let engine: OpenSearchEngine;
  let prefix: string;

  beforeEach(() => {
    raw = rawClient();
    prefix = uniquePrefix();
    engine = OpenSearchEngine.fromConfig(nodeConfig(prefix));
  });

  afterEach(async () => {
    await cleanUp(raw, prefix);
    await engine.close();
    await raw.close();
  });

  it('installs the index templates idempotently, and new monthly indices get their mappings', async () => {
    const first = await installSchema(engine, prefix, 30);
    const stored1 = (await raw.indices.getIndexTemplate({ name: `${prefix}-*` })).body.index_templates;
    const second = await installSchema(engine, prefix, 30);
    const stored2 = (await raw.indices.getIndexTemplate({ name: `${prefix}-*` })).body.index_templates;
    expect(second).toEqual(first);
    expect(first.templates).toEqual([`${prefix}-cdrs`, `${prefix}-events`, `${prefix}-calls`]);
    expect(stored2).toEqual(stored1);

    const cdrs: Raw = stored1.find((t: { name: string }) => t.name === `${prefix}-cdrs`)!.index_template;
    const spec = indexTemplate(prefix, 'cdrs');
    expect(cdrs.index_patterns).toEqual([`${prefix}-cdrs-*`]);
    expect(cdrs.template.mappings).toEqual(spec.mappings);
    expect(cdrs._meta).toEqual(spec.meta);

    // A document creates its month's index from the template: the mapping is ours, not dynamic.
    await writeAll(engine, [answeredCall('tmpl@host', T0_US)], prefix);
    const mapping: Raw = (await raw.indices.getMapping({ index: `${prefix}-cdrs-2026.11` })).body[`${prefix}-cdrs-2026.11`].mappings;
    expect(mapping.dynamic).toBe('false');
    expect(mapping.properties.invite_at).toEqual({ type: 'date_nanos', format: 'strict_date_optional_time_nanos' });
    expect(mapping.properties.call_id).toEqual({ type: 'keyword' });
    expect(mapping.properties.final_code).toEqual({ type: 'integer' });
    const settings: Raw = ((await raw.indices.getSettings({ index: `${prefix}-cdrs-2026.11` })).body as Raw)[`${prefix}-cdrs-2026.11`].settings.index;
    expect(settings.number_of_shards).toBe('1');
    expect(settings.auto_expand_replicas).toBe('0-1');
  });

  (NODE_HAS_ISM ? it.skip : it)('without the ISM plugin, retention is reported unsupported (a warning) and templates still install', async () => {
    const { logger, lines } = capturingLogger();
    const result = await installSchema(engine, prefix, 30, logger);
    expect(result.lifecycle).toBe('unsupported');
    expect(result.templates).toHaveLength(3);
    const warning = lines.find((line) => line.level === 40);
    expect(warning?.reason).toMatch(/put ISM policy|get ISM policy/);
    expect(warning?.reason).toMatch(/HTTP 400: no handler found for uri \[\/_plugins\/_ism\/policies\//);
    expect(await engine.putLifecyclePolicy(retentionPolicy(prefix, 30))).toMatchObject({ status: 'unsupported' });
  });

  (NODE_HAS_ISM ? it : it.skip)('installs the ISM retention policy idempotently and rewrites it when retention changes', async () => {
    const policy = retentionPolicy(prefix, 30);
    expect(await engine.putLifecyclePolicy(policy)).toEqual({ status: 'installed' });
    const first: Raw = (await raw.ism.getPolicy({ policy_id: policy.name })).body;
    expect(await engine.putLifecyclePolicy(policy)).toEqual({ status: 'installed' });
    const again: Raw = (await raw.ism.getPolicy({ policy_id: policy.name })).body;
    expect(again._seq_no).toBe(first._seq_no);
    expect(again.policy.ism_template[0].index_patterns).toEqual(policy.indexPatterns);
    expect(ismPolicyBody(policy).policy.ism_template).toEqual([{ index_patterns: policy.indexPatterns, priority: again.policy.ism_template[0].priority }]);

    const longer = retentionPolicy(prefix, 90);
    expect(await engine.putLifecyclePolicy(longer)).toEqual({ status: 'installed' });
    const rewritten: Raw = (await raw.ism.getPolicy({ policy_id: policy.name })).body;
    expect(rewritten.policy.states[0].transitions[0].conditions.min_index_age).toBe('121d');
  });

  it('documents written through the shared bulk writer are searchable by number, call id and time range', async () => {
    await installSchema(engine, prefix, 30);
    const calls = [
      call('a@host', T0_US, '1001', '2001'),
      call('b@host', T0_US + DAY_US, '1002', '2002'),
      call('c@host', T0_US + 2 * DAY_US, '1003', '2001'), // next month: another index, same pattern
    ];
    await writeAll(engine, calls, prefix);
    const reader = new SearchReader(engine, prefix);
    const ids = async (query: Parameters<SearchReader['searchCdrs']>[0]) => (await reader.searchCdrs(query)).map((c) => c.cdr.call_id);

    expect(await ids({ limit: 10 })).toEqual(['c@host', 'b@host', 'a@host']);
    expect(await ids({ callId: 'b@host', limit: 10 })).toEqual(['b@host']);
    expect(await ids({ numbers: ['2001'], limit: 10 })).toEqual(['c@host', 'a@host']);
    expect(await ids({ numbers: ['1002', '1003'], limit: 10 })).toEqual(['c@host', 'b@host']);
    // since inclusive, until exclusive, on the call's start
    expect(await ids({ sinceUs: T0_US + DAY_US, untilUs: T0_US + 2 * DAY_US, limit: 10 })).toEqual(['b@host']);
    expect(await ids({ sinceUs: T0_US + DAY_US, limit: 10 })).toEqual(['c@host', 'b@host']);
    expect(await ids({ untilUs: T0_US + DAY_US, limit: 10 })).toEqual(['a@host']);
    expect(await ids({ disposition: 'answered', numbers: ['1001'], limit: 10 })).toEqual(['a@host']);
    expect(await ids({ numbers: ['9999'], limit: 10 })).toEqual([]);

    const stored = (await reader.searchCdrs({ callId: 'a@host', limit: 1 }))[0]!;
    expect(stored.cdr).toEqual(calls[0]!.cdrs[0]!.cdr);

    const events = await reader.eventsForCall('a@host');
    expect(events.map((e) => e.kind)).toEqual(['invite_request', 'invite_reply', 'bye_request', 'bye_reply']);
    expect(events.map((e) => e.time)).toEqual(calls[0]!.events.map((e) => formatUs(e.event.timeUs)));
    expect(events[0]!.body).toBe(calls[0]!.events[0]!.body.toString('utf8'));

    const indices = Object.keys((await raw.indices.get({ index: `${prefix}-*` })).body).sort();
    expect(indices).toEqual([`${prefix}-cdrs-2026.11`, `${prefix}-cdrs-2026.12`, `${prefix}-events-2026.11`, `${prefix}-events-2026.12`]);
  });

  it('a CDR whose start moved to another month is written there and deleted from the old month', async () => {
    await installSchema(engine, prefix, 30);
    const december = Date.UTC(2026, 11, 1, 0, 0, 30) * 1000;
    const november = Date.UTC(2026, 10, 30, 23, 59, 50) * 1000;
    const first = answeredCdr('edge@host', december);
    await writeAll(engine, [{ events: [], cdrs: [first], openCalls: [], closedCallIds: [] }], prefix);
    const moved: CdrRecord = { ...answeredCdr('edge@host', november), previousStartUs: december };
    const results = await engine.bulk(cdrActions(prefix, moved));
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    // Deleting again (a redelivery) finds nothing, which is fine.
    expect((await engine.bulk(cdrActions(prefix, moved)))[1]).toEqual({ ok: true });
    await engine.refresh(`${prefix}-*`);
    const hits = await engine.search(`${prefix}-cdrs-*`, { query: { term: { cdr_id: moved.cdr.cdr_id } }, size: 10 });
    expect(hits.map((hit) => hit.index)).toEqual([`${prefix}-cdrs-2026.11`]);
  });

  it('microsecond timestamps round-trip exactly through date_nanos', async () => {
    await installSchema(engine, prefix, 30);
    // Three calls one microsecond apart: a millisecond (or float) anywhere would merge them.
    const calls = [0, 1, 2].map((k) => call(`us${k}@host`, T0_US + k, `30${k}`, '4000'));
    await writeAll(engine, calls, prefix);
    const reader = new SearchReader(engine, prefix);
    const ids = async (sinceUs?: number, untilUs?: number) =>
      (await reader.searchCdrs({ sinceUs, untilUs, limit: 10 })).map((c) => c.cdr.call_id);

    expect(await ids()).toEqual(['us2@host', 'us1@host', 'us0@host']);
    expect(await ids(T0_US + 1, T0_US + 2)).toEqual(['us1@host']);
    expect(await ids(T0_US + 1)).toEqual(['us2@host', 'us1@host']);
    expect(await ids(undefined, T0_US + 1)).toEqual(['us0@host']);

    // What the index holds (doc values), not just _source: formatted back to the same microsecond.
    const response = await raw.search({
      index: `${prefix}-cdrs-*`,
      body: {
        query: { term: { call_id: 'us1@host' } },
        fields: [{ field: 'invite_at', format: 'strict_date_optional_time_nanos' }, { field: 'answer_at', format: 'strict_date_optional_time_nanos' }],
        _source: false,
      },
    });
    const fields: Raw = response.body.hits.hits[0]!.fields;
    expect(fields.invite_at).toEqual([formatUs(T0_US + 1)]);
    expect(fields.answer_at).toEqual([formatUs(T0_US + 1 + 4_094_658)]);
  });

  it('a document the engine rejects (a real mapping conflict) comes back rejected with its reason; the rest lands', async () => {
    const { logger } = capturingLogger();
    const config = nodeConfig(prefix);
    const writer = new BulkWriter(engine, { ...writerOptions(config, logger), sleep: noSleep });
    const store = new SearchStore(engine, writer, { indexPrefix: prefix, retentionDays: 30, logger });
    await store.ensureSchema();

    // reply_code is mapped `integer`: 99 999 999 999 does not fit, whatever the JSON says.
    const bad = storedEvent('conflict@host', 'invite_reply', T0_US + 7, { replyCode: 99_999_999_999 });
    const batch = answeredCall('ok@host', T0_US);
    const result = await store.commit({ ...batch, events: [...batch.events, bad] });

    expect([...result.rejectedEvents.keys()]).toEqual([bad.event.id]);
    expect(result.rejectedEvents.get(bad.event.id)).toMatch(
      /^opensearch rejected the document \(HTTP 400\): mapper_parsing_exception: failed to parse field \[reply_code\].*\(caused by: .*out of range/,
    );
    expect(store.stats.rejectedEvents).toBe(1);

    await engine.refresh(`${prefix}-*`);
    const reader = new SearchReader(engine, prefix);
    expect((await reader.eventsForCall('ok@host')).map((e) => e.id)).toEqual(batch.events.map((e) => e.event.id));
    expect(await reader.eventsForCall('conflict@host')).toEqual([]);
    expect((await reader.searchCdrs({ callId: 'ok@host', limit: 5 })).map((c) => c.cdr.cdr_id)).toEqual([batch.cdrs[0]!.cdr.cdr_id]);

    // A replay of the same batch overwrites: still one document per id.
    await store.commit(batch);
    await engine.refresh(`${prefix}-*`);
    const count = await raw.count({ index: `${prefix}-*` });
    // Four events, the CDR and the call document.
    expect(count.body.count).toBe(6);
    await writer.close();
  });

  it('a node that does not answer is a transient request error, never a crash', async () => {
    const down = OpenSearchEngine.fromConfig(nodeConfig(prefix, { url: 'http://127.0.0.1:1', urlForLogs: 'http://127.0.0.1:1' }));
    await expect(down.ping()).rejects.toMatchObject({ name: 'SearchRequestError', transient: true });
    await expect(down.bulk([{ index: `${prefix}-events-2026.11`, id: 'x', document: {} }]))
      .rejects.toMatchObject({ transient: true, message: expect.stringMatching(/^bulk at http:\/\/127\.0\.0\.1:1 failed: ConnectionError/) });
    await down.close();
    await expect(engine.ping()).resolves.toBeUndefined();
  });
});
