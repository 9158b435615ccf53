/**
 * Amazon OpenSearch's SigV4 signing needs the AWS SDK's credential chain, an optional peer
 * dependency: production installs (`npm ci --omit=dev`, the Docker image) leave it out, and it
 * is loaded only when OPENSEARCH_AWS_REGION is set. Without it, the service stops with one
 * configuration line that says what to install. The development install has the package, so its
 * absence is simulated here by making `require` fail the way Node does for a missing module.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigError } from '../../src/errors';
import type { SearchConfig } from '../../src/config/config';

const ROOT = join(__dirname, '..', '..');
const PACKAGE = '@aws-sdk/credential-provider-node';

const config: SearchConfig = {
  engine: 'opensearch', url: 'https://search-qbl.eu-west-1.es.amazonaws.com', urlForLogs: 'https://search-qbl.eu-west-1.es.amazonaws.com',
  awsRegion: 'eu-west-1', indexPrefix: 'qbl', retentionDays: 400, bulkMaxDocs: 2000, bulkConcurrency: 2,
};

type Engine = typeof import('../../src/stores/search/opensearch-engine');
type Errors = typeof import('../../src/errors');

/** Runs `use` on the engine module (and its errors module) loaded afresh, with `factory` in place of the AWS package. */
function withAwsPackage(factory: () => unknown, use: (engine: Engine, errors: Errors) => void): void {
  try {
    jest.isolateModules(() => {
      jest.doMock(PACKAGE, factory);
      use(require('../../src/stores/search/opensearch-engine') as Engine, require('../../src/errors') as Errors);
    });
  } finally {
    jest.dontMock(PACKAGE);
  }
}

describe('the AWS credential chain is optional', () => {
  test('package.json: a dev dependency and an optional peer, never a production dependency', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(pkg.dependencies![PACKAGE]).toBeUndefined();
    expect(pkg.devDependencies![PACKAGE]).toBeDefined();
    expect(pkg.peerDependencies![PACKAGE]).toBe(pkg.devDependencies![PACKAGE]);
    expect(pkg.peerDependenciesMeta![PACKAGE]).toEqual({ optional: true });
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const aws = Object.entries(lock.packages).filter(([path]) => /node_modules\/@aws-sdk\//.test(path));
    expect(aws.length).toBeGreaterThan(0);
    expect(aws.filter(([, entry]) => entry.dev !== true).map(([path]) => path)).toEqual([]);
  });

  test('without OPENSEARCH_AWS_REGION the package is never loaded', () => {
    withAwsPackage(() => {
      throw new Error('loaded without OPENSEARCH_AWS_REGION');
    }, (engine) => {
      expect(engine.openSearchClientOptions({ ...config, awsRegion: undefined }).node).toBe(config.url);
    });
  });

  test('with OPENSEARCH_AWS_REGION and the package missing: a ConfigError that says what to install', () => {
    let thrown: unknown;
    withAwsPackage(() => {
      throw Object.assign(new Error(`Cannot find module '${PACKAGE}'`), { code: 'MODULE_NOT_FOUND' });
    }, (engine, errors) => {
      try {
        engine.openSearchClientOptions(config);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(errors.ConfigError);
    });
    expect((thrown as ConfigError).option).toBe('OPENSEARCH_AWS_REGION');
    expect((thrown as Error).message).toContain(`npm install --no-save ${PACKAGE}`);
    expect((thrown as Error).message).toContain('WITH_AWS_SIGV4=1');
    expect((thrown as Error).message.split('\n')).toHaveLength(1);
  });

  test('a different failure inside the package is not disguised as a missing package', () => {
    withAwsPackage(() => {
      throw Object.assign(new Error("Cannot find module '@smithy/broken'"), { code: 'MODULE_NOT_FOUND' });
    }, (engine) => {
      expect(() => engine.openSearchClientOptions(config)).toThrow('@smithy/broken');
    });
  });

  test('with the package installed, the client is signed', () => {
    const { openSearchClientOptions } = require('../../src/stores/search/opensearch-engine') as typeof import('../../src/stores/search/opensearch-engine');
    const options = openSearchClientOptions(config);
    expect(options.Connection ?? options.Transport).toBeDefined();
  });
});
