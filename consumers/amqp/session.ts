/**
 * The consumer's connections and their lifecycle. One generation — a `Link` — is a consuming
 * connection plus a publishing connection with the confirming publisher on it. Any failure of
 * either connection, of the publisher's channel or of a channel opened with `link.channel()`
 * retires the whole link (closing a connection returns its unacked deliveries to the queue), and
 * the session opens the next one with backoff. What runs on each new link before it counts as up
 * (declaring the topology, opening consume channels) is the owner's `setUp`.
 */
import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelayMs, sleep } from '../../src/backoff';
import { ConfigError, QueueTakenError } from '../../src/errors';
import { redact } from '../../src/redact';
import { connectAmqp } from './connection';
import type { AmqpConfig } from './options';
import { ConfirmPublisher } from './publisher';

type LinkState = 'opening' | 'live' | 'dead';

export interface SessionEvents {
  /** A link is live (the first one, and every reconnection). */
  up(link: Link, reconnected: boolean): void;
  /** A live link was lost; the error is redacted. Its unacked deliveries will be redelivered. */
  lost(link: Link, error: Error): void;
  /** A connection attempt failed (redacted); the session tries again with backoff. */
  failed(error: Error): void;
  /** The broker blocked (or unblocked) one of our connections (resource alarm). */
  blocked(blocked: boolean): void;
}

export interface SessionOptions {
  readonly amqp: AmqpConfig;
  readonly logger: Logger;
  /** The consuming connection's name; the publishing one is `<name>-dead-letters`. */
  readonly connectionName: string;
  readonly reconnect: BackoffPolicy;
  readonly random: () => number;
  /** Runs on every new link before it is live; a rejection fails that attempt. Re-check `link.check()` after each await. */
  readonly setUp: (link: Link) => Promise<void>;
  /** The owner is closing: no new link opens, a backoff wait ends, a set-up stops at its next check. */
  readonly signal: AbortSignal;
  readonly events: SessionEvents;
}

/** One generation of connections. Its state changes behind awaits: ask `dead`, never cache it. */
export interface Link {
  readonly id: number;
  /** The consuming connection. */
  readonly connection: ChannelModel;
  /** The confirming publisher (dead letters), on a connection of its own. */
  readonly publisher: ConfirmPublisher;
  readonly dead: boolean;
  readonly live: boolean;
  /** A channel on the consuming connection whose failure retires the link. */
  channel(purpose: string): Promise<Channel>;
  /** Retires the link (idempotent): its connections close and its unacked deliveries go back to the queue. */
  lose(error: unknown): void;
  /** Throws when the set-up of this link must stop: the session is closing, or the link was lost meanwhile. */
  check(): void;
}

class Generation implements Link {
  private state: LinkState = 'opening';
  private publisherConnection?: ChannelModel;
  private confirmingPublisher?: ConfirmPublisher;

  constructor(
    readonly id: number,
    readonly connection: ChannelModel,
    private readonly session: Session,
  ) {}

  get dead(): boolean {
    return this.state === 'dead';
  }

  get live(): boolean {
    return this.state === 'live';
  }

  get publisher(): ConfirmPublisher {
    if (!this.confirmingPublisher) throw new Error('link has no publisher yet');
    return this.confirmingPublisher;
  }

  async channel(purpose: string): Promise<Channel> {
    const channel = await this.connection.createChannel();
    channel.on('error', (error: Error) => this.session.logger.warn({ err: this.session.redact(error) }, `${purpose} channel error`));
    channel.on('close', () => this.lose(new Error(`${purpose} channel closed`)));
    return channel;
  }

  lose(error: unknown): void {
    this.session.lose(this, error);
  }

  check(): void {
    if (this.session.closing) throw new Error('session closed');
    if (this.dead) throw new Error('connection lost while setting up');
  }

  async openPublisher(options: SessionOptions): Promise<void> {
    // Under a resource alarm the broker blocks connections that publish; a blocked consuming
    // connection could not ack either, so publishing has its own.
    this.publisherConnection = await connectAmqp(options.amqp, options.logger, { connectionName: `${options.connectionName}-dead-letters` });
    this.session.watch(this, this.publisherConnection, 'dead-letter connection closed');
    this.check();
    this.confirmingPublisher = await ConfirmPublisher.on(this.publisherConnection, {
      amqp: options.amqp,
      onClosed: (error) => this.lose(error ?? new Error('dead-letter channel closed')),
    });
  }

  markLive(): void {
    this.state = 'live';
  }

  /** Marks the link dead and drops its connections; returns whether it was live. */
  retire(): boolean {
    const wasLive = this.state === 'live';
    this.state = 'dead';
    this.connection.close().catch(() => undefined);
    this.publisherConnection?.close().catch(() => undefined);
    return wasLive;
  }

  /** Orderly close: the publisher (outstanding confirms first), then both connections. */
  async close(): Promise<void> {
    this.state = 'dead';
    await this.confirmingPublisher?.close();
    await this.connection.close().catch(() => undefined);
    await this.publisherConnection?.close().catch(() => undefined);
  }
}

export class Session {
  private current?: Generation;
  private links = 0;
  private startTask?: Promise<void>;
  private reconnectTask?: Promise<void>;
  readonly logger: Logger;

  constructor(private readonly options: SessionOptions) {
    this.logger = options.logger;
  }

  /** The live link, if any. */
  get link(): Link | undefined {
    return this.current;
  }

  get closing(): boolean {
    return this.options.signal.aborted;
  }

  /**
   * Opens the first link. Rejects if this attempt fails (unreachable broker, bad credentials, a
   * ConfigError from `setUp`); every later loss is recovered by reconnecting.
   */
  start(): Promise<void> {
    this.startTask ??= this.open(false);
    return this.startTask;
  }

  /**
   * Once the signal is aborted: resolves when no link is being opened any more. The live link
   * stays open, so the owner can finish (and ack) what it holds; `close()` then closes it.
   */
  async settled(): Promise<void> {
    await this.startTask?.catch(() => undefined);
    await this.reconnectTask;
  }

  /** Once the signal is aborted: settled(), then the live link closes. Idempotent. */
  async close(): Promise<void> {
    await this.settled();
    const link = this.current;
    this.current = undefined;
    await link?.close();
  }

  /** Redacted copy of any error: no URL or password of the broker in a log line or a stat. */
  redact(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    const redacted = new Error(redact(message, { urls: [this.options.amqp.url] }));
    redacted.name = error instanceof Error ? error.name : 'Error';
    return redacted;
  }

  /** Any failure of a link's connections or channels ends up here. */
  lose(link: Generation, error: unknown): void {
    if (link.dead) return;
    if (!link.retire()) return; // still opening: its set-up fails at the next check()
    if (this.current === link) this.current = undefined;
    if (this.closing) return;
    const redacted = this.redact(error);
    this.logger.warn({ err: redacted }, 'AMQP connection lost; unacked deliveries will be redelivered, reconnecting');
    this.options.events.lost(link, redacted);
    this.reconnectTask ??= this.reconnectLoop()
      .catch((loopError: unknown) => this.logger.error({ err: this.redact(loopError) }, 'reconnect loop failed'))
      .finally(() => {
        this.reconnectTask = undefined;
      });
  }

  watch(link: Generation, connection: ChannelModel, closed: string): void {
    connection.on('close', (error?: Error) => link.lose(error ?? new Error(closed)));
    connection.on('blocked', (reason: string) => {
      this.logger.warn({ reason }, 'broker blocked a connection (resource alarm)');
      this.options.events.blocked(true);
    });
    connection.on('unblocked', () => {
      this.logger.info('broker unblocked the connection');
      this.options.events.blocked(false);
    });
  }

  private async open(reconnected: boolean): Promise<void> {
    const { options } = this;
    const connection = await connectAmqp(options.amqp, this.logger, { connectionName: options.connectionName });
    const link = new Generation(++this.links, connection, this);
    this.watch(link, connection, 'connection closed');
    try {
      link.check();
      await link.openPublisher(options);
      link.check();
      // Last: the owner's set-up ends by consuming, and deliveries must find the link complete.
      await options.setUp(link);
      link.check();
    } catch (error) {
      link.retire();
      if (this.closing) return;
      throw error instanceof ConfigError || error instanceof QueueTakenError ? error : this.redact(error);
    }
    link.markLive();
    this.current = link;
    options.events.up(link, reconnected);
  }

  private async reconnectLoop(): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      await sleep(backoffDelayMs(attempt, this.options.reconnect, this.options.random()), this.options.signal);
      if (this.closing) return;
      try {
        await this.open(true);
        if (this.closing) return;
        this.logger.info({ attempts: attempt }, 'AMQP reconnected');
        return;
      } catch (error) {
        const redacted = error instanceof ConfigError || error instanceof QueueTakenError ? error : this.redact(error);
        this.options.events.failed(redacted);
        // One warning when reconnecting starts failing, then quiet retries; a topology conflict stays loud.
        if (error instanceof ConfigError) this.logger.error({ err: redacted }, 'topology conflict; retrying with backoff');
        else if (error instanceof QueueTakenError) this.logger.warn({ attempt }, 'queue still held by a consumer (our lost connection\'s, until the broker drops it); retrying');
        else if (attempt === 1) this.logger.warn({ err: redacted }, 'AMQP reconnect failed; retrying with backoff');
        else this.logger.debug({ err: redacted, attempt }, 'AMQP reconnect failed');
      }
    }
  }
}
