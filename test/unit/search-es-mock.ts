/**
 * A scripted Elasticsearch for the unit tests, on @elastic/elasticsearch-mock: no Elasticsearch
 * server can run on this machine (the live suite covers a real one). It keeps indexed documents,
 * installed templates and policies, and lets a test decide each bulk item's fate.
 */
import { errors } from '@elastic/elasticsearch';
import Mock, { type MockPattern } from '@elastic/elasticsearch-mock';
import { loadConfig, type SearchConfig } from '../../src/config/config';
import { ElasticsearchEngine } from '../../src/stores/search/elasticsearch-engine';

export interface BulkOp {
  op: 'index' | 'delete';
  index: string;
  id: string;
  doc: Record<string, unknown>;
}

/** What the cluster answers for one item: a status and, for failures, the engine's error object. */
export interface ItemFate {
  status: number;
  error?: Record<string, unknown>;
}

export type BulkScript = (ops: BulkOp[], request: number) => ItemFate[] | Error;

const OK: BulkScript = (ops) => ops.map(() => ({ status: 201 }));

export class MockCluster {
  readonly mock = new Mock();
  readonly docs = new Map<string, Record<string, unknown>>();
  readonly bulkRequests: BulkOp[][] = [];
  readonly templates = new Map<string, Record<string, unknown>>();
  readonly templatePuts: Array<{ name: string; body: Record<string, unknown> }> = [];
  readonly policyPuts: Array<{ name: string; body: Record<string, unknown> }> = [];
  readonly mappingPuts: Array<{ index: string; body: Record<string, unknown> }> = [];
  readonly searches: Array<{ path: string; body: Record<string, unknown> }> = [];
  bulkScript: BulkScript = OK;
  /** Set to answer every non-bulk request with this error (cluster down). */
  down: Error | null = null;
  ilmAnswer: (() => Record<string, unknown> | Error) = () => ({ acknowledged: true });
  searchHits: Array<Record<string, unknown>> = [];

  constructor() {
    const resolve = (fn: (params: MockPattern) => unknown) => (params: MockPattern) =>
      (this.down ?? fn(params)) as Record<string, unknown>;
    this.mock.add({ method: 'POST', path: '/_bulk' }, (params) => {
      const lines = params.body as Array<Record<string, unknown>>;
      const ops: BulkOp[] = [];
      for (let i = 0; i < lines.length; i += 1) {
        const line = lines[i] as { index?: { _index: string; _id: string }; delete?: { _index: string; _id: string } };
        if (line.delete) ops.push({ op: 'delete', index: line.delete._index, id: line.delete._id, doc: {} });
        else ops.push({ op: 'index', index: line.index!._index, id: line.index!._id, doc: lines[(i += 1)]! });
      }
      this.bulkRequests.push(ops);
      const fates = this.bulkScript(ops, this.bulkRequests.length);
      if (fates instanceof Error) return fates as never;
      const items = ops.map((op, k) => {
        const fate = fates[k]!;
        const key = `${op.index}/${op.id}`;
        if (op.op === 'delete') {
          const status = fate.status < 300 && !this.docs.delete(key) ? 404 : fate.status;
          return { delete: { _index: op.index, _id: op.id, status, ...(fate.error ? { error: fate.error } : {}) } };
        }
        if (fate.status < 300) this.docs.set(key, op.doc);
        return { index: { _index: op.index, _id: op.id, status: fate.status, ...(fate.error ? { error: fate.error } : {}) } };
      });
      const statuses = items.map((item) => ('index' in item ? item.index! : item.delete!).status);
      return { took: 1, errors: statuses.some((status) => status >= 300), items };
    });
    this.mock.add({ method: 'PUT', path: '/_index_template/:name' }, resolve((params) => {
      const name = params.path.toString().split('/').pop()!;
      this.templatePuts.push({ name, body: params.body as Record<string, unknown> });
      this.templates.set(name, params.body as Record<string, unknown>);
      return { acknowledged: true };
    }));
    this.mock.add({ method: 'PUT', path: '/_ilm/policy/:name' }, resolve((params) => {
      const answer = this.ilmAnswer();
      if (!(answer instanceof Error)) this.policyPuts.push({ name: params.path.toString().split('/').pop()!, body: params.body as Record<string, unknown> });
      return answer;
    }));
    this.mock.add({ method: 'PUT', path: '/:index/_mapping' }, resolve((params) => {
      this.mappingPuts.push({ index: decodeURIComponent(params.path.toString().split('/')[1]!), body: params.body as Record<string, unknown> });
      return { acknowledged: true };
    }));
    this.mock.add({ method: 'HEAD', path: '/' }, resolve(() => ''));
    this.mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, resolve((params) => {
      this.searches.push({ path: params.path.toString(), body: params.body as Record<string, unknown> });
      return { took: 1, timed_out: false, hits: { hits: this.searchHits } };
    }));
  }

  config(env: Record<string, string> = {}): SearchConfig {
    return loadConfig({ ELASTICSEARCH_URL: 'http://localhost:9200', ...env }).search!;
  }

  engine(config: SearchConfig = this.config()): ElasticsearchEngine {
    // The mock's connection class lacks close(), which Client.close() calls.
    const MockConnection = this.mock.getConnection() as unknown as new (...args: never[]) => object;
    class ClosableConnection extends MockConnection {
      async close(): Promise<void> {}
    }
    return ElasticsearchEngine.fromConfig(config, { Connection: ClosableConnection as never });
  }
}

export function responseError(statusCode: number, error: Record<string, unknown>): errors.ResponseError {
  return new errors.ResponseError({ body: { error, status: statusCode }, statusCode, warnings: null, meta: {} as never });
}

export function connectionError(): errors.ConnectionError {
  return new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200');
}

export const MAPPING_ERROR = {
  type: 'document_parsing_exception',
  reason: '[1:52] failed to parse field [reply_code] of type [integer] in document',
  caused_by: { type: 'input_coercion_exception', reason: 'Numeric value (99999999999) out of range of int' },
};
