/** `qbl simulate` flags, the --expect file and the closing summary (publishing itself needs a broker: see the report). */
import { CDR_FIELDS } from '../../correlators/cdr';
import { UsageError } from '../../src/flags';
import { command, expectedNdjson, formatSummary, lookupExpectations, parseSimulateArgs } from '../../src/cli/commands/simulate';
import { DEFAULT_TRAFFIC_OPTIONS, generateTraffic } from '../../src/simulator/generator';

const NOW_MS = Date.UTC(2026, 10, 27, 13, 0, 0);

describe('parseSimulateArgs', () => {
  test('defaults: now, a fresh seed, paced, publishing', () => {
    const args = parseSimulateArgs([], NOW_MS, () => 42);
    expect(args.traffic).toMatchObject({ ...DEFAULT_TRAFFIC_OPTIONS, seed: 42, startTimeUs: NOW_MS * 1000 });
    expect(args).toMatchObject({ pace: true, dryRun: false, expectPath: undefined });
  });

  test('every flag reaches its option', () => {
    const args = parseSimulateArgs([
      '--calls', '5000', '--cps', '250', '--concurrency', '40', '--format', 'mixed', '--acc', '--seed', '7',
      '--start-time', '2026-11-27T10:00:00.000001Z', '--expect', 'out.ndjson', '--routing-keys', 'pbx', '--no-pace', '--dry-run',
      '--answer-rate', '0.5', '--provisional-rate', '0.4', '--retransmit-rate', '0.3', '--duplicate-rate', '0.2',
      '--reorder-rate', '0.1', '--loss-rate', '0.05', '--in-progress-rate', '0.01',
      '--talk-mean-s', '30', '--max-talk-s', '600', '--ring-timeout-s', '45',
    ], NOW_MS);
    expect(args.traffic).toEqual({
      calls: 5000, cps: 250, concurrency: 40, format: 'mixed', acc: true, seed: 7,
      startTimeUs: Date.UTC(2026, 10, 27, 10) * 1000 + 1, routingKeyPrefix: 'pbx',
      answerRate: 0.5, provisionalRate: 0.4, retransmitRate: 0.3, duplicateRate: 0.2, reorderRate: 0.1, lossRate: 0.05,
      inProgressRate: 0.01, talkMeanS: 30, maxTalkS: 600, ringTimeoutS: 45,
    });
    expect(args).toMatchObject({ expectPath: 'out.ndjson', pace: false, dryRun: true });
  });

  test('--start-time also takes a duration before now', () => {
    expect(parseSimulateArgs(['--start-time', '2h'], NOW_MS).traffic.startTimeUs).toBe((NOW_MS - 2 * 3600 * 1000) * 1000);
  });

  test.each([
    [['--loss-rate', '1.5'], /^--loss-rate: expected a number from 0 to 1/],
    [['--calls', 'many'], /^--calls: /],
    [['--cps', '0'], /^--cps: /],
    [['--format', 'xml'], /^--format: expected one of json, text, mixed/],
    [['--routing-keys', 'a b'], /^--routing-keys: /],
    [['--talk-mean-s', '900', '--max-talk-s', '600'], /^--talk-mean-s: /],
    [['--expect', ''], /^--expect: /],
    [['--bogus'], /bogus/],
  ])('%j is a usage error naming the flag', (argv, message) => {
    expect(() => parseSimulateArgs(argv, NOW_MS)).toThrow(UsageError);
    expect(() => parseSimulateArgs(argv, NOW_MS)).toThrow(message);
  });
});

describe('--expect file', () => {
  test('one line per expected CDR, exactly the cdr.md fields in order', () => {
    const traffic = generateTraffic({ calls: 50, seed: 3, startTimeUs: NOW_MS * 1000, lossRate: 0.2 });
    const lines = expectedNdjson(traffic.expected).trimEnd().split('\n');
    expect(lines).toHaveLength(traffic.expected.length);
    for (const [i, line] of lines.entries()) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(parsed)).toEqual(CDR_FIELDS);
      expect(parsed).toEqual(traffic.expected[i]);
    }
  });
});

describe('summary', () => {
  const traffic = generateTraffic({ calls: 100, seed: 9, startTimeUs: NOW_MS * 1000, duplicateRate: 0.1, lossRate: 0.05, acc: true });

  test('calls by outcome, messages, duplicates, lost, reordered, seconds and events/s', () => {
    const { summary } = traffic;
    const text = formatSummary(summary, { exchange: 'opensips', published: summary.messages, seconds: 2 });
    expect(text).toContain(`simulated 100 calls (seed 9): answered ${summary.outcomes.answered}, busy ${summary.outcomes.busy}`);
    expect(text).toContain(`published ${summary.messages} of ${summary.messages} messages to exchange "opensips" in 2.0 s (${Math.round(summary.messages / 2)} events/s)`);
    expect(text).toContain(`duplicates ${summary.duplicates}, lost ${summary.lost}, reordered calls ${summary.reorderedCalls}`);
    expect(summary.duplicates).toBeGreaterThan(0);
    expect(summary.lost).toBeGreaterThan(0);
  });

  test('a dry run says nothing was published', () => {
    expect(formatSummary(traffic.summary, null)).toContain(`dry run: ${traffic.summary.messages} messages generated, none published`);
  });
});

test('the command describes itself', () => {
  expect(command.name).toBe('simulate');
  expect(command.usage).toContain('--expect FILE');
});

describe('--scenario lookup', () => {
  test('plans the lookup scenario in the last minutes and lists what the lookup must answer', () => {
    const nowMs = Date.parse('2026-11-27T12:00:00Z');
    const args = parseSimulateArgs(['--scenario', 'lookup', '--seed', '1'], nowMs);
    expect(args.traffic.plan?.length).toBeGreaterThan(50);
    expect(args.traffic.startTimeUs).toBeLessThan(nowMs * 1000);
    expect(args.traffic.startTimeUs).toBeGreaterThan((nowMs - 600_000) * 1000);
    const lines = lookupExpectations(args.lookups!).trim().split('\n');
    expect(lines).toContain('GET /v1/numbers/%2B37129199999?caller=%2B5511900000001 → block (fraud_burst): 12 short calls to the prefix in the window');
    expect(() => parseSimulateArgs(['--scenario', 'fraud'], nowMs)).toThrow(/--scenario: expected lookup/);
  });
});
