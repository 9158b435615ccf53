/**
 * Changing QBL_PARTITIONS on the real RabbitMQ (docs/scaling.md, "Change P"): the intake queue of
 * P = 1 (single active consumer) refuses the routers' declaration with one line naming `qbl
 * migrate-queue`; the command gives it the new arguments and moves every message of the partitions
 * of the old P back to it, deleting them, with headers kept.
 */
import { ConfigError } from '../../src/errors';
import { migrateQueue, migratingQueueName } from '../../consumers/amqp/migrate';
import { migratePartitions } from '../../consumers/amqp/migrate-partitions';
import { declarePartitions, partitionExchange, partitionQueue } from '../../consumers/amqp/partitions';
import { declareTopology } from '../../consumers/amqp/topology';
import { checkQueue } from '../../consumers/amqp/probe';
import { testTopology } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';

const NO_PROGRESS = { moving: () => undefined, moved: () => undefined };

describe('qbl migrate-queue and QBL_PARTITIONS', () => {
  const f = integrationFixture('migrate-partitions');

  function topology(consumers: 'single-active' | 'competing') {
    const t = { ...testTopology('quorum'), consumers };
    f.admin.track(t);
    f.admin.track({ queue: migratingQueueName(t.queue), exchange: partitionExchange(t.queue) });
    for (let i = 0; i < 8; i++) f.admin.track({ queue: partitionQueue(t.queue, i) });
    return t;
  }

  async function fillPartitions(queue: string, partitions: number, each: number): Promise<string[]> {
    const sent: string[] = [];
    for (let i = 0; i < partitions; i++) {
      const bodies = Array.from({ length: each }, (_, k) => Buffer.from(`p${i} event ${k}`));
      await f.admin.publish(partitionExchange(queue), String(i), bodies, { headers: { 'x-test': 'kept' } });
      await f.admin.waitForDepth(partitionQueue(queue, i), each);
      sent.push(...bodies.map(String));
    }
    return sent;
  }

  test('P = 1 → 4: the single-active queue is refused with the command to run, then migrated', async () => {
    const one = topology('single-active');
    const four = { ...one, consumers: 'competing' as const };
    await f.admin.withChannel((channel) => declareTopology(channel, one));
    await f.admin.publish(one.exchange, 'opensips.qbl', [Buffer.from('in flight')]);
    const refused = await f.admin.withChannel((channel) => declareTopology(channel, four)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^QBL_QUEUE: expected queue ".*" without x-single-active-consumer \(QBL_PARTITIONS above 1: every instance's router consumes it\), .*`qbl migrate-queue`/);
    expect(await migrateQueue(f.admin.model, four, NO_PROGRESS)).toEqual({ alreadyMigrated: false, moved: 2 });
    await declarePartitions(f.admin.model, four, 4);
    expect(await f.admin.depth(four.queue)).toBe(1);
    // Partitions as configured: nothing to do.
    expect(await migratePartitions(f.admin.model, four, 4, NO_PROGRESS)).toEqual({ removed: 0, moved: 0 });
  });

  test('P = 8 → 4: every message of the eight partitions back in the queue, the partitions gone, then P = 4 declares', async () => {
    const t = topology('competing');
    await f.admin.withChannel((channel) => declareTopology(channel, t));
    await declarePartitions(f.admin.model, t, 8);
    const sent = await fillPartitions(t.queue, 8, 25);
    await expect(declarePartitions(f.admin.model, t, 4)).rejects.toThrow(/QBL_PARTITIONS: expected the partition count .*p4" exists.*qbl migrate-queue/);

    expect(await migrateQueue(f.admin.model, t, NO_PROGRESS)).toEqual({ alreadyMigrated: true, moved: 0 });
    expect(await migratePartitions(f.admin.model, t, 4, NO_PROGRESS)).toEqual({ removed: 8, moved: sent.length });
    for (let i = 0; i < 8; i++) expect(await checkQueue(f.admin.model, partitionQueue(t.queue, i))).toBeUndefined();
    const back = await f.admin.drain(t.queue);
    expect(back.map((m) => m.content.toString()).sort()).toEqual([...sent].sort());
    expect(back.every((m) => m.properties.headers?.['x-test'] === 'kept')).toBe(true);
    await declarePartitions(f.admin.model, t, 4);
  });

  test('P = 4 → 1: the partitions go back and the queue gets its single active consumer', async () => {
    const four = topology('competing');
    const one = { ...four, consumers: 'single-active' as const };
    await f.admin.withChannel((channel) => declareTopology(channel, four));
    await declarePartitions(f.admin.model, four, 4);
    const sent = await fillPartitions(four.queue, 4, 10);
    await migrateQueue(f.admin.model, one, NO_PROGRESS);
    expect(await migratePartitions(f.admin.model, one, 1, NO_PROGRESS)).toEqual({ removed: 4, moved: sent.length });
    await f.admin.withChannel((channel) => declareTopology(channel, one));
    expect(await f.admin.depth(one.queue)).toBe(sent.length);
  });
});
