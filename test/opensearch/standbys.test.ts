/**
 * The default configuration on the search store, several instances: three `qbl start` processes
 * on one queue (single-active-consumer: one active, two hot standbys), against the real RabbitMQ
 * and the real OpenSearch node. The active one is killed with SIGKILL mid-stream, twice; each
 * time a standby takes over from the shared state, and one more instance starts with an empty
 * disk. At the end every CDR equals the simulator's, once, and nothing is left open or queued.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { waitUntil } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';
import { describeOnNode, nodeFixture } from './node';
import { expectExactCdrs, publishInOrder, serviceEnv, simulatedTraffic, waitForNoOpenCall } from './service-harness';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

interface Instance {
  readonly name: string;
  readonly process: ChildProcess;
  consuming: boolean;
  /** Times it became the active consumer. */
  activations: number;
  output: string[];
}

function start(name: string, env: Record<string, string>): Instance {
  const child = spawn(process.execPath, [MAIN, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const instance: Instance = { name, process: child, consuming: false, activations: 0, output: [] };
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      if (text.includes('"msg":"consuming"')) instance.consuming = true;
      instance.activations += text.split('"msg":"active consumer').length - 1;
      instance.output.push(...text.split('\n').filter(Boolean));
      instance.output.splice(0, Math.max(0, instance.output.length - 60));
    });
  }
  return instance;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

describeOnNode('three instances on the search store with the default configuration', () => {
  const f = integrationFixture('os-standbys', { dirPerTest: true });
  const node = nodeFixture(f);

  it('one is active, the standbys take over after SIGKILL mid-stream, and every CDR is exact', async () => {
    const traffic = simulatedTraffic(1500, 4242, { inProgressRate: 0 });
    const base = serviceEnv(f.dir, node.prefix, { LOG_LEVEL: 'info', QBL_BATCH_SIZE: '50', QBL_PREFETCH: '200' });
    const config = loadConfig(base);
    expect(config.topology.consumers).toBe('single-active');
    f.admin.track(config.topology);
    // Each instance its own (empty) directory: the search store needs no local file.
    const envFor = (name: string) => {
      mkdirSync(join(f.dir, name), { recursive: true });
      return { ...base, SQLITE_PATH: join(f.dir, name, 'qbl.db') };
    };
    const instances = ['a', 'b', 'c'].map((name) => start(name, envFor(name)));
    try {
      await waitUntil(() => instances.every((i) => i.consuming), 'three instances consuming (one active, two standbys)', 30_000);
      const total = traffic.messages.length;
      await publishInOrder(f.admin, config.topology.exchange, traffic.messages);

      for (const [k, fraction] of [0.7, 0.4].entries()) {
        await waitUntil(async () => (await f.admin.depth(config.topology.queue)) <= total * fraction, `the queue down to ${fraction}`, 90_000);
        const active = instances.filter((i) => i.process.exitCode === null && i.process.signalCode === null && i.activations > 0);
        expect(active).toHaveLength(1);
        active[0]!.process.kill('SIGKILL');
        await exited(active[0]!.process);
        // A new instance with an empty disk joins as a standby.
        instances.push(start(`late${k}`, envFor(`late${k}`)));
      }

      await waitUntil(async () => (await f.admin.depth(config.topology.queue)) === 0, 'the queue to drain', 120_000);
      await expectExactCdrs(node.raw, node.prefix, traffic);
      // Each kill handed the queue to exactly one standby.
      expect(instances.reduce((sum, i) => sum + i.activations, 0)).toBe(3);
      await waitForNoOpenCall(node.raw, node.prefix);
      expect(await f.admin.depth(config.topology.deadLetterQueue)).toBe(0);
    } catch (error) {
      for (const i of instances) process.stderr.write(`--- ${i.name}\n${i.output.slice(-15).join('\n')}\n`);
      throw error;
    } finally {
      for (const i of instances) if (i.process.exitCode === null && i.process.signalCode === null) i.process.kill('SIGTERM');
      await Promise.all(instances.map((i) => exited(i.process)));
    }
  }, 400_000);
});
