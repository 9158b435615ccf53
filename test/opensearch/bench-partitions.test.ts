/**
 * The bench's scale-out figures (bench/partitions.ts) at a small N against the real broker and
 * the real OpenSearch node (not a timing test): 1 and 2 `qbl start` instances at P = 8 settle
 * balanced, drain the stream into exactly the expected CDRs (the bench throws otherwise), the
 * router alone routes every event to the partitions with its CPU counted, and no queue, exchange
 * or index of the bench is left behind.
 */
import { benchTraffic } from '../../bench/traffic';
import { balanced, measureRouterCpu, measureScaleOut, measurePartitions } from '../../bench/partitions';
import { openConnection } from '../../bench/broker';
import { findBrokerPid } from '../../bench/cpu';
import { checkQueue } from '../../consumers/amqp/probe';
import { partitionQueue } from '../../consumers/amqp/partitions';
import { benchOnNode, describeOnNode, NODE_URL, rawClient } from './node';

const EVENTS = 1500;
const INTAKE = { prefetch: 200, batchSize: 100, batchWaitMs: 5, queueType: 'quorum' as const };

async function expectNoQueues(queue: string): Promise<void> {
  const model = await openConnection('qbl-test-bench-partitions');
  try {
    for (const name of [queue, ...Array.from({ length: 8 }, (_, p) => partitionQueue(queue, p))]) expect([name, await checkQueue(model, name)]).toEqual([name, undefined]);
  } finally {
    await model.close();
  }
}

async function expectNoIndices(): Promise<void> {
  const left = await rawClient().cat.indices({ index: 'qbl-bench-partitions-*,qbl-bench-router-*', format: 'json' }).catch(() => ({ body: [] }));
  expect(left.body).toEqual([]);
}

describeOnNode('bench: scale-out with QBL_PARTITIONS = 8 (OpenSearch)', () => {
  benchOnNode();

  test('balanced means every partition owned once, ⌊P/N⌋ or ⌈P/N⌉ each', () => {
    expect(balanced([new Set([0, 1, 2, 3]), new Set([4, 5, 6, 7])], 8)).toBe(true);
    expect(balanced([new Set([0, 1, 2]), new Set([3, 4, 5]), new Set([6, 7])], 8)).toBe(true);
    expect(balanced([new Set([0, 1, 2, 3, 4]), new Set([5, 6, 7])], 8)).toBe(false);
    expect(balanced([new Set([0, 1, 2, 3]), new Set([3, 4, 5, 6])], 8)).toBe(false);
    expect(balanced([new Set([0, 1, 2, 3, 4, 5, 6])], 8)).toBe(false);
  });

  test.each([1, 2])('%i instance(s): every CDR exact, a rate, nothing left behind', async (instances) => {
    const traffic = benchTraffic(EVENTS, 7, Date.now() * 1000);
    const result = await measureScaleOut(instances, traffic.messages, traffic.expected, INTAKE);
    expect(result.matchingCdrs).toBe(traffic.expected.length);
    expect(result.events).toBe(traffic.messages.length);
    expect(result.perS).toBeGreaterThan(0);
    expect(result.perS).toBeCloseTo(result.events / (result.elapsedMs / 1000), 6);
    await expectNoQueues(result.queue);
    await expectNoIndices();
  }, 120_000);

  test('the router alone routes every event to the partitions, its CPU and the broker\'s counted', async () => {
    const traffic = benchTraffic(EVENTS, 7, Date.now() * 1000);
    const result = await measureRouterCpu(traffic.messages, INTAKE);
    expect(result.events).toBe(traffic.messages.length);
    expect(result.routerCpuUs).toBeGreaterThan(0);
    // When RabbitMQ runs on this machine its share is read from /proc; else it is null.
    if (findBrokerPid() === null) expect(result.brokerCpuUs).toBeNull();
    else expect(result.brokerCpuUs).toBeGreaterThan(0);
    await expectNoQueues(result.queue);
  }, 60_000);

  test('without an engine URL every figure is null, with the reason', async () => {
    delete process.env.OPENSEARCH_URL;
    try {
      const figures = await measurePartitions([], [], INTAKE, () => undefined);
      expect(figures).toEqual({
        partitions_instances_1_per_s: null, partitions_instances_2_per_s: null, partitions_instances_3_per_s: null,
        partitions_router_cpu_us: null, partitions_router_broker_cpu_us: null, partitions_skipped: 'OPENSEARCH_URL / ELASTICSEARCH_URL not set',
      });
    } finally {
      process.env.OPENSEARCH_URL = NODE_URL;
    }
  });
});
