/**
 * The real OpenSearch node of `make opensearch-up` (scripts/opensearch-up.sh) for the tests in
 * this folder: where it is, whether it answers, unique index prefixes and clean-up.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import type { SearchConfig } from '../../src/config/config';
import type { IntegrationFixture } from '../support/fixture';

export const NODE_URL = `http://127.0.0.1:${process.env.OPENSEARCH_PORT ?? '9200'}`;

/**
 * Asked once, synchronously, when a test file loads: jest decides `describe` vs `describe.skip`
 * before any test runs. A child process keeps the check off the test's own event loop.
 */
function nodeAnswers(): boolean {
  const probe = `fetch(${JSON.stringify(`${NODE_URL}/_cluster/health`)}, { signal: AbortSignal.timeout(3000) })`
    + '.then((r) => r.json()).then((b) => process.exit(b.status === "green" || b.status === "yellow" ? 0 : 1), () => process.exit(1))';
  return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0;
}

export const NODE_UP = nodeAnswers();

/** Whether the node has the index-management (ISM) plugin; the runner's node has not. */
function nodeHasIsm(): boolean {
  if (!NODE_UP) return false;
  const probe = `fetch(${JSON.stringify(`${NODE_URL}/_plugins/_ism/policies`)}, { signal: AbortSignal.timeout(3000) })`
    + '.then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))';
  return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0;
}

export const NODE_HAS_ISM = nodeHasIsm();

/** `describe` when the node answers, else `describe.skip` with a message saying why. */
export function describeOnNode(name: string, body: () => void): void {
  if (!NODE_UP) {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED "${name}": no OpenSearch node answers at ${NODE_URL} (start one with \`make opensearch-up\`)`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

/** A prefix no other test (or engineer) uses: templates with overlapping patterns would clash. */
export function uniquePrefix(): string {
  return `qblos-${randomBytes(4).toString('hex')}`;
}

export function nodeConfig(prefix: string, overrides: Partial<SearchConfig> = {}): SearchConfig {
  return {
    engine: 'opensearch',
    url: NODE_URL,
    urlForLogs: NODE_URL,
    indexPrefix: prefix,
    retentionDays: 30,
    bulkMaxDocs: 500,
    bulkConcurrency: 2,
    ...overrides,
  };
}

/** A plain client for looking behind the engine (mappings, templates, raw queries). */
export function rawClient(): Client {
  return new Client({ node: NODE_URL, maxRetries: 0 });
}

/** Deletes what a test made under `prefix`: indices, templates, the ISM policy when ISM exists. */
export async function cleanUp(client: Client, prefix: string): Promise<void> {
  await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true, expand_wildcards: 'all' });
  for (const kind of ['cdrs', 'events', 'blocklist', 'calls']) {
    await client.indices.deleteIndexTemplate({ name: `${prefix}-${kind}` }).catch(ignoreNotFound);
  }
  await client.ism.deletePolicy({ policy_id: `${prefix}-retention` }).catch(ignoreMissing);
}

function ignoreNotFound(error: { statusCode?: number }): void {
  if (error.statusCode !== 404) throw error;
}

/** 404: no such policy; 400 "no handler found": no ISM plugin on this node. */
function ignoreMissing(error: { statusCode?: number }): void {
  if (error.statusCode !== 404 && error.statusCode !== 400) throw error;
}

/**
 * For a describe block on the node, beside its integrationFixture: one raw client for the suite,
 * and a fresh index prefix for each test, whose indices and templates go after the test.
 */
export function nodeFixture(f: IntegrationFixture): { readonly raw: Client; readonly prefix: string } {
  let raw: Client | undefined;
  let prefix: string | undefined;
  beforeAll(() => {
    const client = rawClient();
    raw = client;
    f.defer(() => client.close());
  });
  beforeEach(() => {
    const mine = uniquePrefix();
    prefix = mine;
    f.defer(() => cleanUp(raw!, mine));
  });
  return {
    get raw(): Client {
      if (!raw) throw new Error('nodeFixture: the client opens in beforeAll');
      return raw;
    },
    get prefix(): string {
      if (!prefix) throw new Error('nodeFixture: the prefix is made in beforeEach');
      return prefix;
    },
  };
}

/** For the bench's tests: OPENSEARCH_URL points at the node (and no ELASTICSEARCH_URL) while the describe block runs. */
export function benchOnNode(): void {
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.OPENSEARCH_URL = NODE_URL;
    delete process.env.ELASTICSEARCH_URL;
  });
  afterAll(() => {
    process.env = saved;
  });
}
