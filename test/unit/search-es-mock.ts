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
  op: 'index' | 'delete' | 'create';
  index: string;
  id: string;
  doc: Record<string, unknown>;
  /** External version (external_gte), when the action carries one. */
  version?: number;
  ifSeqNo?: number;
}

/** What the engine keeps beside a document for versioned and conditional writes. */
interface DocMeta {
  seqNo: number;
  version: number;
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
  /** seq_no and version per `index/id`, as the engine keeps them. */
  readonly meta = new Map<string, DocMeta>();
  private seqNo = 0;
  readonly mgets: string[][] = [];
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
      type Meta = { _index: string; _id: string; version?: number; if_seq_no?: number };
      for (let i = 0; i < lines.length; i += 1) {
        const line = lines[i] as { index?: Meta; delete?: Meta; create?: Meta };
        const op = line.delete ? 'delete' : line.create ? 'create' : 'index';
        const m = (line.delete ?? line.create ?? line.index)!;
        ops.push({
          op, index: m._index, id: m._id, doc: op === 'delete' ? {} : lines[(i += 1)]!,
          ...(m.version === undefined ? {} : { version: m.version }), ...(m.if_seq_no === undefined ? {} : { ifSeqNo: m.if_seq_no }),
        });
      }
      this.bulkRequests.push(ops);
      const fates = this.bulkScript(ops, this.bulkRequests.length);
      if (fates instanceof Error) return fates as never;
      const items = ops.map((op, k) => {
        const fate = this.conflict(op) ?? fates[k]!;
        const key = `${op.index}/${op.id}`;
        if (op.op === 'delete') {
          const status = fate.status < 300 && !this.docs.delete(key) ? 404 : fate.status;
          return { delete: { _index: op.index, _id: op.id, status, ...(fate.error ? { error: fate.error } : {}) } };
        }
        if (fate.status < 300) {
          this.docs.set(key, op.doc);
          this.meta.set(key, { seqNo: (this.seqNo += 1), version: op.version ?? (this.meta.get(key)?.version ?? 0) + 1 });
        }
        return { [op.op]: { _index: op.index, _id: op.id, status: fate.status, ...(fate.error ? { error: fate.error } : {}) } };
      });
      const statuses = items.map((item) => Object.values(item)[0]!.status);
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
    this.mock.add({ method: ['GET', 'POST'], path: '/:index/_mget' }, resolve((params) => {
      const index = decodeURIComponent(params.path.toString().split('/')[1]!);
      const ids = (params.body as { ids: string[] }).ids;
      this.mgets.push(ids);
      return {
        docs: ids.map((id) => {
          const key = `${index}/${id}`;
          const doc = this.docs.get(key);
          if (doc === undefined) return { _index: index, _id: id, found: false };
          return { _index: index, _id: id, found: true, _source: doc, _seq_no: this.meta.get(key)!.seqNo, _primary_term: 1 };
        }),
      };
    }));
    this.mock.add({ method: ['GET', 'POST'], path: '/:index/_refresh' }, resolve(() => ({ _shards: { total: 1, successful: 1, failed: 0 } })));
    this.mock.add({ method: ['GET', 'POST'], path: '/:index/_search' }, resolve((params) => {
      this.searches.push({ path: params.path.toString(), body: params.body as Record<string, unknown> });
      return { took: 1, timed_out: false, hits: { hits: this.searchHits } };
    }));
  }

  /** The engine's version checks: external_gte, if_seq_no, create. */
  private conflict(op: BulkOp): ItemFate | undefined {
    const stored = this.meta.get(`${op.index}/${op.id}`);
    const exists = this.docs.has(`${op.index}/${op.id}`);
    const conflict = (reason: string): ItemFate => ({ status: 409, error: { type: 'version_conflict_engine_exception', reason } });
    if (op.op === 'create' && exists) return conflict('document already exists');
    if (op.ifSeqNo !== undefined && (!exists || stored?.seqNo !== op.ifSeqNo)) return conflict('required seqNo differs');
    if (op.version !== undefined && stored !== undefined && stored.version > op.version) return conflict('current version is higher');
    return undefined;
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
