/**
 * `qbl migrate-queue`, partitions (docs/scaling.md, "Change P"): the partition queues `<queue>.p<i>`
 * left by another QBL_PARTITIONS are moved back, message by message with confirms, to the intake
 * queue — where the routers of the new P route them again — and each emptied one is deleted.
 * Killed at any point it loses nothing (a message is in one queue or both); run it again.
 */
import type { ChannelModel } from 'amqplib';
import { type MigrateProgress, deleteIfDrained, move } from './migrate';
import type { TopologyConfig } from './options';
import { partitionQueue } from './partitions';
import { checkQueue } from './probe';

/** The most partitions QBL_PARTITIONS allows: past it no partition queue of ours can exist. */
const MAX_PARTITIONS = 256;

/** Moves back and deletes the partitions unless they are exactly the P configured: how many partitions went, how many messages moved. */
export async function migratePartitions(model: ChannelModel, t: TopologyConfig, partitions: number, progress: MigrateProgress): Promise<{ removed: number; moved: number }> {
  const existing: number[] = [];
  for (let i = 0; i < MAX_PARTITIONS; i++) if (await checkQueue(model, partitionQueue(t.queue, i)) !== undefined) existing.push(i);
  const same = partitions > 1 && existing.length === partitions && existing.every((i) => i < partitions);
  if (same || existing.length === 0) return { removed: 0, moved: 0 };
  for (const i of existing) {
    const status = await checkQueue(model, partitionQueue(t.queue, i));
    if (status !== undefined && status.consumers > 0) {
      throw new Error(`queue "${partitionQueue(t.queue, i)}" has ${status.consumers} consumer(s): stop every qbl start on "${t.queue}" first`);
    }
  }
  let moved = 0;
  for (const i of existing) {
    moved += await move(model, partitionQueue(t.queue, i), t.queue, progress);
    await deleteIfDrained(model, partitionQueue(t.queue, i));
  }
  return { removed: existing.length, moved };
}
