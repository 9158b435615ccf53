/** Opens one AMQP connection. Errors and logs carry `urlForLogs`, never the password. */
import { readFileSync } from 'node:fs';
import { connect, type ChannelModel, type SocketOptions } from 'amqplib';
import type { Logger } from 'pino';
import { type AmqpConfig, DEFAULT_CONNECTION_NAME } from './options';
import { redact } from '../../src/redact';

export interface ConnectOptions {
  /** Shown by `rabbitmqctl list_connections client_properties` and the management UI. */
  readonly connectionName?: string;
  /** TCP + AMQP handshake timeout. */
  readonly connectTimeoutMs?: number;
}

/** The broker cannot be reached or refused us; the message is safe to log. */
export class AmqpConnectionError extends Error {
  readonly code: string;
  constructor(message: string, code: string | number | undefined) {
    super(message);
    this.name = 'AmqpConnectionError';
    this.code = code === undefined ? 'amqp.unavailable' : String(code);
  }
}

/** Wraps any error into an AmqpConnectionError whose message has no secret. */
export function redactError(error: unknown, config: Pick<AmqpConfig, 'url'>, context?: string): AmqpConnectionError {
  const raw = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string | number } | null)?.code;
  const prefix = context ? `${context}: ` : '';
  return new AmqpConnectionError(`${prefix}${redact(raw, { urls: [config.url] })}`, code);
}

function withHeartbeat(url: string, heartbeatS: number): string {
  const parsed = new URL(url);
  // An explicit heartbeat in the URL wins over AMQP_HEARTBEAT_S only if the operator put it there on purpose.
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatS));
  return parsed.toString();
}

function tlsOptions(config: AmqpConfig): Partial<SocketOptions> {
  const options: Partial<SocketOptions> = {};
  if (config.caFile) options.ca = [readFileSync(config.caFile)];
  if (config.certFile) options.cert = readFileSync(config.certFile);
  if (config.keyFile) options.key = readFileSync(config.keyFile);
  return options;
}

/**
 * Connects with heartbeats, TLS files and a connection name. The returned model already has an
 * `error` listener (an unhandled `error` event would crash the process); callers watch `close`.
 */
export async function connectAmqp(config: AmqpConfig, logger: Logger, options: ConnectOptions = {}): Promise<ChannelModel> {
  const connectionName = options.connectionName ?? DEFAULT_CONNECTION_NAME;
  let model: ChannelModel;
  try {
    const url = withHeartbeat(config.url, config.heartbeatS);
    const socketOptions: SocketOptions = {
      ...(url.startsWith('amqps:') ? tlsOptions(config) : {}),
      timeout: options.connectTimeoutMs ?? 10_000,
      clientProperties: { connection_name: connectionName },
    };
    model = await connect(url, socketOptions);
  } catch (error) {
    throw redactError(error, config, `AMQP connection to ${config.urlForLogs} failed`);
  }
  model.on('error', (error: Error) => {
    logger.warn({ err: redactError(error, config), broker: config.urlForLogs }, 'AMQP connection error');
  });
  logger.info({ broker: config.urlForLogs, connectionName }, 'AMQP connected');
  return model;
}
