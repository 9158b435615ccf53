/**
 * Installing the ISM retention policy. The index-management plugin is not on Maven Central, so
 * the test node has no ISM (opensearch-engine.test.ts covers that path on the real node); here a
 * scripted HTTP server on 127.0.0.1 plays ISM's policy endpoints as the plugin documents them:
 * 404 "Policy not found", create-only PUT without seq_no (409 when it exists), seq_no checks.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ismPolicyBody, ismPolicyFingerprint, OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { retentionPolicy } from '../../src/stores/search/templates';
import { nodeConfig } from './node';

interface Stored {
  policy: Record<string, unknown>;
  seqNo: number;
}

/** What ISM adds to a stored policy: ids, timestamps, default retry settings. */
function asStored(policyId: string, policy: Record<string, unknown>): Record<string, unknown> {
  const states = (policy.states as Array<{ actions: Array<Record<string, unknown>> }>).map((state) => ({
    ...state,
    actions: state.actions.map((action) => ({ retry: { count: 3, backoff: 'exponential', delay: '1m' }, ...action })),
  }));
  const templates = (policy.ism_template as Array<Record<string, unknown>>).map((t) => ({ ...t, last_updated_time: 1_796_000_000_000 }));
  return { ...policy, policy_id: policyId, last_updated_time: 1_796_000_000_000, schema_version: 21, error_notification: null, states, ism_template: templates };
}

class FakeIsm {
  readonly policies = new Map<string, Stored>();
  readonly calls: string[] = [];
  private seq = 0;
  /** Runs once before the next PUT is handled: a concurrent writer. */
  beforePut: (() => void) | null = null;
  server!: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        this.calls.push(`${req.method} ${url.pathname}${url.search}`);
        const match = /^\/_plugins\/_ism\/policies\/([^/]+)$/.exec(url.pathname);
        const reply = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (!match) return reply(400, { error: `no handler found for uri [${url.pathname}] and method [${req.method}]`, status: 400 });
        const id = decodeURIComponent(match[1]!);
        const stored = this.policies.get(id);
        if (req.method === 'GET') {
          if (!stored) {
            return reply(404, { error: { root_cause: [{ type: 'status_exception', reason: 'Policy not found' }], type: 'status_exception', reason: 'Policy not found' }, status: 404 });
          }
          return reply(200, { _id: id, _version: stored.seqNo + 1, _seq_no: stored.seqNo, _primary_term: 1, policy: asStored(id, stored.policy) });
        }
        if (req.method === 'PUT') {
          this.beforePut?.();
          this.beforePut = null;
          const current = this.policies.get(id);
          const ifSeqNo = url.searchParams.get('if_seq_no');
          const conflict = ifSeqNo === null ? current !== undefined : current === undefined || Number(ifSeqNo) !== current.seqNo;
          if (conflict) {
            return reply(409, { error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict` }, status: 409 });
          }
          const policy = (JSON.parse(text) as { policy: Record<string, unknown> }).policy;
          this.policies.set(id, { policy, seqNo: ++this.seq });
          return reply(current ? 200 : 201, { _id: id, _seq_no: this.seq, _primary_term: 1, policy: { policy } });
        }
        return reply(405, { error: 'method not allowed', status: 405 });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('ISM retention policy install', () => {
  let ism: FakeIsm;
  let engine: OpenSearchEngine;

  beforeEach(async () => {
    ism = new FakeIsm();
    const url = await ism.start();
    engine = OpenSearchEngine.fromConfig(nodeConfig('qbl', { url, urlForLogs: url }));
  });

  afterEach(async () => {
    await engine.close();
    await ism.stop();
  });

  it('creates the policy once; a second install reads it and writes nothing', async () => {
    const spec = retentionPolicy('qbl', 30);
    expect(await engine.putLifecyclePolicy(spec)).toEqual({ status: 'installed' });
    expect(await engine.putLifecyclePolicy(spec)).toEqual({ status: 'installed' });
    expect(ism.calls).toEqual([
      'GET /_plugins/_ism/policies/qbl-retention',
      'PUT /_plugins/_ism/policies/qbl-retention',
      'GET /_plugins/_ism/policies/qbl-retention',
    ]);
    const stored = ism.policies.get('qbl-retention')!.policy;
    expect(stored).toEqual(ismPolicyBody(spec).policy);
    expect(stored.ism_template).toEqual([{ index_patterns: ['qbl-cdrs-*', 'qbl-events-*'], priority: 100 }]);
    expect((stored.states as Array<{ transitions: Array<{ conditions: unknown }> }>)[0]!.transitions[0]!.conditions)
      .toEqual({ min_index_age: '61d' });
  });

  it('a changed retention rewrites the stored policy under its seq_no', async () => {
    await engine.putLifecyclePolicy(retentionPolicy('qbl', 30));
    const before = ism.policies.get('qbl-retention')!.seqNo;
    expect(await engine.putLifecyclePolicy(retentionPolicy('qbl', 90))).toEqual({ status: 'installed' });
    expect(ism.calls.at(-1)).toBe(`PUT /_plugins/_ism/policies/qbl-retention?if_seq_no=${before}&if_primary_term=1`);
    expect(ism.policies.get('qbl-retention')!.policy).toEqual(ismPolicyBody(retentionPolicy('qbl', 90)).policy);
  });

  it('another instance writing between our read and write (409) makes us read again', async () => {
    const spec = retentionPolicy('qbl', 30);
    ism.beforePut = () => ism.policies.set('qbl-retention', { policy: ismPolicyBody(spec).policy, seqNo: 41 });
    expect(await engine.putLifecyclePolicy(spec)).toEqual({ status: 'installed' });
    expect(ism.calls).toEqual([
      'GET /_plugins/_ism/policies/qbl-retention',
      'PUT /_plugins/_ism/policies/qbl-retention',
      'GET /_plugins/_ism/policies/qbl-retention',
    ]);
    expect(ism.policies.get('qbl-retention')!.seqNo).toBe(41);
  });

  it('the fingerprint ignores what ISM adds and sees what we set', () => {
    const policy = ismPolicyBody(retentionPolicy('qbl', 30)).policy;
    expect(ismPolicyFingerprint(asStored('qbl-retention', policy))).toBe(ismPolicyFingerprint(policy));
    expect(ismPolicyFingerprint(policy)).not.toBe(ismPolicyFingerprint(ismPolicyBody(retentionPolicy('qbl', 31)).policy));
    const single = { ...policy, ism_template: (policy.ism_template as unknown[])[0] };
    expect(ismPolicyFingerprint(single)).toBe(ismPolicyFingerprint(policy));
  });
});
