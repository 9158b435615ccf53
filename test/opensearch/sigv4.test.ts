/**
 * OPENSEARCH_AWS_REGION: every request is SigV4-signed with credentials from the AWS default
 * provider chain (here its first link, the environment). No Amazon OpenSearch Service can be
 * reached from this machine, so requests go to the real local node (which does not check
 * signatures) through a proxy that records their headers.
 */
import { awsServiceFor, OpenSearchEngine, openSearchClientOptions } from '../../src/stores/search/opensearch-engine';
import { describeOnNode, NODE_URL, nodeConfig, uniquePrefix } from './node';
import { startProxy, type TestProxy } from './proxy';

const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIAQBLTESTEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'qbl-test-secret-not-a-real-key',
  AWS_SESSION_TOKEN: 'qbl-test-session-token',
} as const;

describe('SigV4 options', () => {
  it('signs for `es` on managed domains and `aoss` on serverless collections', () => {
    expect(awsServiceFor('https://search-qbl-abc.eu-west-1.es.amazonaws.com')).toBe('es');
    expect(awsServiceFor('https://abc123.eu-west-1.aoss.amazonaws.com:443')).toBe('aoss');
  });

  it('without a region the client uses basic auth and no signer', () => {
    const options = openSearchClientOptions(nodeConfig('qbl', { username: 'qbl', password: 'pw' }));
    expect(options.auth).toEqual({ username: 'qbl', password: 'pw' });
    expect(options.Connection).toBeUndefined();
    expect(options.Transport).toBeUndefined();
    expect(options.maxRetries).toBe(0);
  });
});

describeOnNode('SigV4 signing against a real node', () => {
  let proxy: TestProxy;
  const saved: Record<string, string | undefined> = {};

  beforeEach(async () => {
    proxy = await startProxy(NODE_URL);
    for (const [name, value] of Object.entries(AWS_ENV)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });

  afterEach(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await proxy.close();
  });

  it('signs every request with the region, service and credentials of the default chain', async () => {
    const prefix = uniquePrefix();
    const engine = OpenSearchEngine.fromConfig(nodeConfig(prefix, { url: proxy.url, urlForLogs: proxy.url, awsRegion: 'eu-west-1' }));
    await engine.ping();
    expect(await engine.search(`${prefix}-cdrs-*`, { query: { match_all: {} }, size: 1 })).toEqual([]);
    await engine.close();

    expect(proxy.requests).toHaveLength(2);
    for (const request of proxy.requests) {
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIAQBLTESTEXAMPLE\/\d{8}\/eu-west-1\/es\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(request.headers['x-amz-security-token']).toBe(AWS_ENV.AWS_SESSION_TOKEN);
      expect(request.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    }
  });
});
