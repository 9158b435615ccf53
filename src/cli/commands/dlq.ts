/** `qbl dlq stats|peek|replay|purge` (also `npm run replay-dlq`): inspect, replay and purge dead letters. See docs/dead-letters.md. */
import pino from 'pino';
import { connectAmqp } from '../../../consumers/amqp/connection';
import { loadConfig } from '../../config/config';
import { createLogger } from '../../observability/logger';
import { closeQuietly } from '../../dlq/connect';
import { formatPeekBlock, peekToJson } from '../../dlq/preview';
import { reasonMatcher, type ReplayTarget } from '../../dlq/selection';
import { formatStatsTable, statsToJson } from '../../dlq/stats';
import {
  collectStats, countMatching, formatReplaySummary, peekDeadLetters, purgeDeadLetters, replayDeadLetters,
} from '../../dlq/tools';
import type { CliCommand } from '../command';
import { UsageError, intFlag, parseFlags } from '../../flags';
import { startProgress } from '../progress';

const USAGE = `usage: qbl dlq <stats|peek|replay|purge> [flags]
  qbl dlq stats  [--format table|ndjson]
      counts by reason and by age of failure (<1h, <1d, <7d, older)
  qbl dlq peek   [--limit N] [--reason CODE] [--format table|ndjson] [--body-chars N]
      shows messages with their headers and a body preview
  qbl dlq replay [--limit N] [--reason CODE] [--dry-run] [--to-exchange X --routing-key K] [--max-replays M]
      republishes to the original exchange and routing key (confirmed), then removes from the DLQ;
      skips messages already replayed M times (default 5)
  qbl dlq purge  --reason CODE [--yes]
      removes the matching messages; without --yes only counts them
CODE is a reason such as decode.not_json, or a prefix such as decode.*
stats and peek consume nothing: messages are read unacked and put back (they come back marked redelivered).
Reads the dead-letter queue named by QBL_DEAD_LETTER_QUEUE (default <QBL_QUEUE>.dead) on AMQP_URL.`;

type Format = 'table' | 'ndjson';

export type DlqArgs =
  | { readonly action: 'stats'; readonly format: Format }
  | { readonly action: 'peek'; readonly limit: number; readonly reason?: string; readonly format: Format; readonly bodyChars: number }
  | { readonly action: 'replay'; readonly limit: number; readonly reason?: string; readonly dryRun: boolean; readonly target?: ReplayTarget; readonly maxReplays: number }
  | { readonly action: 'purge'; readonly reason: string; readonly yes: boolean };

const REASON = /^[A-Za-z0-9_.:-]+\*?$|^\*$/;

function reasonFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!REASON.test(value)) throw new UsageError(`--reason: expected a reason code such as decode.not_json or a prefix such as decode.*, got ${JSON.stringify(value)}`);
  return value;
}

function formatFlag(value: string | undefined): Format {
  if (value === undefined) return 'table';
  if (value !== 'table' && value !== 'ndjson') throw new UsageError(`--format: expected one of table, ndjson, got ${JSON.stringify(value)}`);
  return value;
}

const MAX = Number.MAX_SAFE_INTEGER;

export function parseDlqArgs(argv: readonly string[]): DlqArgs {
  const [action, ...rest] = argv;
  switch (action) {
    case 'stats': {
      const { values } = parseFlags(rest, { format: { type: 'string' } });
      return { action, format: formatFlag(values.format) };
    }
    case 'peek': {
      const { values } = parseFlags(rest, { limit: { type: 'string' }, reason: { type: 'string' }, format: { type: 'string' }, 'body-chars': { type: 'string' } });
      return {
        action,
        limit: intFlag('limit', values.limit, 10, 1, 1_000_000),
        reason: reasonFlag(values.reason),
        format: formatFlag(values.format),
        bodyChars: intFlag('body-chars', values['body-chars'], 200, 1, 16 * 1024 * 1024),
      };
    }
    case 'replay': {
      const { values } = parseFlags(rest, {
        limit: { type: 'string' }, reason: { type: 'string' }, 'dry-run': { type: 'boolean' },
        'to-exchange': { type: 'string' }, 'routing-key': { type: 'string' }, 'max-replays': { type: 'string' },
      });
      const exchange = values['to-exchange'];
      const routingKey = values['routing-key'];
      if ((exchange === undefined) !== (routingKey === undefined)) {
        throw new UsageError('--to-exchange and --routing-key: give both or neither');
      }
      return {
        action,
        limit: intFlag('limit', values.limit, MAX, 1, MAX),
        reason: reasonFlag(values.reason),
        dryRun: values['dry-run'] === true,
        target: exchange === undefined || routingKey === undefined ? undefined : { exchange, routingKey },
        maxReplays: intFlag('max-replays', values['max-replays'], 5, 0, 1_000_000),
      };
    }
    case 'purge': {
      const { values } = parseFlags(rest, { reason: { type: 'string' }, yes: { type: 'boolean' } });
      const reason = reasonFlag(values.reason);
      if (reason === undefined) throw new UsageError('--reason: required (purge removes one reason at a time)');
      return { action, reason, yes: values.yes === true };
    }
    default:
      throw new UsageError(action === undefined ? 'missing action' : `unknown action ${JSON.stringify(action)}`);
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function execute(args: DlqArgs): Promise<number> {
  const config = loadConfig();
  const queue = config.topology.deadLetterQueue;
  // Logs go to stderr so stdout stays the command's output; info lines (connected…) are noise here.
  const level = ['debug', 'trace'].includes(config.logLevel) ? config.logLevel : 'warn';
  const logger = createLogger(level, pino.destination({ fd: 2, sync: true }));
  const connection = await connectAmqp(config.amqp, logger, { connectionName: `opensips-qbl dlq ${args.action}` });
  try {
    switch (args.action) {
      case 'stats': {
        const stats = await collectStats(connection, queue, Date.now() * 1000);
        if (args.format === 'ndjson') out(JSON.stringify({ queue, ...statsToJson(stats) }));
        else if (stats.total === 0) out(`dead-letter queue ${queue} is empty`);
        else out(`dead-letter queue ${queue}: ${stats.total} messages\n${formatStatsTable(stats)}`);
        return 0;
      }
      case 'peek': {
        const { shown, scanned } = await peekDeadLetters(connection, queue, { limit: args.limit, matches: reasonMatcher(args.reason) }, (message) => {
          out(args.format === 'ndjson' ? JSON.stringify(peekToJson(message, args.bodyChars)) : `${formatPeekBlock(message, args.bodyChars)}\n`);
        });
        if (args.format === 'table') err(`${shown} shown of ${scanned} scanned in ${queue}; nothing consumed`);
        return 0;
      }
      case 'replay':
        return await replay(connection, queue, args);
      case 'purge': {
        const matches = reasonMatcher(args.reason);
        const { matching, scanned } = await countMatching(connection, queue, matches);
        out(`${matching} of ${scanned} dead letters in ${queue} match reason ${args.reason}`);
        if (!args.yes) {
          if (matching > 0) err('nothing removed: run again with --yes to remove them');
          return matching > 0 ? 1 : 0;
        }
        if (matching === 0) return 0;
        const { removed } = await purgeDeadLetters(connection, queue, matches);
        out(`removed ${removed}`);
        return 0;
      }
    }
  } finally {
    await closeQuietly(connection);
  }
}

async function replay(connection: Parameters<typeof replayDeadLetters>[0], queue: string, args: Extract<DlqArgs, { action: 'replay' }>): Promise<number> {
  const abort = new AbortController();
  // Ctrl-C ends the run after the current message, with a summary; a second one kills it (still safe).
  const stop = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const progress = startProgress(args.dryRun ? 'dry run' : 'replay', 0);
  let progressStopped = false;
  const stopProgress = () => {
    if (!progressStopped) progress.stop();
    progressStopped = true;
  };
  const failures = new Map<string, number>();
  try {
    const summary = await replayDeadLetters(connection, queue, {
      rules: { matches: reasonMatcher(args.reason), maxReplays: args.maxReplays, target: args.target },
      limit: args.limit,
      dryRun: args.dryRun,
    }, {
      signal: abort.signal,
      onStart: (depth) => progress.setTotal(depth),
      onMessage: (outcome, detail) => {
        progress.increment();
        if (outcome === 'failed' && detail) failures.set(detail, (failures.get(detail) ?? 0) + 1);
      },
    });
    stopProgress();
    for (const [target, count] of summary.byTarget) out(`${args.dryRun ? 'would replay' : 'replayed'} ${count} to exchange/routing-key ${target}`);
    for (const [detail, count] of failures) err(`${args.dryRun ? 'would fail' : 'failed'} ${count}: ${detail} (left in ${queue})`);
    out(formatReplaySummary(summary, args.dryRun) + (abort.signal.aborted ? ' (interrupted)' : ''));
    return summary.failed > 0 || abort.signal.aborted ? 1 : 0;
  } finally {
    stopProgress();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export const command: CliCommand = {
  name: 'dlq',
  summary: 'Inspect, replay and purge dead letters.',
  usage: USAGE,
  run: (argv) => execute(parseDlqArgs(argv)),
};
