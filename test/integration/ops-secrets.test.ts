/**
 * No credential in any log line, error message, /metrics or `qbl status`: the real `qbl start`
 * runs as a child process with a RabbitMQ user made for this test (a distinctive password, with a
 * character that must be percent-encoded in the URL), at debug level, through a forced reconnect
 * and a shutdown; then with a wrong password. Every byte it and `qbl status` print is searched
 * for both passwords, raw and URL-encoded.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, httpGet, metricValue } from '../support/http';
import { uniqueName, waitUntil } from '../support/rabbit';
import { readSamples } from '../support/samples';
import { integrationFixture } from '../support/fixture';

const run = promisify(execFile);
const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

const USER = `qbl-secrets-${randomBytes(4).toString('hex')}`;
const TOKEN = randomBytes(6).toString('hex');
const PASSWORD = `S3cr3t/${TOKEN}`;
const WRONG_TOKEN = randomBytes(6).toString('hex');
const WRONG_PASSWORD = `Wr0ng/${WRONG_TOKEN}`;
const FORBIDDEN = [PASSWORD, encodeURIComponent(PASSWORD), TOKEN, WRONG_PASSWORD, encodeURIComponent(WRONG_PASSWORD), WRONG_TOKEN];

function amqpUrl(password: string): string {
  return `amqp://${USER}:${encodeURIComponent(password)}@127.0.0.1:5672`;
}

function expectNoSecret(what: string, text: string): void {
  for (const secret of FORBIDDEN) {
    if (text.includes(secret)) throw new Error(`${what} contains a credential (${secret === TOKEN || secret === WRONG_TOKEN ? 'token' : 'password'})`);
  }
}

interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startQbl(env: Record<string, string>): Child {
  const child = spawn(process.execPath, [MAIN, 'start'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { process: child, stdout: () => Buffer.concat(out).toString('utf8'), stderr: () => Buffer.concat(err).toString('utf8'), exit };
}

async function qblStatus(env: Record<string, string>, args: string[] = []): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, 'status', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Server-side close of this test user's connections (never anyone else's). */
async function closeUserConnections(): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'user', '-q']);
  const pids = stdout.split('\n').filter((line) => line.split('\t')[1] === USER).map((line) => line.split('\t')[0]!);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'test: forced close']);
  return pids.length;
}

describe('secrets never leave the process', () => {
  const f = integrationFixture('secrets');

  beforeAll(async () => {
    await run('rabbitmqctl', ['add_user', USER, PASSWORD]);
    await run('rabbitmqctl', ['set_permissions', '-p', '/', USER, '.*', '.*', '.*']);
    f.defer(() => run('rabbitmqctl', ['delete_user', USER]).catch(() => undefined));
  }, 60_000);

  test('a full run at debug level: logs, errors, /metrics and `qbl status` carry no password', async () => {
    const base = uniqueName('secrets');
    const port = await freePort();
    const env = {
      AMQP_URL: amqpUrl(PASSWORD), LOG_LEVEL: 'debug',
      QBL_EXCHANGE: `${base}.x`, QBL_QUEUE: `${base}.q`, SQLITE_PATH: join(f.dir, 'qbl.db'),
      QBL_HTTP_PORT: String(port), QBL_STATS_INTERVAL_S: '1', QBL_BATCH_WAIT_MS: '5',
    };
    f.admin.track({ exchange: env.QBL_EXCHANGE, queue: env.QBL_QUEUE, deadLetterExchange: `${env.QBL_QUEUE}.dlx`,
      deadLetterQueue: `${env.QBL_QUEUE}.dead`, queueType: 'quorum', bindingKey: '#', deliveryLimit: 10 });
    const child = startQbl(env);
    const scraped: string[] = [];
    try {
      await waitUntil(async () => (await httpGet(port, '/readyz').catch(() => ({ status: 0 }))).status === 200, 'the service to be ready', 30_000);
      const samples = readSamples();
      for (const message of samples) await f.admin.publish(env.QBL_EXCHANGE, message.routingKey, [message.body]);
      await f.admin.publish(env.QBL_EXCHANGE, 'opensips.bad', [Buffer.from('{"broken":')]);
      await waitUntil(async () => {
        const text = (await httpGet(port, '/metrics')).body;
        return metricValue(text, 'qbl_deliveries_acked_total') === samples.length + 1;
      }, 'every message to be acked', 30_000);

      // A connection closed by the broker: the loss and the reconnection are logged (with the broker's reason).
      expect(await closeUserConnections()).toBeGreaterThanOrEqual(1);
      await waitUntil(async () => metricValue((await httpGet(port, '/metrics')).body, 'qbl_amqp_reconnects_total') === 1, 'the reconnection', 30_000);

      for (const path of ['/metrics', '/readyz', '/healthz', '/nothing']) scraped.push((await httpGet(port, path)).body);
      expect(scraped[0]).toContain('qbl_cdrs_written_total{source="qbl",disposition="answered"}');

      // `qbl status` once with the URL in the environment, once from a secret file.
      const secretFile = join(f.dir, 'amqp-url');
      writeFileSync(secretFile, `${amqpUrl(PASSWORD)}\n`, { mode: 0o600 });
      const statusEnv = { ...env, LOG_LEVEL: 'info' };
      const { AMQP_URL: _url, ...withoutUrl } = statusEnv;
      const statuses = [await qblStatus(statusEnv), await qblStatus({ ...withoutUrl, AMQP_URL_FILE: secretFile }, ['--json'])];
      for (const status of statuses) {
        expect(status.code).toBe(0);
        expect(status.output).toContain(`amqp://${USER}:***@127.0.0.1:5672`);
        scraped.push(status.output);
      }
    } finally {
      child.process.kill('SIGTERM');
    }
    expect(await child.exit).toBe(0);
    const stdout = child.stdout();
    const stderr = child.stderr();
    // The run did log the broker (redacted), the lost connection, the stats and the summary.
    expect(stdout).toContain(`amqp://${USER}:***@127.0.0.1:5672`);
    expect(stdout).toContain('AMQP connection lost');
    expect(stdout).toContain('"msg":"stats"');
    expect(stdout).toContain('"msg":"stopped"');
    expectNoSecret('stdout', stdout);
    expectNoSecret('stderr', stderr);
    scraped.forEach((text, i) => expectNoSecret(`scrape ${i}`, text));
  }, 120_000);

  test('a wrong password: `qbl start` fails with a redacted error, `qbl status` says not connected', async () => {
    const base = uniqueName('secrets-wrong');
    const env = {
      AMQP_URL: amqpUrl(WRONG_PASSWORD), LOG_LEVEL: 'debug',
      QBL_EXCHANGE: `${base}.x`, QBL_QUEUE: `${base}.q`, SQLITE_PATH: join(f.dir, 'wrong.db'), QBL_HTTP_PORT: '0',
    };
    const child = startQbl(env);
    const timer = setTimeout(() => child.process.kill('SIGKILL'), 30_000);
    const code = await child.exit;
    clearTimeout(timer);
    expect(code).toBe(1);
    const output = child.stdout() + child.stderr();
    expect(child.stderr()).toMatch(/ACCESS.REFUSED/);
    expect(child.stderr()).toContain(`amqp://${USER}:***@127.0.0.1:5672`);
    expectNoSecret('qbl start output', output);

    const status = await qblStatus(env);
    expect(status.code).toBe(1);
    expect(status.output).toMatch(new RegExp(`^broker +amqp://${USER}:\\*\\*\\*@127\\.0\\.0\\.1:5672  NOT CONNECTED: .*ACCESS.REFUSED`));
    expectNoSecret('qbl status output', status.output);
  }, 60_000);
});
