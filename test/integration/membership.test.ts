/**
 * Partition membership on the real RabbitMQ: instances hear each other's heartbeats, and one that
 * shuts down says so, so the others count it out at once instead of a lease later (its partitions
 * are shared out without the wait). `qbl status`'s view of the members leaves it out too.
 */
import { listenToMembers, Membership } from '../../consumers/amqp/membership';
import { membersExchange } from '../../consumers/amqp/partitions';
import { integrationFixture } from '../support/fixture';
import { silentLogger, testAmqpConfig, uniqueName, waitUntil } from '../support/rabbit';

const HEARTBEAT_MS = 200;
/** Long next to the heartbeat: a member counted out well before it was by the leaving heartbeat. */
const LEASE_MS = 10_000;

describe('membership', () => {
  const f = integrationFixture('membership');

  function member(queue: string, id: string, views: string[][]): Membership {
    return new Membership({
      amqp: testAmqpConfig(), queue, id, partitions: 4, logger: silentLogger(), connectionName: uniqueName(`member-${id}`),
      heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS,
      live: (members) => views.push([...members]), lost: () => undefined, refused: () => undefined, owned: () => [],
    });
  }

  test('a member that shuts down is counted out at once, not after its lease; status no longer lists it', async () => {
    const queue = uniqueName('members');
    f.admin.track({ exchange: membersExchange(queue) });
    const aViews: string[][] = [];
    const bViews: string[][] = [];
    const a = member(queue, 'a', aViews);
    const b = member(queue, 'b', bViews);
    try {
      await a.start();
      await b.start();
      await waitUntil(() => JSON.stringify(bViews.at(-1)) === '["a","b"]' && JSON.stringify(aViews.at(-1)) === '["a","b"]', 'both members seen by both');

      const closedAt = Date.now();
      await a.close();
      await waitUntil(() => JSON.stringify(bViews.at(-1)) === '["b"]', 'b alone');
      expect(Date.now() - closedAt).toBeLessThan(LEASE_MS / 2);
      expect(b.members()).toEqual(['b']);
      // A heartbeat of a's run that arrives late (an earlier sequence number) does not bring it back.
      await f.admin.publish(membersExchange(queue), '', [Buffer.from(JSON.stringify({ id: 'a', seq: 1, partitions: 4, startedAtMs: Date.now() - 60_000 }))]);
      await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS));
      expect(bViews.at(-1)).toEqual(['b']);

      const heard = await listenToMembers(f.admin.model, queue, 3 * HEARTBEAT_MS);
      expect(heard.map((beat) => beat.id)).toEqual(['b']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a member restarted under the same id after leaving is a member again', async () => {
    const queue = uniqueName('members');
    f.admin.track({ exchange: membersExchange(queue) });
    const bViews: string[][] = [];
    const b = member(queue, 'b', bViews);
    let a = member(queue, 'a', []);
    try {
      await b.start();
      await a.start();
      await waitUntil(() => JSON.stringify(bViews.at(-1)) === '["a","b"]', 'both members');
      await a.close();
      await waitUntil(() => JSON.stringify(bViews.at(-1)) === '["b"]', 'a left');
      a = member(queue, 'a', []);
      await a.start();
      await waitUntil(() => JSON.stringify(bViews.at(-1)) === '["a","b"]', 'a back');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
