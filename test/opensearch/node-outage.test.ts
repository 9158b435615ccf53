/**
 * The real OpenSearch node stopped mid-stream: its java process is frozen with SIGSTOP (it keeps
 * its sockets, so requests hang exactly as with a node that stopped answering) while the service
 * consumes, then resumed with SIGCONT. Intake must pause with the deliveries unacked in RabbitMQ,
 * and after the node returns every CDR and event must be there exactly once.
 * Skipped, with a message, when no node answers or its pid (test/opensearch/data/node.pid) is not ours.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { loadConfig } from '../../src/config/config';
import { Service } from '../../src/pipeline/service';
import { openCdrReader } from '../../src/stores/open';
import { OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { SearchStore } from '../../src/stores/search/search-store';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { capturingLogger } from '../unit/search-fixtures';
import { waitUntil } from '../support/rabbit';
import { cleanUp, describeOnNode, NODE_UP, rawClient, uniquePrefix } from './node';
import { accOnlyCallIds, allDocs, publishInOrder, publishedEvents, serviceEnv, simulatedTraffic, waitForDrain } from './service-harness';
import { integrationFixture } from '../support/fixture';

const PID_FILE = join(__dirname, 'data', 'node.pid');

/** The node's java pid from `make opensearch-up`, only if that process still is our test node. */
function nodePid(): number | undefined {
  try {
    const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qbl.opensearch.TestNode') ? pid : undefined;
  } catch {
    return undefined;
  }
}

const PID = NODE_UP ? nodePid() : undefined;

/**
 * The engine client's request timeout in this test (the default is 30 s): short enough that the
 * writer's six tries (about 12 s with backoff) give up while the node is stopped, so the consumer's
 * own retry of the whole batch is exercised too.
 */
const REQUEST_TIMEOUT_MS = 1500;
/** The node stays stopped at least this long, and until the service has shown the outage. */
const MIN_STOP_MS = 10_000;
const PREFETCH = 200;

function resume(): void {
  if (PID !== undefined) process.kill(PID, 'SIGCONT');
}

function describeWithNodePid(name: string, body: () => void): void {
  if (NODE_UP && PID === undefined) {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED "${name}": a node answers but ${PID_FILE} does not name its process (start it with \`make opensearch-up\`)`);
    describe.skip(name, body);
    return;
  }
  describeOnNode(name, body);
}

describeWithNodePid('the OpenSearch node stopped mid-stream', () => {
  const f = integrationFixture('os-outage');
  let raw: Client;
  let prefix: string;

  beforeAll(() => {
    raw = rawClient();
    prefix = uniquePrefix();
    f.defer(async () => {
      resume(); // whatever happened above, the node runs on for the next test file
      await cleanUp(raw, prefix);
      await raw.close();
    });
  });

  it('intake pauses with the deliveries unacked, and after the node returns every CDR and event is there exactly once', async () => {
    const traffic = simulatedTraffic(300, 4242);
    const config = loadConfig(serviceEnv(f.dir, prefix, { QBL_PREFETCH: String(PREFETCH), QBL_BATCH_SIZE: '100' }));
    f.admin.track(config.topology);
    const events = publishedEvents(traffic.messages, config.decoder);
    const { logger, lines } = capturingLogger();
    const engine = OpenSearchEngine.fromConfig(config.search!, { requestTimeout: REQUEST_TIMEOUT_MS });
    const store = await SearchStore.open(config.search!, logger, engine);
    const service = await Service.start({ config, logger, store });
    let stopped = false;
    try {
      const half = Math.floor(traffic.messages.length / 2);
      await publishInOrder(f.admin, config.topology.exchange, traffic.messages.slice(0, half));
      await waitUntil(() => service.pipeline.stats.messages >= half && service.consumer.stats.unacked === 0, 'the first half to be committed', 30_000);
      expect(store.writer.stats.accepted).toBeGreaterThan(0);

      process.kill(PID!, 'SIGSTOP');
      stopped = true;
      const stoppedAtMs = Date.now();
      const committedAtStop = service.pipeline.stats.messages;
      await publishInOrder(f.admin, config.topology.exchange, traffic.messages.slice(half));
      await waitUntil(() => service.consumer.stats.retries > 0 && Date.now() - stoppedAtMs >= MIN_STOP_MS,
        'the consumer to retry a batch the store could not take', 45_000);

      // Paused: no batch got through, the prefetched deliveries are held unacked, the rest wait in the queue.
      expect(service.pipeline.stats.messages).toBe(committedAtStop);
      expect(service.consumer.stats.unacked).toBeGreaterThan(0);
      expect(service.consumer.stats.unacked).toBeLessThanOrEqual(PREFETCH);
      expect(await f.admin.depth(config.topology.queue)).toBeGreaterThan(0);
      expect(service.consumer.stats.connected).toBe(true);
      expect(service.consumer.stats.lastError).toMatch(/(search engine did not accept \d+ documents after 6 attempts: bulk|search engine not reachable: mget) at http:\/\/127\.0\.0\.1:\d+ failed: (TimeoutError|ConnectionError)/);
      expect(lines.some((line) => line.msg === 'store unavailable; intake paused, retrying the same batch with backoff')).toBe(true);

      resume();
      stopped = false;
      await waitForDrain(f.admin, service, traffic.messages.length, 60_000);
      expect(lines.some((line) => line.msg === 'store available again; intake resumed')).toBe(true);
      // The outage is met by the first request of a commit: the call documents' mget, or a bulk.
      expect(service.consumer.stats.retries).toBeGreaterThan(0);
      expect(await f.admin.depth(config.topology.deadLetterQueue)).toBe(0);
      expect(service.consumer.stats.deadLettered).toEqual({});

      // Exactly once: one document per CDR and per distinct event, across every monthly index.
      const cdrDocs = await allDocs(raw, `${prefix}-cdrs-*`);
      const cdrIds = cdrDocs.map((hit) => hit._id);
      expect(new Set(cdrIds).size).toBe(cdrIds.length);
      expect(cdrIds.length).toBe(traffic.expected.length + accOnlyCallIds(traffic).size);
      const eventIds = (await allDocs(raw, `${prefix}-events-*`)).map((hit) => hit._id).sort();
      expect(eventIds).toEqual([...events.keys()].sort());

      const reader = await openCdrReader(config);
      try {
        const byCallId = new Map((await reader.searchCdrs({ limit: 10_000 })).map((stored) => [stored.cdr.call_id, stored.cdr]));
        for (const cdr of traffic.expected) expect(byCallId.get(cdr.call_id)).toEqual(cdr);
      } finally {
        await reader.close();
      }
    } finally {
      if (stopped) resume();
      await service.close();
    }
  }, 110_000);
});
