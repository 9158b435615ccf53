/** Unit and property tests are fast and pure; integration tests talk to the real RabbitMQ. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/opensearch runs against a real node (scripts/test-opensearch.sh); test/serial stops the
  // broker and runs alone afterwards (see the Makefile's test target).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/opensearch/', '<rootDir>/test/serial/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/support/fast-check-seed.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
};
