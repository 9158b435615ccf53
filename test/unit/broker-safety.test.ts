/**
 * `make test` must never stop, restart or reset the user's RabbitMQ. Tests that need a broker to
 * go away run against a node of their own (test/support/broker-node.ts): this test checks that
 * every disruptive broker command in the repository's tests, scripts and bench goes through that
 * helper, which always names its node (`-n`) and carries that node's own Erlang cookie.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const HELPER = 'test/support/broker-node.ts';
const FILES = execFileSync('git', ['ls-files', '-z', 'test', 'scripts', 'bench', 'src', 'consumers', 'Makefile', '.ci', 'package.json'], { cwd: ROOT, encoding: 'utf8' })
  .split('\0').filter((file) => file && existsSync(join(ROOT, file)));
/** Commands that take a node (or its app) down, or wipe it. */
const DISRUPTIVE = /\b(stop_app|stop|shutdown|reset|force_reset|force_boot|rotate_logs|close_all_connections)\b/;

function code(file: string): string[] {
  return readFileSync(join(ROOT, file), 'utf8').split('\n')
    // Comments describe; they do not run.
    .filter((line) => !/^\s*(\*|\/\/|\/\*\*?|#)/.test(line));
}

describe('nothing in the suite stops the user\'s broker', () => {
  test('the files checked include the tests and the Makefile', () => {
    expect(FILES).toContain('Makefile');
    expect(FILES).toContain('test/serial/broker-restart.test.ts');
    expect(FILES).toContain(HELPER);
  });

  test('no rabbitmqctl / rabbitmq-server call outside the helper stops or resets a node', () => {
    const offenders: string[] = [];
    for (const file of FILES.filter((f) => f !== HELPER)) {
      code(file).forEach((line, i) => {
        if (/rabbitmqctl|rabbitmq-server|rabbitmq-upgrade|rabbitmq-diagnostics/.test(line) && DISRUPTIVE.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        if (/\bkill(all)?\b.*\b(beam|epmd|rabbit)/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  test('a disruptive command in a test is always sent through brokerCtl, to the test node', () => {
    const offenders: string[] = [];
    for (const file of FILES.filter((f) => f !== HELPER && /^(test|bench|scripts)\//.test(f) && f.endsWith('.ts'))) {
      code(file).forEach((line, i) => {
        const literal = /(['"`])(stop_app|stop|shutdown|reset|force_reset)\1/.exec(line);
        if (literal && !/\bbrokerCtl\(/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  test('the helper runs rabbitmqctl only with -n <its node> and its own cookie (HOME)', () => {
    const text = readFileSync(join(ROOT, HELPER), 'utf8');
    // One place runs rabbitmqctl (brokerCtl); the server is started once, with the node's environment.
    expect([...text.matchAll(/(?:run|spawn|execFile\w*)\(join\([^)]*'rabbitmqctl'\)/g)]).toHaveLength(1);
    expect([...text.matchAll(/(?:run|spawn|execFile\w*)\(join\([^)]*'rabbitmq-server'\)/g)]).toHaveLength(1);
    expect(text).toContain("['-n', handle.nodeName, ...args]");
    expect(text).toContain("HOME: join(dir, 'home')");
    expect(text).toMatch(/nodeName: `qbl-test-\$\{suffix\}@localhost`/);
    expect(text).toContain("RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf')");
    expect(text).toContain("RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf')");
  });

  test('the Makefile runs the serial tests with the configuration that starts their own node', () => {
    const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
    expect(makefile).toContain('npx jest --ci -c test/serial/jest.config.js');
    const config = require(join(ROOT, 'test', 'serial', 'jest.config.js')) as { globalSetup: string; globalTeardown: string };
    expect(config.globalSetup).toMatch(/broker-setup\.ts$/);
    expect(config.globalTeardown).toMatch(/broker-teardown\.ts$/);
    // And the default configuration leaves them out.
    const main = require(join(ROOT, 'jest.config.js')) as { testPathIgnorePatterns: string[] };
    expect(main.testPathIgnorePatterns).toContain('<rootDir>/test/serial/');
  });
});
