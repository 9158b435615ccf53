/**
 * `qbl status` in search mode on the real OpenSearch node and the real RabbitMQ: everything is
 * on the engine, so the store line counts what the engine holds (CDRs, raw events, call
 * documents, open calls), the queue line is the broker's passive answer (depth, consumers: a
 * quorum queue with single-active-consumer counts the active one only, not its standby), and
 * nothing is read from a local SQLite file.
 */
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { silentLogger, waitUntil } from '../support/rabbit';
import { EXPECTED_SAMPLE_CDRS, readSamples } from '../support/samples';
import { integrationFixture } from '../support/fixture';
import { qblWithEnv as runCli } from '../support/run-cli';
import { NODE_URL, describeOnNode, nodeFixture } from './node';
import { serviceEnv } from './service-harness';

describeOnNode('qbl status with the search store', () => {
  const f = integrationFixture('os-status');
  const node = nodeFixture(f);

  test('counts CDRs, events, call documents and open calls on the engine; the queue shows its depth and the active consumer', async () => {
    // Default call timeouts: the answered call without its BYE stays open.
    const env = serviceEnv(f.dir, node.prefix, { QBL_SETUP_TIMEOUT_S: '300', QBL_MAX_CALL_DURATION_S: '14400', QBL_BYE_GRACE_S: '5' });
    const config = loadConfig(env);
    f.admin.track(config.topology);
    const active = await Service.start({ config, logger: silentLogger() });
    const standby = await Service.start({ config, logger: silentLogger() });
    try {
      const open = readSamples().filter((m) => !m.body.includes('E_QBL_BYE_'));
      for (const message of open) await f.admin.publish(config.topology.exchange, message.routingKey, [message.body]);
      const processed = () => active.pipeline.stats.messages + standby.pipeline.stats.messages;
      await waitUntil(() => processed() === open.length, 'the samples to be processed');
      await node.raw.indices.refresh({ index: `${node.prefix}-*` });

      const run = await runCli(['status'], env);
      expect(run.err).toBe('');
      expect(run.code).toBe(0);
      const lines = run.out.trimEnd().split('\n');
      expect(lines[1]).toBe(`queue         ${config.topology.queue}  ready 0  consumers 1`);
      expect(lines[3]).toBe(`store         opensearch ${NODE_URL} prefix ${node.prefix}  open calls 1  CDRs 2  events ${open.length}  call documents 3`);
      const newest = EXPECTED_SAMPLE_CDRS.find((c) => c.disposition === 'no_answer')!;
      expect(lines[4]).toBe(`newest CDR    started ${newest.invite_at}  ended ${newest.end_at}  no_answer`);
      // Search mode keeps no local file, and status does not make one.
      expect(existsSync(env.SQLITE_PATH!)).toBe(false);

      const json = await runCli(['status', '--json'], env);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out)).toMatchObject({
        broker: { connected: true, queue: { name: config.topology.queue, ready: 0, consumers: 1 } },
        store: { engine: 'opensearch', openCalls: 1, cdrs: 2, events: open.length, callDocuments: 3, newestCdr: { callId: newest.call_id } },
      });
    } finally {
      await standby.close();
      await active.close();
    }
  });

  test('an engine that accepts connections and never answers is given the probe\'s timeout, not the client\'s 30 s', async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => held.add(socket)); // holds every connection open, answers nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    f.defer(() => new Promise<void>((resolve) => {
      for (const socket of held) socket.destroy();
      silent.close(() => resolve());
    }));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const run = await runCli(['status', '--timeout-ms', '500'], { OPENSEARCH_URL: url, QBL_INDEX_PREFIX: node.prefix, QBL_HTTP_PORT: '0' });
    expect(run.code).toBe(1);
    const store = run.out.split('\n').filter((line) => line.startsWith('store'));
    expect(store).toEqual([expect.stringMatching(new RegExp(`^store +opensearch ${url}/? prefix ${node.prefix}: count at .*Timeout`))]);
  }, 20_000);

  test('an engine that does not answer: one line, exit code 1, no password', async () => {
    const env = { OPENSEARCH_URL: 'http://someone:pw-never-shown@127.0.0.1:1', QBL_INDEX_PREFIX: node.prefix, QBL_HTTP_PORT: '0', SQLITE_PATH: join(f.dir, 'none.db') };
    const run = await runCli(['status', '--timeout-ms', '2000'], env);
    expect(run.code).toBe(1);
    expect(run.out + run.err).not.toContain('pw-never-shown');
    const store = run.out.split('\n').filter((line) => line.startsWith('store'));
    expect(store).toHaveLength(1);
    expect(store[0]).toMatch(/^store +opensearch http:\/\/someone:\*\*\*@127\.0\.0\.1:1\/? prefix qblos-\w+: count at .*(ECONNREFUSED|ConnectionError)/);
  });
});
