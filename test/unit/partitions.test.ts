/** QBL_PARTITIONS: the stable hash (fixed forever) and the balanced, stable assignment of partitions to members. */
import { assignPartitions, partitionOf, stableHash } from '../../consumers/amqp/partitions';
import { lockRetryMs } from '../../src/pipeline/partitioned';

describe('stableHash', () => {
  it('is FNV-1a 32 over UTF-8: known values, the same in every process and version', () => {
    // Reference values of FNV-1a 32 (offset basis 0x811c9dc5, prime 0x01000193).
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
    expect(stableHash('foobar')).toBe(0xbf9cf968);
    // Pinned: a call's partition must never change while P does not.
    expect(partitionOf('7f3a9c1e-answered@10.1.2.3', 8)).toBe(stableHash('7f3a9c1e-answered@10.1.2.3') % 8);
    expect(stableHash('é')).toBe(stableHash(Buffer.from('é', 'utf8').toString('utf8')));
  });

  it('spreads call ids over the partitions', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`call-${i}@10.0.0.${i % 7}`, 8)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });
});

describe('assignPartitions', () => {
  const members = (n: number) => Array.from({ length: n }, (_, i) => `m${i}-${(i * 7919) % 1000}`);

  it.each([[1, 8], [2, 8], [3, 8], [4, 8], [5, 8], [8, 8], [9, 8], [3, 1], [3, 64]])('%i members, %i partitions: each once, balanced', (n, p) => {
    const owned = assignPartitions(members(n), p);
    const all = [...owned.values()].flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: p }, (_, i) => i));
    const counts = [...owned.values()].map((l) => l.length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('is the same whatever order the members are listed in', () => {
    const m = members(4);
    expect(assignPartitions([...m].reverse(), 8)).toEqual(assignPartitions(m, 8));
  });

  it('moves few partitions when a member joins or leaves', () => {
    const moved = (before: Map<string, number[]>, after: Map<string, number[]>) => {
      const owner = (map: Map<string, number[]>, i: number) => [...map].find(([, l]) => l.includes(i))?.[0];
      let n = 0;
      for (let i = 0; i < 64; i++) if (owner(before, i) !== owner(after, i)) n++;
      return n;
    };
    const three = assignPartitions(members(3), 64);
    const four = assignPartitions(members(4), 64);
    // A round robin would move about three quarters; rendezvous moves the newcomer's share and a few more.
    expect(moved(three, four)).toBeLessThanOrEqual(24);
    expect(moved(four, three)).toBeLessThanOrEqual(24);
  });
});

describe('lockRetryMs', () => {
  it('backs off from 0.5 s to every 2 s while a partition\'s lock stays taken', () => {
    expect([1, 2, 3, 4, 10, 1000].map(lockRetryMs)).toEqual([500, 1000, 2000, 2000, 2000, 2000]);
  });
});
