/**
 * QBL_PARTITIONS = 8 on the search store, chaos (docs/scaling.md, "Scale out: partitions"): `qbl
 * start` processes against the real RabbitMQ and the real OpenSearch node, fed simulated traffic
 * with disorder and duplicates in slices. Three instances start (one of them reaches the broker
 * through a TCP proxy); then, one step per slice: one is killed with SIGKILL; a fourth starts;
 * the proxied one is cut off silently mid-stream (the proxy stops forwarding, both ways) until the
 * others own all its partitions, then let back in; one is stopped with SIGTERM; one is killed and
 * restarts with its disk wiped. After each step the partitions settle, balanced, within 30 s.
 *
 * At the end: every CDR equals the simulator's, once; no call open in the shared state; no
 * message left in any queue; and never two owners of a partition at once, from the instances'
 * own ownership logs — with the broker's lock as the source of truth: an owner cut off from the
 * broker only learns late that the broker dropped its connection (and its lock), so its own
 * release may come after another's acquire, but only after it was cut off.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { membersExchange, partitionExchange, partitionQueue } from '../../consumers/amqp/partitions';
import { RABBIT_URL, waitUntil } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';
import { TcpProxy } from '../support/tcp-proxy';
import { freePort, httpGet, metricValue } from '../support/http';
import { describeOnNode, nodeFixture } from './node';
import { expectExactCdrs, publishInOrder, serviceEnv, simulatedTraffic, waitForNoOpenCall } from './service-harness';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const P = 8;
const SETTLE_MS = 30_000;

interface Ownership {
  readonly instance: string;
  readonly partition: number;
  readonly from: number;
  to?: number;
  reason?: string;
}

interface Instance {
  readonly name: string;
  /** Its instance id, as its logs give it. */
  id?: string;
  readonly process: ChildProcess;
  readonly owned: Set<number>;
  killedAtMs?: number;
  output: string[];
}

function alive(i: Instance): boolean {
  return i.process.exitCode === null && i.process.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** `qbl status --json`'s output (its exit code also says whether a local SQLite file answered: none here, the search store needs none). */
function statusJson(env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'status', '--json'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => { out += text; });
    child.on('error', reject).on('exit', () => resolve(out));
  });
}

describeOnNode('QBL_PARTITIONS=8: instances join, die, are cut off and come back, and every CDR stays exact', () => {
  const f = integrationFixture('os-partitions', { dirPerTest: true });
  const node = nodeFixture(f);

  it('settles within 30 s after each change, never has two owners of a partition, and ends exact and empty', async () => {
    const traffic = simulatedTraffic(3000, 8080, { inProgressRate: 0 });
    const base = serviceEnv(f.dir, node.prefix, {
      LOG_LEVEL: 'info', QBL_BATCH_SIZE: '100', QBL_PREFETCH: '400', QBL_PARTITIONS: String(P), AMQP_HEARTBEAT_S: '2',
    });
    const config = loadConfig(base);
    const queue = config.topology.queue;
    f.admin.track(config.topology);
    f.admin.track({ exchange: partitionExchange(queue) });
    f.admin.track({ exchange: membersExchange(queue) });
    for (let i = 0; i < P; i++) f.admin.track({ queue: partitionQueue(queue, i) });
    const proxy = await TcpProxy.start();
    const ownerships: Ownership[] = [];
    const instances: Instance[] = [];

    const start = (name: string, overrides: Record<string, string> = {}): Instance => {
      const dir = join(f.dir, name);
      mkdirSync(dir, { recursive: true });
      const env = { ...process.env, ...base, SQLITE_PATH: join(dir, 'qbl.db'), ...overrides };
      const child = spawn(process.execPath, [MAIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const instance: Instance = { name, process: child, owned: new Set(), output: [] };
      let partial = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (text: string) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          instance.output.push(line);
          if (!line.includes('"msg":"partition ')) continue;
          const entry = JSON.parse(line) as { msg: string; partition: number; owner: string; atMs: number; reason?: string };
          instance.id = entry.owner;
          if (entry.msg === 'partition acquired') {
            instance.owned.add(entry.partition);
            ownerships.push({ instance: name, partition: entry.partition, from: entry.atMs });
          } else if (entry.msg === 'partition released') {
            instance.owned.delete(entry.partition);
            const open = ownerships.find((o) => o.instance === name && o.partition === entry.partition && o.to === undefined);
            if (open) Object.assign(open, { to: entry.atMs, reason: entry.reason });
          }
        }
        instance.output.splice(0, Math.max(0, instance.output.length - 80));
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => instance.output.push(text));
      instances.push(instance);
      return instance;
    };
    const kill = async (instance: Instance, signal: NodeJS.Signals): Promise<void> => {
      instance.killedAtMs = Date.now();
      instance.process.kill(signal);
      await exited(instance.process);
      if (signal === 'SIGKILL') {
        // It logs nothing more: its locks went with its connections, at once.
        for (const o of ownerships) if (o.instance === instance.name && o.to === undefined) Object.assign(o, { to: instance.killedAtMs, reason: 'killed' });
        instance.owned.clear();
      }
    };
    /** Every partition owned by exactly one of the `expected` live instances, balanced. */
    const settled = async (expected: readonly Instance[], what: string): Promise<void> => {
      await waitUntil(() => {
        const counts = expected.map((i) => i.owned.size);
        const owners = new Map<number, number>();
        for (const i of instances.filter(alive)) for (const p of i.owned) owners.set(p, (owners.get(p) ?? 0) + 1);
        return counts.reduce((a, b) => a + b, 0) === P && Math.max(...counts) - Math.min(...counts) <= 1
          && [...owners.values()].every((n) => n === 1) && instances.filter(alive).every((i) => expected.includes(i) || i.owned.size === 0);
      }, `${what}: the ${P} partitions settled over ${expected.map((i) => i.name).join(', ')}`, SETTLE_MS);
    };

    const slices = 6;
    const per = Math.ceil(traffic.messages.length / slices);
    const slice = (k: number) => publishInOrder(f.admin, config.topology.exchange, traffic.messages.slice(k * per, (k + 1) * per));
    let stallAtMs = 0;
    let resumeAtMs = 0;
    try {
      expect(traffic.messages.length).toBeGreaterThanOrEqual(20_000);
      const a = start('a');
      const b = start('b');
      const xPort = await freePort();
      const x = start('x', { AMQP_URL: RABBIT_URL.replace(/:\d+(\/|$)/, `:${proxy.port}$1`), QBL_HTTP_PORT: String(xPort), QBL_HTTP_HOST: '127.0.0.1' });
      await settled([a, b, x], 'start');

      await slice(0);
      await kill(a, 'SIGKILL');
      await settled([b, x], 'after SIGKILL');

      await slice(1);
      const d = start('d');
      await settled([b, x, d], 'a fourth joins');

      // Mid-stream: half the slice published (its batches in flight on every instance), x is cut off, then the other half.
      const third = traffic.messages.slice(2 * per, 3 * per);
      await publishInOrder(f.admin, config.topology.exchange, third.slice(0, third.length / 2));
      stallAtMs = Date.now();
      proxy.stall();
      await publishInOrder(f.admin, config.topology.exchange, third.slice(third.length / 2));
      await waitUntil(() => [b, d].reduce((n, i) => n + i.owned.size, 0) === P, 'the others to own every partition of the cut-off instance', SETTLE_MS);
      resumeAtMs = Date.now();
      proxy.resume();
      await settled([b, x, d], 'the cut-off instance back');

      await slice(3);
      await kill(b, 'SIGTERM');
      await settled([x, d], 'after SIGTERM');

      await slice(4);
      await kill(d, 'SIGKILL');
      rmSync(join(f.dir, 'd'), { recursive: true, force: true });
      const d2 = start('d2');
      await settled([x, d2], 'restarted with its disk wiped');

      await slice(5);
      await waitUntil(async () => {
        for (const q of [queue, ...Array.from({ length: P }, (_, i) => partitionQueue(queue, i))]) if ((await f.admin.depth(q)) !== 0) return false;
        return true;
      }, 'every queue to drain', 90_000);
      // Before the CDRs: a message the broker dead-lettered (a partition's delivery limit, counted at
      // every requeue of a handover) would otherwise show only as an incomplete CDR.
      expect(await f.admin.depth(config.topology.deadLetterQueue)).toBe(0);
      await expectExactCdrs(node.raw, node.prefix, traffic);
      await waitForNoOpenCall(node.raw, node.prefix);
      expect(await f.admin.depth(queue)).toBe(0);
      for (let i = 0; i < P; i++) expect(await f.admin.depth(partitionQueue(queue, i))).toBe(0);

      // qbl status: each partition's depth, and its owner from the heartbeats.
      // Not spawnSync: the proxy x reaches the broker through lives in this process, and must keep forwarding.
      const status = JSON.parse(await statusJson({ ...process.env, ...base })) as {
        broker: { partitions: Array<{ partition: number; ready: number; owner?: string }> };
      };
      const owners = instances.filter(alive).map((i) => `${i.name}=${i.id}:${[...i.owned].join(',')}`).join(' ');
      if (status.broker.partitions.some((p) => p.owner === undefined)) process.stderr.write(`status ${JSON.stringify(status.broker)}; instances ${owners}\n`);
      expect(status.broker.partitions).toHaveLength(P);
      for (const p of status.broker.partitions) {
        expect(p.ready).toBe(0);
        expect(p.owner).toBe(instances.find((i) => alive(i) && i.owned.has(p.partition))?.id);
      }

      // x's /metrics: the partitions it owns, and what its router routed.
      const metrics = (await httpGet(xPort, '/metrics')).body;
      const owned = Array.from({ length: P }, (_, i) => metricValue(metrics, `qbl_partition_owned{partition="${i}"}`) ?? -1);
      expect(owned.filter((v) => v === 1).length).toBe(x.owned.size);
      expect(owned.every((v) => v === 0 || v === 1)).toBe(true);
      expect(Array.from({ length: P }, (_, i) => metricValue(metrics, `qbl_router_routed_total{partition="${i}"}`) ?? 0).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(metricValue(metrics, 'qbl_router_confirm_batches_total')).toBeGreaterThan(0);

      // Never two owners: two instances' ownerships of a partition overlap only when the earlier
      // one is the cut-off instance's, begun before the cut and taken over by another after it.
      const now = Date.now();
      for (let p = 0; p < P; p++) {
        const spans = ownerships.filter((o) => o.partition === p).sort((u, v) => u.from - v.from);
        for (let k = 1; k < spans.length; k++) {
          for (const earlier of spans.slice(0, k)) {
            const later = spans[k]!;
            if ((earlier.to ?? now) <= later.from) continue;
            const excused = earlier.instance === 'x' && earlier.from < stallAtMs && later.from >= stallAtMs && later.from <= resumeAtMs;
            if (!excused) throw new Error(`partition ${p}: ${earlier.instance} [${earlier.from}, ${earlier.to}] and ${later.instance} [${later.from}, ${later.to}] overlap`);
          }
        }
      }
      // The ownerships the test expects happened: takeovers after the kill, the cut, the stop and the restart.
      expect(ownerships.some((o) => o.instance === 'x' && o.from > resumeAtMs)).toBe(true);
      expect(ownerships.some((o) => o.instance === 'd2')).toBe(true);
    } catch (error) {
      for (const i of instances) process.stderr.write(`--- ${i.name}\n${i.output.slice(-25).join('\n')}\n`);
      throw error;
    } finally {
      proxy.resume();
      for (const i of instances) if (alive(i)) i.process.kill('SIGTERM');
      await Promise.all(instances.map((i) => exited(i.process)));
      await proxy.close();
    }
  }, 240_000);
});
