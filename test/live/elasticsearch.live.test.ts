/**
 * The search writer's scenarios against a real Elasticsearch (8.x or 9.x). Runs only when
 * ELASTICSEARCH_URL is set (see docs/elasticsearch.md: the compose file starts one); otherwise the
 * suite is reported as skipped. Everything lives under a random index prefix, removed afterwards.
 * Not reproducible on demand against a real cluster, hence only in the unit suite: HTTP 429.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { formatUs } from '../../correlators/cdr';
import { loadConfig, type SearchConfig } from '../../src/config/config';
import { StoreUnavailableError } from '../../src/errors';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { ElasticsearchEngine, elasticsearchClientOptions } from '../../src/stores/search/elasticsearch-engine';
import { SearchReader } from '../../src/stores/search/search-reader';
import { SearchStore, writerOptions } from '../../src/stores/search/search-store';
import { answeredCall, MemoryStore, storedEvent, T0_US } from '../unit/search-fixtures';

const url = process.env.ELASTICSEARCH_URL;
const describeLive = url ? describe : describe.skip;
if (!url) {
  // eslint-disable-next-line no-console
  console.log('test/live/elasticsearch.live.test.ts skipped: set ELASTICSEARCH_URL (see docs/elasticsearch.md)');
}

describeLive('Elasticsearch (live)', () => {
  const prefix = `qbltest-${randomBytes(4).toString('hex')}`;
  let config: SearchConfig;
  let admin: Client;
  const stores: SearchStore[] = [];

  async function openStore(overrides: Partial<SearchConfig> = {}): Promise<SearchStore> {
    const effective = { ...config, ...overrides };
    const engine = ElasticsearchEngine.fromConfig(effective);
    const writer = new BulkWriter(engine, { ...writerOptions(effective), maxAttempts: 2, retry: { initialMs: 10, maxMs: 5_000 } });
    const store = new SearchStore(engine, writer, { indexPrefix: prefix, retentionDays: config.retentionDays });
    stores.push(store);
    return store;
  }

  beforeAll(() => {
    config = loadConfig({ ...process.env, QBL_INDEX_PREFIX: prefix, QBL_RETENTION_DAYS: '30' }).search!;
    admin = new Client(elasticsearchClientOptions(config));
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
    if (!admin) return;
    await admin.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    for (const name of [`${prefix}-cdrs`, `${prefix}-events`]) {
      await admin.indices.deleteIndexTemplate({ name }).catch(() => undefined);
    }
    await admin.ilm.deleteLifecycle({ name: `${prefix}-retention` }).catch(() => undefined);
    await admin.close();
  });

  it('installs templates and the retention policy idempotently', async () => {
    const store = await openStore();
    await store.ensureSchema();
    const again = await openStore();
    await again.ensureSchema();
    const templates = await admin.indices.getIndexTemplate({ name: `${prefix}-*` });
    expect(templates.index_templates.map((t) => t.name).sort()).toEqual([`${prefix}-cdrs`, `${prefix}-events`]);
    const cdrs = templates.index_templates.find((t) => t.name === `${prefix}-cdrs`)!;
    expect(cdrs.index_template.template?.mappings?.properties?.invite_at).toMatchObject({ type: 'date_nanos' });
  });

  it('writes events and CDRs that read back exactly, microseconds included; a replay overwrites', async () => {
    const store = await openStore();
    const batch = answeredCall('live-ok@host', T0_US);
    expect((await store.commit(batch)).rejectedEvents.size).toBe(0);
    await store.commit(batch);
    const engine = ElasticsearchEngine.fromConfig(config);
    await engine.refresh(`${prefix}-*`);
    const reader = new SearchReader(engine, prefix);
    expect(await reader.searchCdrs({ callId: 'live-ok@host', limit: 10 })).toEqual([{ cdr: batch.cdrs[0]!.cdr, extras: batch.cdrs[0]!.extras }]);
    expect(await reader.searchCdrs({ numbers: ['+551133334444'], sinceUs: T0_US, untilUs: T0_US + 1, disposition: 'answered', limit: 10 })).toHaveLength(1);
    expect(await reader.searchCdrs({ sinceUs: T0_US + 1, limit: 10 })).toHaveLength(0);
    const events = await reader.eventsForCall('live-ok@host');
    expect(events.map((row) => row.time)).toEqual(batch.events.map((stored) => formatUs(stored.event.timeUs)));
    await reader.close();
  });

  it('a real mapping conflict rejects only that event, with the engine reason', async () => {
    const store = await openStore();
    const bad = storedEvent('live-bad@host', 'invite_reply', T0_US, { replyCode: 99_999_999_999 });
    const batch = answeredCall('live-bad@host', T0_US);
    const result = await store.commit({ ...batch, events: [...batch.events, bad] });
    expect([...result.rejectedEvents.keys()]).toEqual([bad.event.id]);
    expect(result.rejectedEvents.get(bad.event.id)).toMatch(/HTTP 400.*reply_code/);
  });

  it('cluster unreachable: StoreUnavailableError; reachable again: the batch lands', async () => {
    const down = await openStore({ url: 'http://127.0.0.1:1', urlForLogs: 'http://127.0.0.1:1' });
    const batch = answeredCall('live-down@host', T0_US);
    await expect(down.commit(batch)).rejects.toBeInstanceOf(StoreUnavailableError);
    const up = await openStore();
    await expect(up.commit(batch)).resolves.toEqual({ rejectedEvents: new Map() });
  });
});
