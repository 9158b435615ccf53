/**
 * Tests that stop and start a broker run here, alone, against a RabbitMQ node of their own that
 * the global set-up starts on free ports and the teardown stops (test/support/broker-node.ts):
 * never the user's broker. `npx jest -c test/serial/jest.config.js` (the Makefile's test target).
 */
const path = require('node:path');

module.exports = {
  rootDir: path.join(__dirname, '..', '..'),
  testEnvironment: 'node',
  roots: ['<rootDir>/test/serial'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/serial/broker-setup.ts',
  globalTeardown: '<rootDir>/test/serial/broker-teardown.ts',
  setupFiles: ['<rootDir>/test/support/fast-check-seed.ts'],
  testTimeout: 60000,
  // They share the one test node, and stopping it would cut the others off.
  maxWorkers: 1,
};
