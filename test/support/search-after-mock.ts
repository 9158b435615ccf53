/**
 * An Elasticsearch on @elastic/elasticsearch-mock that answers searches the way a cluster does
 * for the readers: `range` and `terms` filters, sort on the listed fields, `size`, and
 * `search_after` (no Elasticsearch server can run on this machine; the OpenSearch suite runs the
 * same reader code on a real node).
 */
import Mock from '@elastic/elasticsearch-mock';
import { loadConfig } from '../../src/config/config';
import { ElasticsearchEngine } from '../../src/stores/search/elasticsearch-engine';

type Doc = Readonly<Record<string, unknown>>;

interface Body {
  size: number;
  sort: Array<Record<string, unknown>>;
  search_after?: unknown[];
  query: { bool: { filter: Array<{ range?: Record<string, { gte?: string; lt?: string }>; terms?: Record<string, string[]>; term?: Record<string, string> }> } };
}

function compare(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < a.length; i += 1) {
    const x = String(a[i]);
    const y = String(b[i]);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export class SearchAfterCluster {
  readonly requests: Array<{ index: string; body: Body }> = [];

  /** Documents by index pattern kind: `cdrs` and `events`. */
  constructor(private readonly docs: { cdrs: Doc[]; events: Doc[] }) {}

  engine(): ElasticsearchEngine {
    const mock = new Mock();
    mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, (params) => {
      const index = decodeURIComponent(params.path.toString().split('/')[1]!);
      const body = params.body as Body;
      this.requests.push({ index, body });
      const pool = index.includes('-cdrs-') ? this.docs.cdrs : this.docs.events;
      const fields = body.sort.map((s) => Object.keys(s)[0]!);
      const keep = (doc: Doc) => body.query.bool.filter.every((f) => {
        if (f.range) return Object.entries(f.range).every(([field, r]) => (r.gte === undefined || String(doc[field]) >= r.gte) && (r.lt === undefined || String(doc[field]) < r.lt));
        if (f.terms) return Object.entries(f.terms).every(([field, values]) => values.includes(String(doc[field])));
        if (f.term) return Object.entries(f.term).every(([field, value]) => String(doc[field]) === value);
        return true;
      });
      const hits = pool.filter(keep)
        .map((doc) => ({ doc, sort: fields.map((field) => doc[field]) }))
        .sort((a, b) => compare(a.sort, b.sort))
        .filter((hit) => body.search_after === undefined || compare(hit.sort, body.search_after) > 0)
        .slice(0, body.size)
        .map((hit) => ({ _index: index, _id: String(hit.doc.cdr_id ?? hit.doc.id), _source: hit.doc, sort: hit.sort }));
      return { took: 1, timed_out: false, hits: { hits } };
    });
    const MockConnection = mock.getConnection() as unknown as new (...args: never[]) => object;
    class ClosableConnection extends MockConnection {
      async close(): Promise<void> {}
    }
    const config = loadConfig({ ELASTICSEARCH_URL: 'http://localhost:9200' }).search!;
    return ElasticsearchEngine.fromConfig(config, { Connection: ClosableConnection as never });
  }
}
