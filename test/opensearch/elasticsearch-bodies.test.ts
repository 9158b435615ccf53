/**
 * The Elasticsearch engine's own requests (template, bulk, search bodies as the
 * @elastic/elasticsearch client serializes them) against the real OpenSearch node, wherever
 * the two APIs agree, so a malformed mapping or query cannot hide behind the Elasticsearch mock.
 * The proxy translates only the client's product handshake (see proxy.ts); ILM is where the APIs
 * differ, and the node's answer must read as "unsupported", not as a failure.
 */
import type { Client } from '@opensearch-project/opensearch';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { cdrAction, eventAction } from '../../src/stores/search/documents';
import { ElasticsearchEngine } from '../../src/stores/search/elasticsearch-engine';
import { installSchema } from '../../src/stores/search/install';
import { OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { SearchReader } from '../../src/stores/search/search-reader';
import { answeredCall, noSleep, T0_US } from '../unit/search-fixtures';
import { cleanUp, describeOnNode, NODE_URL, nodeConfig, rawClient, uniquePrefix } from './node';
import { startProxy, type TestProxy } from './proxy';

describeOnNode('Elasticsearch engine bodies on a real OpenSearch node', () => {
  let raw: Client;
  let proxy: TestProxy;
  let prefix: string;
  let elastic: ElasticsearchEngine;

  beforeEach(async () => {
    raw = rawClient();
    prefix = uniquePrefix();
    proxy = await startProxy(NODE_URL, { elastic: true });
    elastic = ElasticsearchEngine.fromConfig({ ...nodeConfig(prefix), engine: 'elasticsearch', url: proxy.url, urlForLogs: proxy.url });
  });

  afterEach(async () => {
    await elastic.close();
    await proxy.close();
    await cleanUp(raw, prefix);
    await raw.close();
  });

  it('accepts the same templates from either engine, and ILM reads as unsupported', async () => {
    const result = await installSchema(elastic, prefix, 30);
    expect(result).toEqual({ lifecycle: 'unsupported', templates: [`${prefix}-cdrs`, `${prefix}-events`, `${prefix}-calls`] });
    const fromElastic = (await raw.indices.getIndexTemplate({ name: `${prefix}-*` })).body.index_templates;

    const opensearch = OpenSearchEngine.fromConfig(nodeConfig(prefix));
    await installSchema(opensearch, prefix, 30);
    await opensearch.close();
    const fromOpenSearch = (await raw.indices.getIndexTemplate({ name: `${prefix}-*` })).body.index_templates;
    expect(fromOpenSearch).toEqual(fromElastic);
    expect(proxy.requests.some((r) => r.path.startsWith('/_ilm/policy/'))).toBe(true);
  });

  it('indexes through the Elasticsearch bulk body and finds documents with its query bodies', async () => {
    await installSchema(elastic, prefix, 30);
    const batch = answeredCall('es@host', T0_US);
    const writer = new BulkWriter(elastic, { maxDocs: 100, concurrency: 1, sleep: noSleep });
    const written = writer.write([...batch.events.map((e) => eventAction(prefix, e)), ...batch.cdrs.map((c) => cdrAction(prefix, c))]);
    expect((await written).every((o) => o.accepted)).toBe(true);
    await writer.close();
    await elastic.refresh(`${prefix}-*`);

    const reader = new SearchReader(elastic, prefix);
    const found = await reader.searchCdrs({ numbers: ['+551133334444'], sinceUs: T0_US, untilUs: T0_US + 1, limit: 10 });
    expect(found.map((c) => c.cdr)).toEqual([batch.cdrs[0]!.cdr]);
    expect(await reader.searchCdrs({ callId: 'es@host', sinceUs: T0_US + 1, limit: 10 })).toEqual([]);
    expect((await reader.eventsForCall('es@host')).map((e) => e.id)).toEqual(batch.events.map((e) => e.event.id));
    // Patterns with no index yet answer no hits, not an error, on both engines.
    expect(await elastic.search(`${prefix}-nothing-*`, { query: { match_all: {} }, size: 1 })).toEqual([]);
  });
});
