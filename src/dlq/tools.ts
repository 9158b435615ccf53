/**
 * The four dead-letter operations. Each takes an open connection (tests pass a real one) and the
 * dead-letter queue name, reads the queue with scanQueue, and never acks a message it has not
 * finished with: stats, peek and dry runs ack nothing; replay acks only after the publish confirm;
 * purge acks only what matches.
 */
import type { Options } from 'amqplib';
import type { AmqpConnection } from './connect';
import { scanQueue, type ScanHooks } from './scan';
import { countDeadLetter, emptyStats, type DeadLetterStats } from './stats';
import type { PeekedMessage } from './preview';
import { decideReplay, replayProperties, type MessageProps, type ReasonMatcher, type ReplayRules, type SkipWhy } from './selection';
import { ConfirmPublisher } from '../../consumers/amqp/publisher';
import { exchangeExists } from '../../consumers/amqp/probe';

export interface StatsResult extends DeadLetterStats {
  readonly depth: number;
}

export async function collectStats(connection: AmqpConnection, queue: string, nowUs: number, hooks: ScanHooks & { onScanned?(): void } = {}): Promise<StatsResult> {
  const stats = emptyStats();
  const { depth } = await scanQueue(connection, queue, (_message, info) => {
    countDeadLetter(stats, info, nowUs);
    hooks.onScanned?.();
    return 'keep';
  }, hooks);
  return { ...stats, depth };
}

export interface PeekOptions {
  readonly matches: ReasonMatcher;
  readonly limit: number;
}

/** Shows up to `limit` matching messages, oldest first, and puts every one back. */
export async function peekDeadLetters(connection: AmqpConnection, queue: string, options: PeekOptions, show: (message: PeekedMessage) => void): Promise<{ scanned: number; shown: number }> {
  let shown = 0;
  const { scanned } = await scanQueue(connection, queue, (message, info) => {
    if (shown >= options.limit) return 'stop';
    if (!options.matches(info.reason)) return 'keep';
    shown += 1;
    show({
      position: shown,
      info,
      headers: message.properties.headers ?? {},
      messageId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
      redelivered: message.fields.redelivered,
      body: message.content,
    });
    return shown >= options.limit ? 'stop' : 'keep';
  });
  return { scanned, shown };
}

export async function countMatching(connection: AmqpConnection, queue: string, matches: ReasonMatcher): Promise<{ scanned: number; matching: number }> {
  let matching = 0;
  const { scanned } = await scanQueue(connection, queue, (_message, info) => {
    if (matches(info.reason)) matching += 1;
    return 'keep';
  });
  return { scanned, matching };
}

/** Acks (removes) the matching messages; every other message goes back. */
export async function purgeDeadLetters(connection: AmqpConnection, queue: string, matches: ReasonMatcher): Promise<{ scanned: number; removed: number }> {
  let removed = 0;
  const { scanned } = await scanQueue(connection, queue, (_message, info) => {
    if (!matches(info.reason)) return 'keep';
    removed += 1;
    return 'ack';
  });
  return { scanned, removed };
}

/** Publishes awaiting their confirm at once; a confirm from a durable queue waits for a disk sync. */
export const REPLAY_WINDOW = 64;

export interface ReplayOptions {
  readonly rules: ReplayRules;
  /** Stop after this many replay attempts (replayed or failed; skipped messages do not count). */
  readonly limit: number;
  readonly dryRun: boolean;
}

export type ReplayOutcome = 'replayed' | SkipWhy | 'failed';

export interface ReplaySummary {
  depth: number;
  scanned: number;
  replayed: number;
  skipped: Record<SkipWhy, number>;
  /** Publish returned (no queue bound), nacked, or the target exchange is missing: left in place. */
  failed: number;
  /** `exchange routing-key` → messages replayed there (or that would be, in a dry run). */
  byTarget: Map<string, number>;
}

export interface ReplayHooks extends ScanHooks {
  /** After each message is dealt with (acked, kept or failed). */
  onMessage?(outcome: ReplayOutcome, detail?: string): void;
}

export function targetLabel(exchange: string, routingKey: string): string {
  return `${JSON.stringify(exchange)} ${JSON.stringify(routingKey)}`;
}

/**
 * Republishes each selected message (body unchanged) with a publisher confirm, then acks it off
 * the dead-letter queue. Killed between the two steps, the message is replayed again by the next
 * run (harmless: ids downstream are deterministic); killed earlier, it is still in the queue.
 * At most REPLAY_WINDOW messages are between publish and ack at any time.
 */
export async function replayDeadLetters(connection: AmqpConnection, queue: string, options: ReplayOptions, hooks: ReplayHooks = {}): Promise<ReplaySummary> {
  const summary: ReplaySummary = {
    depth: 0, scanned: 0, replayed: 0, skipped: { reason: 0, max_replays: 0, no_target: 0 }, failed: 0, byTarget: new Map(),
  };
  // Opened in a dry run too (it publishes nothing then).
  const publisher = await ConfirmPublisher.on(connection, { maxOutstanding: REPLAY_WINDOW });
  const exchanges = new Map<string, Promise<boolean>>();
  const targetExists = (exchange: string): Promise<boolean> => {
    let known = exchanges.get(exchange);
    if (!known) exchanges.set(exchange, known = exchangeExists(connection, exchange));
    return known;
  };
  const done = (outcome: ReplayOutcome, detail?: string) => {
    if (outcome === 'replayed') summary.replayed += 1;
    else if (outcome === 'failed') summary.failed += 1;
    else summary.skipped[outcome] += 1;
    hooks.onMessage?.(outcome, detail);
  };
  let started = 0;
  try {
    const result = await scanQueue(connection, queue, async (message, info) => {
      if (started >= options.limit) return 'stop';
      const decision = decideReplay(info, options.rules);
      if (decision.action === 'skip') {
        done(decision.why);
        return 'keep';
      }
      started += 1;
      const { exchange, routingKey } = decision.target;
      const label = targetLabel(exchange, routingKey);
      if (!(await targetExists(exchange))) {
        done('failed', `exchange ${JSON.stringify(exchange)} does not exist`);
        return 'keep';
      }
      if (!options.dryRun) {
        const props = replayProperties(message.properties as MessageProps, info) as Options.Publish;
        const outcome = await publisher.publish(exchange, routingKey, message.content, props);
        if (outcome !== 'confirmed') {
          done('failed', outcome === 'unroutable' ? `no queue bound for ${label}` : `broker nacked the publish to ${label}`);
          return 'keep';
        }
      }
      summary.byTarget.set(label, (summary.byTarget.get(label) ?? 0) + 1);
      done('replayed');
      // Dry run: nothing is acked, so the channel close puts it back.
      return options.dryRun ? 'keep' : 'ack';
    }, hooks, { concurrency: REPLAY_WINDOW });
    summary.depth = result.depth;
    summary.scanned = result.scanned;
    return summary;
  } finally {
    await publisher.close();
  }
}

export function formatReplaySummary(summary: ReplaySummary, dryRun: boolean): string {
  const skipped = summary.skipped.reason + summary.skipped.max_replays + summary.skipped.no_target;
  return `${dryRun ? 'dry run: would replay' : 'replayed'} ${summary.replayed}, skipped ${skipped}`
    + ` (other reason ${summary.skipped.reason}, max replays ${summary.skipped.max_replays}, no target ${summary.skipped.no_target}),`
    + ` failed ${summary.failed}; scanned ${summary.scanned} of ${summary.depth}`;
}
