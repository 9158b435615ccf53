/**
 * QBL_PARTITIONS > 1 (docs/scaling.md, "Scale out: partitions"): the names of what the broker
 * holds for partitions, the stable hash that places a call in one, and their declarations.
 *
 *   OpenSIPS ─► QBL_EXCHANGE ─► QBL_QUEUE ─► routers ─► <queue>.partitions (direct, key "<i>")
 *                                                          └─► <queue>.p<i>  (quorum, single active consumer)
 *   <queue>.p<i>.owner   exclusive queue: held by the one connection that consumes <queue>.p<i>
 *   <queue>.members      fanout exchange of the instances' heartbeats
 */
import type { Channel, ChannelModel } from 'amqplib';
import { ConfigError } from '../../src/errors';
import type { TopologyConfig } from './options';
import { PARTITIONS_EXCHANGE_SUFFIX } from './headers';
import { mainQueueArguments } from './topology';

export const partitionExchange = (queue: string): string => `${queue}${PARTITIONS_EXCHANGE_SUFFIX}`;
export const partitionQueue = (queue: string, partition: number): string => `${queue}.p${partition}`;
export const ownerQueue = (queue: string, partition: number): string => `${queue}.p${partition}.owner`;
export const membersExchange = (queue: string): string => `${queue}.members`;

/**
 * FNV-1a, 32 bits, over the call id's UTF-8 bytes. Ours, fixed forever: a call's partition must
 * not change across restarts and versions while P is unchanged (never a per-process hash).
 */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function partitionOf(callId: string, partitions: number): number {
  return stableHash(callId) % partitions;
}

/**
 * Which partitions each live member owns: rendezvous hashing with balancing. Partition i prefers
 * members in the order of `stableHash("<member>/<i>")`, highest first; every member takes at most
 * ⌈P/n⌉ and, in a first pass, at most ⌊P/n⌋, so the counts differ by at most one. A member
 * joining or leaving moves about P/n partitions, not all of them; the same members give the same
 * answer on every instance.
 */
export function assignPartitions(members: readonly string[], partitions: number): Map<string, number[]> {
  const sorted = [...new Set(members)].sort();
  const owned = new Map<string, number[]>(sorted.map((m) => [m, []]));
  if (sorted.length === 0) return owned;
  const floor = Math.floor(partitions / sorted.length);
  const preferences = Array.from({ length: partitions }, (_, i) => [...sorted].sort((a, b) => {
    const d = stableHash(`${b}/${i}`) - stableHash(`${a}/${i}`);
    return d !== 0 ? d : a < b ? -1 : 1;
  }));
  const left: number[] = [];
  for (let i = 0; i < partitions; i++) {
    const member = preferences[i]!.find((m) => owned.get(m)!.length < floor);
    if (member === undefined) left.push(i);
    else owned.get(member)!.push(i);
  }
  for (const i of left) {
    const member = preferences[i]!.find((m) => owned.get(m)!.length <= floor)!;
    owned.get(member)!.push(i);
  }
  for (const list of owned.values()) list.sort((a, b) => a - b);
  return owned;
}

/** A partition queue: as the main queue (type, delivery limit, dead-lettering), always with a single active consumer. */
function partitionQueueArguments(t: TopologyConfig): Record<string, unknown> {
  return { ...mainQueueArguments({ ...t, consumers: 'single-active' }) };
}

function mismatch(queue: string, partitions: number, why: string): ConfigError {
  return new ConfigError('QBL_PARTITIONS',
    `the partition count the broker's partitions of "${queue}" were made with (${why}); do not split calls: `
    + 'stop every instance, run `qbl migrate-queue` with the new QBL_PARTITIONS, then start them (docs/scaling.md)', String(partitions));
}

/**
 * The exchange, the P partition queues and their bindings. Refuses (ConfigError) when the broker
 * holds partitions made with another P: p<P> exists (P was larger), or p0 without p<P-1> (P was
 * smaller).
 */
export async function declarePartitions(connection: ChannelModel, t: TopologyConfig, partitions: number): Promise<void> {
  const [first, last, past] = [0, partitions - 1, partitions].map((i) => partitionQueue(t.queue, i));
  const [hasFirst, hasLast, hasPast] = [await exists(connection, first!), await exists(connection, last!), await exists(connection, past!)];
  if (hasPast) throw mismatch(t.queue, partitions, `queue "${past}" exists`);
  if (hasFirst && !hasLast) throw mismatch(t.queue, partitions, `queue "${first}" exists but not "${last}"`);
  const channel = await connection.createChannel();
  await channel.assertExchange(partitionExchange(t.queue), 'direct', { durable: true });
  // The last one first: an instance starting meanwhile never sees p0 without p<P-1>.
  for (const i of [partitions - 1, ...Array.from({ length: partitions - 1 }, (_, k) => k)]) await declarePartitionQueue(channel, t, i);
  await channel.close();
}

export async function declarePartitionQueue(channel: Channel, t: TopologyConfig, partition: number): Promise<void> {
  const queue = partitionQueue(t.queue, partition);
  await channel.assertQueue(queue, { durable: true, arguments: partitionQueueArguments(t) });
  await channel.bindQueue(queue, partitionExchange(t.queue), String(partition));
}

/** A passive declare on a throwaway channel (a 404 closes it). */
async function exists(connection: ChannelModel, queue: string): Promise<boolean> {
  const probe = await connection.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(queue);
    await probe.close();
    return true;
  } catch {
    return false;
  }
}
