/**
 * The built `qbl` as a user runs it: `--help` lists every command with its one-line summary and
 * exits 0, `--version` prints package.json's version, and `qbl healthcheck` (the Docker image's
 * HEALTHCHECK) follows QBL_HTTP_PORT to a real ops endpoint.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OpsServer } from '../../src/observability/http-server';
import { freePort } from '../support/http';
import { silentLogger } from '../support/rabbit';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const execFileAsync = promisify(execFile);

async function qbl(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const COMMAND_NAMES = [...readFileSync(join(ROOT, 'src', 'cli', 'main.ts'), 'utf8').matchAll(/^\s+(\w+): \(\) => import\('\.\/commands\/(\w+)'\)/gm)]
  .map((m) => m[1]!);

describe('qbl --help and --version', () => {
  test('the command table was read', () => {
    expect(COMMAND_NAMES).toEqual(expect.arrayContaining(['start', 'cdrs', 'events', 'status', 'simulate', 'dlq', 'bench', 'healthcheck', 'reconcile', 'evidence']));
  });

  test('--help lists every command with its summary, on one line each, and exits 0', async () => {
    const { code, stdout } = await qbl(['--help']);
    expect(code).toBe(0);
    for (const name of COMMAND_NAMES) {
      const { command } = require(join(ROOT, 'dist', 'src', 'cli', 'commands', `${name}.js`)) as { command: { name: string; summary: string } };
      expect(command.summary).not.toContain('\n');
      expect(stdout).toMatch(new RegExp(`^  ${name} +${command.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
  });

  test('without a command: the same list on stderr, exit 2', async () => {
    const { code, stdout, stderr } = await qbl([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('  healthcheck  ');
  });

  test('--version prints the name and package.json\'s version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const { code, stdout } = await qbl(['--version']);
    expect([code, stdout]).toEqual([0, `opensips-qbl ${version}\n`]);
  });
});

describe('qbl healthcheck', () => {
  let server: OpsServer;
  let brokerUp = true;

  beforeAll(async () => {
    server = await OpsServer.start({
      host: '127.0.0.1', port: 0, logger: silentLogger(),
      metricsText: async () => '', metricsContentType: 'text/plain',
      brokerConnected: () => brokerUp, pingStore: async () => undefined,
    });
  });
  afterAll(() => server.close());

  test('follows QBL_HTTP_PORT to /healthz: 0 while the endpoint answers', async () => {
    const { code, stdout } = await qbl(['healthcheck'], { QBL_HTTP_PORT: String(server.port) });
    expect(stdout).toBe(`http://127.0.0.1:${server.port}/healthz: HTTP 200 {"status":"ok"}\n`);
    expect(code).toBe(0);
  });

  test('a wildcard QBL_HTTP_HOST is asked on the loopback', async () => {
    const { code } = await qbl(['healthcheck'], { QBL_HTTP_PORT: String(server.port), QBL_HTTP_HOST: '0.0.0.0' });
    expect(code).toBe(0);
  });

  test('--ready asks /readyz: 1 while the broker is down', async () => {
    brokerUp = false;
    const down = await qbl(['healthcheck', '--ready'], { QBL_HTTP_PORT: String(server.port) });
    expect(down.code).toBe(1);
    expect(down.stdout).toContain('HTTP 503');
    brokerUp = true;
    expect((await qbl(['healthcheck', '--ready'], { QBL_HTTP_PORT: String(server.port) })).code).toBe(0);
  });

  test('1 when nothing answers on the configured port; 0 with the endpoint disabled', async () => {
    const port = await freePort();
    const refused = await qbl(['healthcheck'], { QBL_HTTP_PORT: String(port) });
    expect(refused).toMatchObject({ code: 1, stdout: `http://127.0.0.1:${port}/healthz: ECONNREFUSED\n` });
    const disabled = await qbl(['healthcheck'], { QBL_HTTP_PORT: '0' });
    expect(disabled.code).toBe(0);
  });

  test('a bad QBL_HTTP_PORT is a configuration error (78), not a silent pass', async () => {
    const { code, stderr } = await qbl(['healthcheck'], { QBL_HTTP_PORT: 'http' });
    expect(code).toBe(78);
    expect(stderr).toContain('QBL_HTTP_PORT');
  });
});
