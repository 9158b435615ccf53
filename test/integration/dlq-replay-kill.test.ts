/**
 * `qbl dlq replay` run as a real process and SIGKILLed midway, then run again: every dead letter
 * reaches the target exchange at least once and none is lost. The child runs the TypeScript
 * sources through a small transpile-on-require hook (no build step needed).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import type { TopologyConfig } from '../../src/config/config';
import { declareTopology } from '../../consumers/amqp/topology';
import { buildDeadLetter } from '../../consumers/amqp/dead-letter';
import { REPLAY_WINDOW } from '../../src/dlq/tools';
import { integrationFixture } from '../support/fixture';
import { RABBIT_URL } from '../support/rabbit';

const ROOT = path.resolve(__dirname, '../..');
const TOTAL = 3000;

const CHILD = `
const fs = require('fs');
const ts = require('typescript');
require.extensions['.ts'] = (module, file) => {
  const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: file });
  module._compile(out.outputText, file);
};
require('./src/cli/main.ts').main(['dlq', 'replay']).then((code) => { process.exitCode = code; });
`;

function runReplay(t: TopologyConfig): { exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>; kill(): void } {
  const child = spawn(process.execPath, ['-e', CHILD], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, AMQP_URL: RABBIT_URL, LOG_LEVEL: 'warn', QBL_QUEUE: t.queue, QBL_EXCHANGE: t.exchange,
      QBL_QUEUE_TYPE: t.queueType, QBL_DEAD_LETTER_EXCHANGE: t.deadLetterExchange, QBL_DEAD_LETTER_QUEUE: t.deadLetterQueue,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout }));
  });
  return { exit, kill: () => child.kill('SIGKILL') };
}

describe('qbl dlq replay killed midway', () => {
  const id = randomBytes(6).toString('hex');
  const t: TopologyConfig = {
    exchange: `t.dlqkill.${id}`, queue: `t.dlqkill.${id}.events`, queueType: 'classic', bindingKey: '#', deliveryLimit: 10,
    deadLetterExchange: `t.dlqkill.${id}.dlx`, deadLetterQueue: `t.dlqkill.${id}.dead`,
  };
  const f = integrationFixture('dlq-kill');
  let channel: amqp.ConfirmChannel;

  beforeAll(async () => {
    f.admin.track(t);
    await f.admin.withChannel((setup) => declareTopology(setup, t));
    channel = await f.admin.model.createConfirmChannel();
    f.defer(() => channel.close());
  });

  it('loses nothing and replays each message at least once', async () => {
    for (let n = 0; n < TOTAL; n += 1) {
      const letter = buildDeadLetter({ body: Buffer.from(`kill-${n}`), exchange: t.exchange, routingKey: 'E_ACC_CDR', headers: {} },
        { reason: 'decode.unknown_event', detail: 'unmapped', stage: 'decode' }, Date.now() * 1000);
      channel.publish(t.deadLetterExchange, letter.routingKey, letter.body, letter.options);
    }
    await channel.waitForConfirms();
    expect(await f.admin.depth(t.deadLetterQueue)).toBe(TOTAL);

    const first = runReplay(t);
    let killedAt = -1;
    const exited = first.exit.then(() => true);
    // Kill it once it has replayed a few messages (waiting with short polls, not a fixed sleep).
    while (killedAt < 0 && !(await Promise.race([exited, new Promise<false>((r) => setTimeout(() => r(false), 10))]))) {
      const arrived = await f.admin.depth(t.queue);
      if (arrived >= 50) {
        first.kill();
        killedAt = arrived;
      }
    }
    const firstExit = await first.exit;
    expect(firstExit.signal).toBe('SIGKILL'); // it really was cut off, not finished
    expect(await f.admin.depth(t.queue)).toBeLessThan(TOTAL);

    const second = await runReplay(t).exit;
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^replayed \d+, skipped 0 .* failed 0; scanned \d+ of \d+$/m);

    const seen = new Map<string, number>();
    for (let m = await channel.get(t.queue, { noAck: true }); m !== false; m = await channel.get(t.queue, { noAck: true })) {
      seen.set(m.content.toString(), (seen.get(m.content.toString()) ?? 0) + 1);
      expect(m.properties.headers?.['x-qbl-replay-count']).toBe(1);
    }
    expect(seen.size).toBe(TOTAL);
    // Only messages between their confirm and their ack when the process died come twice.
    expect([...seen.values()].filter((count) => count > 1).length).toBeLessThanOrEqual(REPLAY_WINDOW);
    expect(await f.admin.depth(t.deadLetterQueue)).toBe(0);
  });
});
