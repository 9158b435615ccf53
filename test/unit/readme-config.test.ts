/** The README documents every variable the configuration reads, and the defaults it states are the code's. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SOURCES = ['src/config/config.ts', 'src/config/dialplan.ts', 'src/config/lookup.ts'].map((file) => readFileSync(join(ROOT, file), 'utf8'));

function variablesRead(): string[] {
  const names = new Set<string>();
  for (const source of SOURCES) {
    for (const match of source.matchAll(/'((?:QBL|AMQP|ELASTICSEARCH|OPENSEARCH|SQLITE|LOG)_[A-Z0-9_]+)'/g)) names.add(match[1]!);
  }
  // The search options are read as `${prefix}_NAME` for both engines.
  for (const suffix of ['USERNAME', 'PASSWORD', 'CA_FILE']) {
    if (SOURCES[0]!.includes(`\`\${prefix}_${suffix}\``)) for (const engine of ['ELASTICSEARCH', 'OPENSEARCH']) names.add(`${engine}_${suffix}`);
  }
  return [...names].sort();
}

describe('README configuration table', () => {
  test('names every variable the configuration reads', () => {
    const names = variablesRead();
    expect(names.length).toBeGreaterThan(30);
    expect(names.filter((name) => !README.includes(`\`${name}\``))).toEqual([]);
  });

  test('states the defaults the code uses', () => {
    const config = loadConfig({});
    const row = (name: string) => README.split('\n').find((line) => line.startsWith(`| \`${name}\``)) ?? '';
    expect(row('AMQP_URL')).toContain(`\`${config.amqp.url}\``);
    expect(row('QBL_EXCHANGE')).toContain(`\`${config.topology.exchange}\``);
    expect(row('QBL_QUEUE')).toContain(`\`${config.topology.queue}\``);
    expect(row('QBL_QUEUE_TYPE')).toContain(`\`${config.topology.queueType}\``);
    expect(row('QBL_DELIVERY_LIMIT')).toContain(`\`${config.topology.deliveryLimit}\``);
    expect(row('QBL_PREFETCH')).toContain(`\`${config.intake.prefetch}\``);
    expect(row('QBL_BATCH_SIZE')).toContain(`\`${config.intake.batchSize}\` / \`${config.intake.batchWaitMs}\``);
    expect(row('SQLITE_PATH')).toContain(`\`${config.sqlitePath}\``);
    expect(row('QBL_SETUP_TIMEOUT_S')).toContain(`\`${config.correlator.setupTimeoutUs / 1e6}\``);
    expect(row('QBL_MAX_CALL_DURATION_S')).toContain(`\`${config.correlator.maxCallDurationUs / 1e6}\``);
    expect(row('QBL_BYE_GRACE_S')).toContain(`\`${config.correlator.byeGraceUs / 1e6}\``);
    expect(row('QBL_SWEEP_INTERVAL_MS')).toContain(`\`${config.correlator.sweepIntervalMs}\``);
    expect(row('QBL_MAX_CLOCK_SKEW_S')).toContain(`\`${config.correlator.maxClockSkewUs / 1e6}\``);
    expect(row('QBL_MAX_BODY_BYTES')).toContain(`\`${config.decoder.maxBodyBytes}\``);
    expect(row('QBL_ACC_TOLERANCE_MS')).toContain(`\`${config.correlator.accToleranceMs}\``);
    expect(row('QBL_STATS_INTERVAL_S')).toContain(`\`${config.statsIntervalS}\``);
    expect(row('QBL_HTTP_PORT')).toContain(`\`${config.http.port}\` / \`${config.http.host}\``);
    expect(row('AMQP_HEARTBEAT_S')).toContain(`\`${config.amqp.heartbeatS}\``);
    expect(row('QBL_EXIT_CODES')).toContain(`\`${config.dialPlan.exitCodes.join(',')}\``);
    const { lookup } = config;
    expect(row('QBL_LOOKUP_PORT')).toContain(`\`${lookup.port}\` / \`${lookup.host}\``);
    const reasons = (action: string) => Object.entries(lookup.rules.actions).filter(([, a]) => a === action).map(([r]) => r).sort().join(',');
    expect(row('QBL_LOOKUP_BLOCK_REASONS')).toContain(`\`${reasons('block')}\` / \`${reasons('warn')}\``);
    expect(row('QBL_LOOKUP_INVALID_CALLS')).toContain(`\`${lookup.rules.invalidCalls}\` / \`${[...lookup.rules.invalidCodes].join(',')}\``);
    expect(row('QBL_LOOKUP_WINDOW_DAYS')).toContain(`\`${lookup.rules.windowDays}\``);
    expect(row('QBL_LOOKUP_BURST_CALLS')).toContain(`\`${lookup.rules.burstCalls}\` / \`${lookup.rules.burstWindowS}\``);
    expect(row('QBL_LOOKUP_BURST_PREFIX_DIGITS')).toContain(`\`${lookup.rules.burstPrefixDigits}\` / \`${lookup.rules.burstShortS}\``);
    expect(row('QBL_LOOKUP_MAX_NUMBERS')).toContain(`\`${lookup.limits.maxNumbers}\` / \`${lookup.limits.maxPairs}\``);
    expect(row('QBL_LOOKUP_POLL_S')).toContain(`\`${lookup.pollIntervalMs / 1000}\``);
  });
});
