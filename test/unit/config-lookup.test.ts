/** QBL_LOOKUP_*: defaults, and one ConfigError per bad value naming the option. */
import { loadConfig } from '../../src/config/config';
import { ConfigError } from '../../src/errors';

const lookup = (env: Record<string, string>) => loadConfig(env).lookup;

function rejects(env: Record<string, string>, option: string): void {
  let error: unknown;
  try {
    loadConfig(env);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).option).toBe(option);
}

test('off by default, on loopback, with a careful operator\'s actions', () => {
  const config = lookup({});
  expect(config.port).toBe(0);
  expect(config.host).toBe('127.0.0.1');
  expect(config.rules.actions).toEqual({ blocklisted: 'block', fraud_burst: 'block', invalid_number: 'warn', malformed: 'warn' });
  expect([...config.rules.invalidCodes]).toEqual([404, 410, 484, 604]);
  expect(Object.isFrozen(config) && Object.isFrozen(config.rules)).toBe(true);
});

test('reasons move between block, warn and neither', () => {
  const config = lookup({ QBL_LOOKUP_BLOCK_REASONS: 'blocklisted, invalid_number', QBL_LOOKUP_WARN_REASONS: 'none' });
  expect(config.rules.actions).toEqual({ blocklisted: 'block', fraud_burst: 'ignore', invalid_number: 'block', malformed: 'ignore' });
});

test('codes and thresholds are read', () => {
  const config = lookup({
    QBL_LOOKUP_PORT: '8089', QBL_LOOKUP_INVALID_CODES: '404,604', QBL_LOOKUP_INVALID_CALLS: '5', QBL_LOOKUP_BURST_CALLS: '20',
    QBL_LOOKUP_BURST_WINDOW_S: '300', QBL_LOOKUP_POLL_S: '5',
  });
  expect(config).toMatchObject({ port: 8089, pollIntervalMs: 5000, rules: { invalidCalls: 5, burstCalls: 20, burstWindowS: 300 } });
  expect([...config.rules.invalidCodes]).toEqual([404, 604]);
});

test.each([
  [{ QBL_LOOKUP_PORT: '70000' }, 'QBL_LOOKUP_PORT'],
  [{ QBL_LOOKUP_BLOCK_REASONS: 'blocklisted,spam' }, 'QBL_LOOKUP_BLOCK_REASONS'],
  [{ QBL_LOOKUP_WARN_REASONS: 'blocklisted' }, 'QBL_LOOKUP_WARN_REASONS'],
  [{ QBL_LOOKUP_INVALID_CODES: '404,4O4' }, 'QBL_LOOKUP_INVALID_CODES'],
  [{ QBL_LOOKUP_INVALID_CODES: '200' }, 'QBL_LOOKUP_INVALID_CODES'],
  [{ QBL_LOOKUP_INVALID_CODES: 'none' }, 'QBL_LOOKUP_INVALID_CODES'],
  [{ QBL_LOOKUP_INVALID_CALLS: '0' }, 'QBL_LOOKUP_INVALID_CALLS'],
  [{ QBL_LOOKUP_WINDOW_DAYS: '90' }, 'QBL_LOOKUP_WINDOW_DAYS'],
  [{ QBL_LOOKUP_BURST_CALLS: '1' }, 'QBL_LOOKUP_BURST_CALLS'],
  [{ QBL_LOOKUP_BURST_PREFIX_DIGITS: '16' }, 'QBL_LOOKUP_BURST_PREFIX_DIGITS'],
  [{ QBL_LOOKUP_MAX_NUMBERS: '10' }, 'QBL_LOOKUP_MAX_NUMBERS'],
  [{ QBL_LOOKUP_POLL_S: '0' }, 'QBL_LOOKUP_POLL_S'],
])('%j fails naming %s', (env, option) => rejects(env, option));
