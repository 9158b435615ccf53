/**
 * `kill -9` (or SIGTERM) at arbitrary moments, then a restart: the store must end with exactly the CDRs of an
 * uninterrupted run — none lost, none doubled, every field equal. The service runs as the real
 * `qbl start` child process against the real RabbitMQ.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { CallEvent } from '../../correlators/events';
import { generateTraffic } from '../../src/simulator/generator';
import { CorrelatorHarness } from '../support/call-events';
import { delay, publishAll, waitUntil } from '../support/rabbit';
import { SHORT_TIMEOUTS, serviceEnv } from '../support/service-env';
import { integrationFixture } from '../support/fixture';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const FAR_FUTURE_US = 4_000_000_000 * 1_000_000;

function countEvents(path: string): number {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

/** Events published but not in the store, with what a failure report needs to find them. */
function missingEvents(path: string, events: readonly CallEvent[]): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    const stored = new Set((db.prepare('SELECT id FROM events').all() as Array<{ id: string }>).map((row) => row.id));
    return events.filter((e) => !stored.has(e.id)).map((e) => ({ id: e.id, kind: e.kind, callId: e.callId, timeUs: e.timeUs }));
  } finally {
    db.close();
  }
}

/** The last lines the children wrote, shown when the test fails. */
const childOutput: string[] = [];

interface Child {
  process: ChildProcess;
  /** The service said it is consuming. */
  consuming: boolean;
}

function startService(env: Record<string, string>): Child {
  const process_ = spawn(process.execPath, [MAIN, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const child: Child = { process: process_, consuming: false };
  for (const stream of [process_.stdout!, process_.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      if (text.includes('"msg":"consuming"')) child.consuming = true;
      childOutput.push(...text.split('\n').filter(Boolean));
      childOutput.splice(0, Math.max(0, childOutput.length - 120));
    });
  }
  return child;
}

/** Resolves with the exit code (null when a signal ended the process). */
function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null
    ? resolve(child.exitCode)
    : child.once('exit', (code) => resolve(code))));
}

describe('kill -9 and restart', () => {
  const f = integrationFixture('kill9');

  test.each([
    ['SIGKILL', 'kill -9: no chance to clean up'],
    ['SIGTERM', 'graceful: stop intake, finish the batch, commit, ack, exit 0'],
  ] as const)('stopping the service with %s three times mid-stream (%s) loses and doubles nothing', async (signal, _why) => {
    const env = serviceEnv(f.dir, signal === 'SIGKILL' ? 'kill9' : 'term', {
      ...SHORT_TIMEOUTS, LOG_LEVEL: 'info', QBL_BATCH_SIZE: '40', QBL_PREFETCH: '200', QBL_BATCH_WAIT_MS: '2',
    });
    const sqlitePath = env.SQLITE_PATH!;
    f.admin.track({ exchange: env.QBL_EXCHANGE, queue: env.QBL_QUEUE, deadLetterExchange: `${env.QBL_QUEUE}.dlx`, deadLetterQueue: `${env.QBL_QUEUE}.dead`, queueType: 'quorum', bindingKey: '#', deliveryLimit: 10 });

    // An hour of traffic that ended a while ago, with every kind of disorder.
    const traffic = generateTraffic({
      calls: 500, seed: 99, startTimeUs: (Date.now() - 3 * 3600 * 1000) * 1000,
      duplicateRate: 0.05, reorderRate: 0.3, lossRate: 0.02, retransmitRate: 0.1,
    });
    const events: CallEvent[] = traffic.messages.map((m) => {
      const decoded = decodeMessage(m.body, DEFAULT_DECODER_OPTIONS);
      if (!decoded.ok) throw new Error(decoded.detail);
      return decoded.event;
    });
    const uninterrupted = new CorrelatorHarness();
    uninterrupted.ingest(events, 0);
    uninterrupted.sweep(FAR_FUTURE_US);
    const distinctEvents = new Set(events.map((e) => e.id)).size;

    // The first start declares the topology; the whole stream is then queued before any kill.
    let child = startService(env);
    // "consuming" comes after the whole topology, binding included: a message published to the
    // exchange before the binding exists would be dropped by the broker, as OpenSIPS's would.
    await waitUntil(() => child.consuming, 'the service to declare its topology and consume', 20_000);
    await publishAll(env.QBL_EXCHANGE, traffic.messages);

    for (const fraction of [0.15, 0.45, 0.75]) {
      await waitUntil(() => child.consuming && countEvents(sqlitePath) >= fraction * distinctEvents, `${fraction * 100}% of the events`, 60_000);
      child.process.kill(signal);
      const code = await exited(child.process);
      if (signal === 'SIGTERM') expect(code).toBe(0);
      await delay(50);
      child = startService(env);
    }

    try {
      await waitUntil(async () => (await f.admin.depth(env.QBL_QUEUE)) === 0 && countEvents(sqlitePath) === distinctEvents, 'the queue to drain', 90_000)
        .catch(async (error: Error) => {
          const state = `queue ${await f.admin.depth(env.QBL_QUEUE)}, dead ${await f.admin.depth(`${env.QBL_QUEUE}.dead`)}, events ${countEvents(sqlitePath)}/${distinctEvents}`;
          throw new Error(`${error.message} (${state})\nmissing: ${JSON.stringify(missingEvents(sqlitePath, events))}\n${childOutput.join('\n')}`);
        });
      const db = new Database(sqlitePath, { readonly: true });
      try {
        await waitUntil(() => (db.prepare('SELECT count(*) AS n FROM open_calls').get() as { n: number }).n === 0, 'every call to close', 30_000);
        const rows = db.prepare('SELECT record FROM cdrs').all() as Array<{ record: string }>;
        const stored = new Map(rows.map((r) => {
          const record = JSON.parse(r.record) as { cdr: { call_id: string } };
          return [record.cdr.call_id, record.cdr];
        }));
        expect(stored.size).toBe(uninterrupted.cdrs.size);
        for (const [callId, record] of uninterrupted.cdrs) expect(stored.get(callId)).toEqual(record.cdr);
        expect((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(distinctEvents);
      } finally {
        db.close();
      }
      expect(await f.admin.depth(`${env.QBL_QUEUE}.dead`)).toBe(0);
    } finally {
      child.process.kill('SIGTERM');
      await exited(child.process);
    }
  }, 240_000);
});
