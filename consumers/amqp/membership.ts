/**
 * Who is live, for QBL_PARTITIONS > 1 (docs/scaling.md): every instance publishes a heartbeat
 * (its id, a sequence number, its P, when it started) every `heartbeatMs` to the fanout exchange
 * `<queue>.members`, and hears everyone's — its own included — on an exclusive auto-delete queue
 * of its own. A member is live while heard within `leaseMs`. An instance that stops hearing
 * itself is cut off: it drops the link (and, through `lost`, every partition) and joins again.
 *
 * `live` is told the sorted live ids whenever they change, once the instance has listened for one
 * and a half heartbeats after (re)joining: before that it would not know every member yet.
 * `close()` sends a last heartbeat marked `leaving` (after the partitions are given up): the others
 * count it out at once instead of after its lease.
 */
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { ConfigError } from '../../src/errors';
import type { AmqpConfig } from './options';
import { membersExchange } from './partitions';
import { type Link, Session } from './session';

export interface Heartbeat {
  readonly id: string;
  readonly seq: number;
  readonly partitions: number;
  readonly startedAtMs: number;
  /** The partitions it owns as it sends the heartbeat (`qbl status`). */
  readonly owned?: readonly number[];
  /** Its last word, sent as it shuts down: the others share its partitions now, not a lease later. */
  readonly leaving?: boolean;
}

export interface MembershipOptions {
  readonly amqp: AmqpConfig;
  readonly queue: string;
  readonly id: string;
  readonly partitions: number;
  readonly logger: Logger;
  readonly connectionName: string;
  readonly heartbeatMs?: number;
  readonly leaseMs?: number;
  /** The sorted live members (this one included) changed. */
  readonly live: (members: readonly string[]) => void;
  /** The membership link is gone (or this instance stopped hearing itself): own nothing until `live` again. */
  readonly lost: () => void;
  /** An older member runs with another P: this instance must not run (one line, exit 78). */
  readonly refused: (error: ConfigError) => void;
  /** The partitions this instance owns now, told in every heartbeat. */
  readonly owned?: () => readonly number[];
}

export const HEARTBEAT_MS = 2000;
export const LEASE_MS = 7000;
/** Rejoining soon after a cut matters more than sparing the broker a few attempts. */
const REJOIN = Object.freeze({ initialMs: 200, maxMs: 2000 });
/** How long a shutdown waits for the broker to confirm the leaving heartbeat; without it, the lease runs out as before. */
const LEAVING_CONFIRM_MS = 1000;

export class Membership {
  private readonly heard = new Map<string, { atMs: number; seq: number }>();
  private readonly warned = new Set<string>();
  private readonly abort = new AbortController();
  private readonly session: Session;
  private readonly startedAtMs = Date.now();
  private seq = 0;
  private timer?: NodeJS.Timeout;
  private checker?: NodeJS.Timeout;
  private joinedAtMs?: number;
  private told?: string;
  /** close() began: a link that comes up meanwhile starts no heartbeats. */
  private closing = false;
  /** The link heartbeats go out on while joined: the leaving heartbeat goes out on it too. */
  private link?: Link;
  private readonly heartbeatMs: number;
  private readonly leaseMs: number;

  constructor(private readonly options: MembershipOptions) {
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.session = new Session({
      amqp: options.amqp, logger: options.logger.child({ component: 'membership' }), connectionName: options.connectionName,
      reconnect: REJOIN, random: Math.random, signal: this.abort.signal,
      setUp: (link) => this.listen(link),
      events: {
        up: (link) => this.joined(link),
        lost: () => this.left(),
        failed: () => undefined,
        blocked: () => undefined,
      },
    });
  }

  /** Every live member's id as of now (sorted). */
  members(): string[] {
    const now = Date.now();
    return [...this.heard].filter(([, h]) => now - h.atMs < this.leaseMs).map(([id]) => id).sort();
  }

  start(): Promise<void> {
    return this.session.start();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    clearInterval(this.checker);
    await this.sayLeaving();
    this.abort.abort();
    await this.session.close();
  }

  /** Best effort: a broker that does not confirm in time leaves the others to the lease. */
  private async sayLeaving(): Promise<void> {
    const link = this.link;
    if (link === undefined || !link.live) return;
    const sent = link.publisher.publish(membersExchange(this.options.queue), '', Buffer.from(JSON.stringify(this.heartbeat(true))));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, LEAVING_CONFIRM_MS);
    });
    await Promise.race([sent.then(() => undefined, () => undefined), timeout]);
    clearTimeout(timer);
  }

  private heartbeat(leaving = false): Heartbeat {
    return {
      id: this.options.id, seq: this.seq++, partitions: this.options.partitions, startedAtMs: this.startedAtMs,
      owned: leaving ? [] : this.options.owned?.() ?? [], ...(leaving ? { leaving: true } : {}),
    };
  }

  private async listen(link: Link): Promise<void> {
    const channel = await link.channel('membership');
    const exchange = membersExchange(this.options.queue);
    await channel.assertExchange(exchange, 'fanout', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, exchange, '');
    link.check();
    await channel.consume(queue, (message) => this.hear(message), { noAck: true });
  }

  private hear(message: ConsumeMessage | null): void {
    if (message === null) return;
    let beat: Heartbeat;
    try {
      beat = JSON.parse(message.content.toString('utf8')) as Heartbeat;
    } catch {
      return;
    }
    if (typeof beat.id !== 'string' || typeof beat.seq !== 'number') return;
    // Another P's last word: it was never counted, and leaving it is no reason to refuse to run.
    if (beat.leaving === true && beat.partitions !== this.options.partitions) return;
    if (beat.partitions !== this.options.partitions) {
      const older = beat.startedAtMs < this.startedAtMs || (beat.startedAtMs === this.startedAtMs && beat.id < this.options.id);
      const error = new ConfigError('QBL_PARTITIONS', `the same count as every instance on queue "${this.options.queue}" `
        + `(instance ${beat.id} runs with ${beat.partitions}); change P only as docs/scaling.md says`, String(this.options.partitions));
      if (older) this.options.refused(error);
      else if (!this.warned.has(beat.id)) {
        this.warned.add(beat.id);
        this.options.logger.error({ member: beat.id, partitions: beat.partitions }, 'an instance with another QBL_PARTITIONS joined; it is ignored (and refuses to run)');
      }
      return;
    }
    const last = this.heard.get(beat.id);
    // A restarted member starts its sequence again: only an older beat of the same run is ignored.
    if (last && beat.seq <= last.seq && beat.seq !== 0) return;
    // Leaving: heard at no time, so it is not live, and its sequence kept, so a late beat of that run stays ignored.
    this.heard.set(beat.id, { atMs: beat.leaving === true ? Number.NEGATIVE_INFINITY : Date.now(), seq: beat.seq });
  }

  private joined(link: Link): void {
    if (this.closing) return;
    this.joinedAtMs = Date.now();
    this.link = link;
    this.heard.clear();
    this.told = undefined;
    clearInterval(this.timer);
    clearInterval(this.checker);
    const beat = (): void => {
      if (!link.live) return;
      link.publisher.publish(membersExchange(this.options.queue), '', Buffer.from(JSON.stringify(this.heartbeat()))).catch(() => undefined);
    };
    beat();
    this.timer = setInterval(beat, this.heartbeatMs);
    this.checker = setInterval(() => this.check(link), Math.min(500, this.heartbeatMs));
  }

  /**
   * After one and a half heartbeats listening (every live member heard once): tell the live members
   * when they changed. A member that has not heard itself for a lease is cut off.
   */
  private check(link: Link): void {
    const now = Date.now();
    if (!link.live || this.joinedAtMs === undefined || now - this.joinedAtMs < this.heartbeatMs * 1.5) return;
    const live = this.members();
    if (!live.includes(this.options.id)) {
      if (now - this.joinedAtMs < this.leaseMs) return;
      this.options.logger.warn('this instance no longer hears its own heartbeat: cut off from the broker, letting every partition go');
      link.lose(new Error('own heartbeat not heard within the lease'));
      return;
    }
    const key = live.join('\n');
    if (key === this.told) return;
    this.told = key;
    this.options.live(live);
  }

  private left(): void {
    this.link = undefined;
    clearInterval(this.timer);
    clearInterval(this.checker);
    this.joinedAtMs = undefined;
    this.told = undefined;
    this.heard.clear();
    this.options.lost();
  }
}

/**
 * The members' latest heartbeats, heard for `listenMs` on a queue of our own (`qbl status`); none
 * when the members exchange does not exist (no instance with QBL_PARTITIONS > 1 ever ran).
 */
export async function listenToMembers(model: ChannelModel, queue: string, listenMs = HEARTBEAT_MS * 2 + 500): Promise<Heartbeat[]> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  const latest = new Map<string, Heartbeat>();
  try {
    await channel.checkExchange(membersExchange(queue));
  } catch {
    return []; // a 404 closed the channel
  }
  try {
    const { queue: own } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(own, membersExchange(queue), '');
    await channel.consume(own, (message) => {
      if (message === null) return;
      try {
        const beat = JSON.parse(message.content.toString('utf8')) as Heartbeat;
        if (typeof beat.id === 'string') latest.set(beat.id, beat);
      } catch {
        // not a heartbeat
      }
    }, { noAck: true });
    await new Promise((resolve) => setTimeout(resolve, listenMs));
    // A member whose last word was that it is leaving is no longer one.
    return [...latest.values()].filter((beat) => beat.leaving !== true).sort((a, b) => (a.id < b.id ? -1 : 1));
  } finally {
    await channel.close().catch(() => undefined);
  }
}
