/**
 * The operations endpoint: GET /metrics (Prometheus text), /healthz (the process answers) and
 * /readyz (broker connected and store answering). JSON everywhere except /metrics.
 * Binds to 127.0.0.1 by default; docs/operations.md explains how to expose it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closerFor } from './closable-server';
import type { Logger } from './logger';

export interface Readiness {
  readonly status: 'ready' | 'not_ready';
  readonly broker: boolean;
  readonly store: boolean;
}

export interface OpsServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the service does not start the server at all when QBL_HTTP_PORT=0. */
  readonly port: number;
  readonly logger: Logger;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  brokerConnected(): boolean;
  pingStore(): Promise<void>;
  /** A store ping slower than this counts as not ready. */
  readonly storeTimeoutMs?: number;
}

const DEFAULT_STORE_TIMEOUT_MS = 2000;

/** The endpoint as a client on this host reaches it: a wildcard bind (0.0.0.0, ::) is asked on 127.0.0.1. */
export function localEndpointUrl(http: { readonly host: string; readonly port: number }, path: string): string {
  const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${http.port}${path}`;
}

/** Broker and store probes combined; a store ping that hangs counts as down after `timeoutMs`. */
export async function checkReadiness(brokerConnected: boolean, pingStore: () => Promise<void>, timeoutMs: number): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const store = await Promise.race([pingStore().then(() => true, () => false), timeout]);
  clearTimeout(timer);
  return { status: brokerConnected && store ? 'ready' : 'not_ready', broker: brokerConnected, store };
}

export class OpsServer {
  private readonly closer: () => Promise<void>;

  private constructor(private readonly server: Server, private readonly options: OpsServerOptions) {
    this.closer = closerFor(server);
  }

  static async start(options: OpsServerOptions): Promise<OpsServer> {
    const server = createServer();
    const ops = new OpsServer(server, options);
    server.on('request', (req, res) => {
      ops.handle(req, res).catch((error: unknown) => {
        options.logger.warn({ err: error, path: req.url }, 'ops endpoint request failed');
        if (!res.headersSent) sendJson(res, 500, { status: 'error' });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => options.logger.warn({ err: error }, 'ops endpoint error'));
    options.logger.info({ host: options.host, port: ops.port }, 'ops endpoint listening (/metrics, /healthz, /readyz)');
    return ops;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Idempotent; idle keep-alive sockets (Prometheus keeps one) are closed so the process can exit. */
  close(): Promise<void> {
    return this.closer();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendJson(res, 405, { status: 'error', error: 'method not allowed' });
      return;
    }
    switch (path) {
      case '/metrics': {
        const text = await this.options.metricsText();
        res.writeHead(200, { 'Content-Type': this.options.metricsContentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const readiness = await checkReadiness(this.options.brokerConnected(), this.options.pingStore,
          this.options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS);
        sendJson(res, readiness.status === 'ready' ? 200 : 503, readiness);
        return;
      }
      default:
        sendJson(res, 404, { status: 'error', error: 'not found', paths: ['/metrics', '/healthz', '/readyz'] });
    }
  }
}

function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(statusCode, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}
