/**
 * A RabbitMQ node of the tests' own, for tests that stop and start a broker: never the user's.
 *
 * The node gets a unique name (`qbl-test-<hex>@localhost`), free ports for AMQP and Erlang
 * distribution, and a temporary directory holding its data, logs, config file (one listener on
 * 127.0.0.1, none of the system's rabbitmq.conf), an empty plugins file, an empty env file (the
 * system's rabbitmq-env.conf names the main node) and an Erlang cookie of its own. Every
 * rabbitmqctl call here names the node (`-n`) and runs with that cookie, so it cannot
 * authenticate to the user's broker even by mistake.
 *
 * stop() halts the node and removes the directory. A watchdog process does the same if the
 * process that started the node dies first (a killed jest), then exits.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { freePort } from './http';
import { waitUntil } from './rabbit';

const run = promisify(execFile);

/** What another process (a jest test file) needs to drive the node the global set-up started. */
export interface BrokerNodeHandle {
  /** `qbl-test-<hex>@localhost` */
  readonly nodeName: string;
  readonly amqpUrl: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** The node's own directory: data, logs, config, cookie. */
  readonly dir: string;
  /** Where rabbitmq-server and rabbitmqctl are. */
  readonly binDir: string;
}

/** Where a jest global set-up keeps the node for its teardown (the only state they share). */
export interface BrokerNodeGlobal {
  qblTestBrokerNode?: BrokerNode;
}

/** The environment variable that carries a started node's handle to the test files. */
export const BROKER_NODE_ENV = 'QBL_TEST_BROKER_NODE';

const START_TIMEOUT_MS = 180_000;

/**
 * The RabbitMQ scripts themselves: Debian's /usr/sbin ones are wrappers that switch to the
 * `rabbitmq` user (and its cookie), so the real ones in /usr/lib/rabbitmq/bin come first.
 */
export function rabbitmqBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [env.QBL_TEST_RABBITMQ_BIN, '/usr/lib/rabbitmq/bin', ...(env.PATH ?? '').split(delimiter)];
  const found = candidates.find((dir) => dir && existsSync(join(dir, 'rabbitmq-server')) && existsSync(join(dir, 'rabbitmqctl')));
  if (!found) throw new Error('rabbitmq-server was not found (set QBL_TEST_RABBITMQ_BIN to the directory that holds it)');
  return found;
}

/** The environment of every process of this node: server and CLI alike. */
function nodeEnv(handle: BrokerNodeHandle): NodeJS.ProcessEnv {
  const { dir } = handle;
  return {
    PATH: process.env.PATH,
    LANG: process.env.LANG ?? 'C.UTF-8',
    // The cookie lives in $HOME/.erlang.cookie: ours, not the user's.
    HOME: join(dir, 'home'),
    RABBITMQ_NODENAME: handle.nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(handle.amqpPort),
    RABBITMQ_DIST_PORT: String(handle.distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}

/** `rabbitmqctl -n <this node> …args`, with this node's cookie. */
export async function brokerCtl(handle: BrokerNodeHandle, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run(join(handle.binDir, 'rabbitmqctl'), ['-n', handle.nodeName, ...args], {
    env: nodeEnv(handle), cwd: handle.dir, timeout: timeoutMs,
  });
  return stdout;
}

/** Resolves once the node accepts AMQP connections; throws after `timeoutMs`. */
export function awaitAmqp(url: string, timeoutMs = 60_000): Promise<void> {
  return waitUntil(async () => {
    try {
      await (await connect(url)).close();
      return true;
    } catch {
      return false;
    }
  }, `the test broker to accept AMQP connections at ${url}`, timeoutMs);
}

/**
 * Watches `parentPid`; when it is gone and the node still runs, stops the node (and what is left
 * of the rabbitmq-server script's process group) and removes its directory.
 */
function startWatchdog(handle: BrokerNodeHandle, parentPid: number, serverPid: number | undefined): number | undefined {
  const pidFile = join(handle.dir, 'pid');
  const script = [
    `while kill -0 ${parentPid} 2>/dev/null; do sleep 1; done`,
    `pid=$(cat '${pidFile}' 2>/dev/null)`,
    'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then',
    '  kill -TERM "$pid"',
    '  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done',
    '  kill -KILL "$pid" 2>/dev/null',
    'fi',
    serverPid === undefined ? ':' : `kill -KILL -${serverPid} 2>/dev/null`,
    `rm -rf '${handle.dir}'`,
  ].join('\n');
  const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  return watchdog.pid;
}

export class BrokerNode {
  private stopped = false;
  private watchdogPid: number | undefined;

  /** `serverPid`: the rabbitmq-server script, leader of the node's process group. */
  private constructor(readonly handle: BrokerNodeHandle, private readonly serverPid: number | undefined) {}

  /** Starts a fresh node and waits until it accepts AMQP connections. */
  static async start(): Promise<BrokerNode> {
    const binDir = rabbitmqBinDir();
    const dir = mkdtempSync(join(tmpdir(), 'qbl-broker-'));
    const suffix = randomBytes(4).toString('hex');
    const [amqpPort, distPort] = [await freePort(), await freePort()];
    const handle: BrokerNodeHandle = {
      nodeName: `qbl-test-${suffix}@localhost`,
      amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      amqpPort, distPort, dir, binDir,
    };
    for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub));
    const cookie = join(dir, 'home', '.erlang.cookie');
    writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase());
    chmodSync(cookie, 0o400);
    writeFileSync(join(dir, 'rabbitmq.conf'), [
      `listeners.tcp.1 = 127.0.0.1:${amqpPort}`,
      'log.console = false',
      'log.file.level = info',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '# this node is configured by its environment only\n');
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');

    const out = openSync(join(dir, 'log', 'server.out'), 'a');
    const server = spawn(join(binDir, 'rabbitmq-server'), [], { env: nodeEnv(handle), cwd: dir, detached: true, stdio: ['ignore', out, out] });
    server.unref();
    closeSync(out);
    const node = new BrokerNode(handle, server.pid);
    node.watchdogPid = startWatchdog(handle, process.pid, server.pid);
    try {
      // `wait` returns once the node's OS process wrote its pid and the rabbit app runs.
      await brokerCtl(handle, ['wait', join(dir, 'pid'), '--timeout', String(START_TIMEOUT_MS / 1000)], START_TIMEOUT_MS + 10_000);
      await awaitAmqp(handle.amqpUrl);
      return node;
    } catch (error) {
      const log = node.serverOutput();
      await node.stop();
      throw new Error(`could not start the test broker node ${handle.nodeName}: ${(error as Error).message}\n${log}`);
    }
  }

  /** Rebuilds the handle a global set-up exported (see BROKER_NODE_ENV). */
  static handleFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerNodeHandle {
    const text = env[BROKER_NODE_ENV];
    if (!text) {
      throw new Error(`${BROKER_NODE_ENV} is not set: this test stops a broker and runs only on a node of its own `
        + '(npx jest -c test/serial/jest.config.js)');
    }
    return JSON.parse(text) as BrokerNodeHandle;
  }

  private serverOutput(): string {
    try {
      return readFileSync(join(this.handle.dir, 'log', 'server.out'), 'utf8').slice(-2000);
    } catch {
      return '';
    }
  }

  /** Halts the node (waiting for its OS process to exit), removes its directory and the watchdog. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const pidFile = join(this.handle.dir, 'pid');
    const osPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(osPid) && osPid > 0) {
      await brokerCtl(this.handle, ['stop', pidFile], 60_000).catch(() => undefined);
      if (isAlive(osPid)) process.kill(osPid, 'SIGKILL');
    }
    // Before the node wrote its pid (a start that failed early), its script's group is all there is.
    if (this.serverPid !== undefined && isAlive(this.serverPid)) process.kill(-this.serverPid, 'SIGKILL');
    if (this.watchdogPid !== undefined && isAlive(this.watchdogPid)) process.kill(this.watchdogPid, 'SIGTERM');
    rmSync(this.handle.dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
