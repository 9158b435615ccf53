/**
 * The suite on the real OpenSearch node (`make opensearch-up`), run on its own:
 * `npx jest -c test/opensearch/jest.config.js`. standbys.test.ts runs `qbl start` processes, so
 * dist/ is built first when a source is newer (the same global setup as the default suite).
 */
const path = require('node:path');

module.exports = {
  rootDir: path.join(__dirname, '..', '..'),
  testEnvironment: 'node',
  roots: ['<rootDir>/test/opensearch'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 60000,
  // One node, two shared cores: the files run one after the other.
  maxWorkers: 1,
};
