/**
 * `npm run replay-dlq` as the Docker image runs it: no container engine runs here, so the
 * image's /app is rebuilt as a directory with what the runtime stage copies (package.json,
 * dist/, node_modules) minus the development tools it lacks (no node_modules/.bin, no
 * TypeScript). The command then replays a real dead letter on the real broker.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { declareTopology } from '../../consumers/amqp/topology';
import { DEAD_LETTER_HEADERS } from '../../consumers/amqp/headers';
import { RABBIT_URL, RabbitAdmin, testTopology } from '../support/rabbit';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

/** Like the runtime stage's /app: package.json, dist/ and the dependencies, without dev tools. */
function imageLikeApp(): string {
  const app = mkdtempSync(join(tmpdir(), 'qbl-image-'));
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'dist'), join(app, 'dist'));
  mkdirSync(join(app, 'node_modules'));
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (entry === '.bin' || entry === 'typescript' || entry.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', entry), join(app, 'node_modules', entry));
  }
  return app;
}

describe('npm run replay-dlq in the image', () => {
  let admin: RabbitAdmin;
  let app: string;

  beforeAll(async () => {
    admin = await RabbitAdmin.open();
    app = imageLikeApp();
  });
  afterAll(async () => {
    await admin.close();
    rmSync(app, { recursive: true, force: true });
  });

  test('tsc is not there, and the replay still runs: the dead letter goes back to its exchange', async () => {
    const topology = testTopology('quorum');
    admin.track(topology);
    await admin.withChannel((ch) => declareTopology(ch, topology));
    await admin.publish(topology.deadLetterExchange, 'opensips.qbl.invite.request', [Buffer.from('E_UNMAPPED\ncall_id::x')], {
      persistent: true,
      headers: {
        [DEAD_LETTER_HEADERS.reason]: 'decode.unknown_event', [DEAD_LETTER_HEADERS.detail]: 'event "E_UNMAPPED" is not configured',
        [DEAD_LETTER_HEADERS.stage]: 'decode', [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
        [DEAD_LETTER_HEADERS.originalExchange]: topology.exchange, [DEAD_LETTER_HEADERS.originalRoutingKey]: 'opensips.qbl.invite.request',
      },
    });
    await admin.waitForDepth(topology.deadLetterQueue, 1);

    // What the image's PATH offers: system directories only, no node_modules/.bin anywhere.
    const env = {
      PATH: (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')).join(':'),
      HOME: app, AMQP_URL: RABBIT_URL, QBL_EXCHANGE: topology.exchange, QBL_QUEUE: topology.queue,
      QBL_DEAD_LETTER_EXCHANGE: topology.deadLetterExchange, QBL_DEAD_LETTER_QUEUE: topology.deadLetterQueue, LOG_LEVEL: 'silent',
    };
    await expect(run('sh', ['-c', 'command -v tsc || ls node_modules/.bin'], { cwd: app, env })).rejects.toBeDefined();

    const { stdout } = await run('npm', ['run', '--silent', 'replay-dlq'], { cwd: app, env, timeout: 60_000 });
    expect(stdout).toMatch(/replayed 1\b/);
    expect(await admin.depth(topology.deadLetterQueue)).toBe(0);
    await admin.waitForDepth(topology.queue, 1);
  });
});
