/**
 * `qbl simulate`: publishes realistic OpenSIPS traffic to the configured exchange, exactly as
 * OpenSIPS would (no AMQP properties, one routing key per event name), and can write the CDRs the
 * service must produce (`--expect`), so a run doubles as an end-to-end check.
 */
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { ConfirmPublisher } from '../../../consumers/amqp/publisher';
import { loadConfig } from '../../config/config';
import { createLogger } from '../../observability/logger';
import { OUTCOMES } from '../../simulator/call-model';
import {
  DEFAULT_TRAFFIC_OPTIONS, WIRE_FORMATS, generateTraffic, resolveTrafficOptions,
  type TrafficMessage, type TrafficOptions, type TrafficSummary, type WireFormat,
} from '../../simulator/generator';
import { freshSeed } from '../../simulator/random';
import { lookupScenario, type ExpectedLookup } from '../../simulator/lookup-scenario';
import type { CliCommand } from '../command';
import { UsageError, intFlag, numberFlag, parseFlags } from '../../flags';
import { cdrFields } from '../format';
import { startProgress } from '../progress';
import { TIME_FORMS, parseTimeFlag } from '../time-flags';

const D = DEFAULT_TRAFFIC_OPTIONS;

const USAGE = `usage: qbl simulate [--calls N] [--cps R] [--concurrency C] [--format json|text|mixed] [--acc]
                    [--seed S] [--start-time T] [--expect FILE] [--routing-keys PREFIX] [--no-pace] [--dry-run]
                    [--answer-rate P] [--provisional-rate P] [--retransmit-rate P] [--duplicate-rate P]
                    [--reorder-rate P] [--loss-rate P] [--in-progress-rate P]
                    [--talk-mean-s S] [--max-talk-s S] [--ring-timeout-s S] [--scenario lookup]
  --calls N             calls to simulate (default ${D.calls})
  --cps R               call arrivals per second, in the simulated timeline and when publishing (default ${D.cps})
  --concurrency C       at most C calls in flight in the simulated timeline (default ${D.concurrency})
  --format F            json (OpenSIPS 3.1.1+), text (2.1-3.0) or mixed (default ${D.format})
  --acc                 also publish the acc module's E_ACC_CDR, E_ACC_EVENT, E_ACC_MISSED_EVENT
  --seed S              repeat a run exactly (default: a fresh seed, printed in the summary)
  --start-time T        when the traffic starts (default now); T: ${TIME_FORMS}
  --expect FILE         write the CDRs the service must produce, as NDJSON of the cdr.md fields
  --routing-keys PREFIX routing keys PREFIX.qbl.invite.request, PREFIX.acc.cdr, ... (default ${D.routingKeyPrefix})
  --no-pace             publish as fast as the broker confirms, instead of --cps calls per second
  --dry-run             generate (and write --expect) without publishing
  rates, each from 0 (off) to 1:
  --answer-rate (${D.answerRate}) --provisional-rate (${D.provisionalRate}) --retransmit-rate (${D.retransmitRate})
  --duplicate-rate (${D.duplicateRate}) --reorder-rate (${D.reorderRate}) --loss-rate (${D.lossRate}) --in-progress-rate (${D.inProgressRate})
  --talk-mean-s (${D.talkMeanS}), --max-talk-s (${D.maxTalkS}): talk time; --ring-timeout-s (${D.ringTimeoutS}): the proxy's 408
  --scenario lookup     instead of --calls: numbers that keep failing (404/484), a toll-fraud burst and
                        ordinary calls of the last minutes, then the answers the number lookup must give
Publishes to QBL_EXCHANGE on AMQP_URL; like OpenSIPS it declares nothing (run \`qbl start\` first).`;

const FLAGS = {
  calls: { type: 'string' },
  cps: { type: 'string' },
  concurrency: { type: 'string' },
  format: { type: 'string' },
  acc: { type: 'boolean' },
  seed: { type: 'string' },
  'start-time': { type: 'string' },
  expect: { type: 'string' },
  'routing-keys': { type: 'string' },
  'no-pace': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'answer-rate': { type: 'string' },
  'provisional-rate': { type: 'string' },
  'retransmit-rate': { type: 'string' },
  'duplicate-rate': { type: 'string' },
  'reorder-rate': { type: 'string' },
  'loss-rate': { type: 'string' },
  'in-progress-rate': { type: 'string' },
  'talk-mean-s': { type: 'string' },
  'max-talk-s': { type: 'string' },
  'ring-timeout-s': { type: 'string' },
  scenario: { type: 'string' },
} as const;

export interface SimulateArgs {
  readonly traffic: TrafficOptions;
  /** With `--scenario lookup`: what the number lookup must answer once the service has the calls. */
  readonly lookups?: readonly ExpectedLookup[];
  readonly expectPath?: string;
  readonly pace: boolean;
  readonly dryRun: boolean;
}

export function parseSimulateArgs(argv: readonly string[], nowMs: number, seed: () => number = freshSeed): SimulateArgs {
  const { values } = parseFlags(argv, FLAGS);
  const rate = (flag: keyof typeof FLAGS, fallback: number) => numberFlag(flag, values[flag] as string | undefined, fallback, 0, 1);
  const format = values.format ?? D.format;
  if (!(WIRE_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format: expected one of ${WIRE_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  if (values.expect !== undefined && values.expect.trim() === '') throw new UsageError('--expect: expected a file name');
  if (values.scenario !== undefined && values.scenario !== 'lookup') throw new UsageError(`--scenario: expected lookup, got ${JSON.stringify(values.scenario)}`);
  const scenario = values.scenario === undefined ? undefined : lookupScenario();
  const partial: Partial<TrafficOptions> = {
    calls: intFlag('calls', values.calls, D.calls, 0, 10_000_000),
    cps: numberFlag('cps', values.cps, D.cps, 0.001, 1_000_000),
    concurrency: intFlag('concurrency', values.concurrency, D.concurrency, 1, 10_000_000),
    format: format as WireFormat,
    acc: values.acc ?? false,
    seed: values.seed === undefined ? seed() : intFlag('seed', values.seed, 0, 0, 2 ** 32 - 1),
    // The scenario's calls all happened in the last minutes (the burst rule looks back 10 minutes).
    startTimeUs: values['start-time'] !== undefined ? parseTimeFlag('start-time', values['start-time'], nowMs)
      : scenario === undefined ? nowMs * 1000 : (nowMs - (scenario.spanS + 120) * 1000) * 1000,
    ...(scenario === undefined ? {} : { plan: scenario.plan }),
    routingKeyPrefix: values['routing-keys'] ?? D.routingKeyPrefix,
    answerRate: rate('answer-rate', D.answerRate),
    provisionalRate: rate('provisional-rate', D.provisionalRate),
    retransmitRate: rate('retransmit-rate', D.retransmitRate),
    duplicateRate: rate('duplicate-rate', D.duplicateRate),
    reorderRate: rate('reorder-rate', D.reorderRate),
    lossRate: rate('loss-rate', D.lossRate),
    inProgressRate: rate('in-progress-rate', D.inProgressRate),
    talkMeanS: numberFlag('talk-mean-s', values['talk-mean-s'], D.talkMeanS, 1, 86_400),
    maxTalkS: numberFlag('max-talk-s', values['max-talk-s'], D.maxTalkS, 1, 86_400),
    ringTimeoutS: numberFlag('ring-timeout-s', values['ring-timeout-s'], D.ringTimeoutS, 3, 600),
  };
  let traffic: TrafficOptions;
  try {
    traffic = resolveTrafficOptions(partial);
  } catch (error) {
    // Option names are camelCase in the library; say the flag.
    const message = (error as Error).message.replace(/^([a-zA-Z]+):/, (_m, name: string) =>
      `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace('routing-key-prefix', 'routing-keys')}:`);
    throw new UsageError(message);
  }
  return { traffic, lookups: scenario?.expected, expectPath: values.expect, pace: !values['no-pace'], dryRun: values['dry-run'] ?? false };
}

/** The lookups to try after a `--scenario lookup` run, one per line. */
export function lookupExpectations(lookups: readonly ExpectedLookup[]): string {
  return lookups.map((l) => {
    const path = `/v1/numbers/${encodeURIComponent(l.number)}${l.caller === undefined ? '' : `?caller=${encodeURIComponent(l.caller)}`}`;
    return `GET ${path} → ${l.verdict}${l.reasons.length === 0 ? '' : ` (${l.reasons.join(', ')})`}: ${l.why}\n`;
  }).join('');
}

export function expectedNdjson(cdrs: ReadonlyArray<Parameters<typeof cdrFields>[0]>): string {
  return cdrs.map((cdr) => `${JSON.stringify(cdrFields(cdr))}\n`).join('');
}

export interface PublishOutcome {
  readonly exchange: string;
  readonly published: number;
  readonly seconds: number;
}

/** The closing summary; `outcome` null for a dry run. */
export function formatSummary(summary: TrafficSummary, outcome: PublishOutcome | null): string {
  const outcomes = OUTCOMES.map((o) => `${o} ${summary.outcomes[o]}`).join(', ');
  let publishing = `dry run: ${summary.messages} messages generated, none published`;
  if (outcome) {
    const rate = outcome.seconds > 0 ? Math.round(outcome.published / outcome.seconds) : outcome.published;
    publishing = `published ${outcome.published} of ${summary.messages} messages to exchange ${JSON.stringify(outcome.exchange)} `
      + `in ${outcome.seconds.toFixed(1)} s (${rate} events/s)`;
  }
  return [
    `simulated ${summary.calls} calls (seed ${summary.seed}): ${outcomes}`,
    publishing,
    `events ${summary.publishedEvents} (acc ${summary.accEvents}), duplicates ${summary.duplicates}, lost ${summary.lost}, `
      + `reordered calls ${summary.reorderedCalls}, in progress ${summary.inProgressCalls} (${summary.beforeStart} events before the start)`,
    `expected CDRs ${summary.expectedCdrs}`,
  ].join('\n');
}

/** Each call's first message waits until `index / cps` seconds after the start. */
function paceDelayMs(callOrdinal: number, cps: number, startedMs: number, nowMs: number): number {
  return startedMs + (callOrdinal / cps) * 1000 - nowMs;
}

const WINDOW = 500;

async function publishAll(
  publisher: ConfirmPublisher, exchange: string, messages: readonly TrafficMessage[], args: SimulateArgs, stopped: () => boolean,
): Promise<number> {
  const progress = startProgress('publishing', messages.length);
  const inFlight = new Set<Promise<void>>();
  const seenCalls = new Set<string>();
  const startedMs = Date.now();
  let confirmed = 0;
  let failure: unknown;
  try {
    for (const message of messages) {
      if (failure !== undefined || stopped()) break;
      if (args.pace && !seenCalls.has(message.callId)) {
        const waitMs = paceDelayMs(seenCalls.size, args.traffic.cps, startedMs, Date.now());
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
      seenCalls.add(message.callId);
      const done: Promise<void> = publisher.publish(exchange, message.routingKey, message.body).then(
        (outcome) => {
          if (outcome !== 'confirmed') throw new Error(`the broker ${outcome === 'nacked' ? 'nacked' : 'returned'} a publish`);
          confirmed += 1;
          progress.increment();
        },
      ).catch((error: unknown) => { failure ??= error; }).finally(() => inFlight.delete(done));
      inFlight.add(done);
      if (inFlight.size >= WINDOW) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    progress.stop();
  }
  if (failure !== undefined) {
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw new Error(`publishing to exchange ${JSON.stringify(exchange)} failed after ${confirmed} messages: ${reason} (does the exchange exist? \`qbl start\` declares it)`);
  }
  return confirmed;
}

export const command: CliCommand = {
  name: 'simulate',
  summary: 'Publish realistic OpenSIPS traffic (and write the CDRs the service must produce).',
  usage: USAGE,
  async run(argv) {
    const args = parseSimulateArgs(argv, Date.now());
    const config = loadConfig();
    const traffic = generateTraffic(args.traffic);
    if (args.expectPath !== undefined) writeFileSync(args.expectPath, expectedNdjson(traffic.expected));
    const exchange = config.topology.exchange;
    const lookups = args.lookups === undefined ? '' : `once the service has closed these calls, the number lookup answers:\n${lookupExpectations(args.lookups)}`;
    if (args.dryRun) {
      process.stdout.write(`${formatSummary(traffic.summary, null)}\n${lookups}`);
      return 0;
    }
    // Logs on stderr: stdout carries the summary.
    const logger = createLogger(config.logLevel, pino.destination(2));
    let stop = false;
    const onSignal = () => { stop = true; };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const startedMs = Date.now();
    const publisher = await ConfirmPublisher.open(config.amqp, logger);
    try {
      const published = await publishAll(publisher, exchange, traffic.messages, args, () => stop);
      const seconds = (Date.now() - startedMs) / 1000;
      process.stdout.write(`${formatSummary(traffic.summary, { exchange, published, seconds })}\n${lookups}`);
      return stop ? 130 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await publisher.close();
    }
  },
};
