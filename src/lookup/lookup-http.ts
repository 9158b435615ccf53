/**
 * The lookup listener: `GET /v1/numbers/{number}` answered from memory, counted and timed.
 * Every answer is JSON, errors included; a malformed HTTP message gets a JSON 400 (431 for
 * oversized headers) and its connection closed. Runs in the lookup worker thread.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { closerFor } from '../observability/closable-server';
import { LookupState } from './lookup-state';
import type { LatencySnapshot, WorkerStats } from './protocol';
import { parseRequest } from './request';

/** Seconds: a lookup answered from memory takes tens of microseconds; the top buckets show stalls. */
export const LATENCY_BOUNDS_S: readonly number[] = Object.freeze([0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]);

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } as const;
/** OpenSIPS workers keep their connection open between lookups (rest_client reuses it). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A client that sends its request this slowly is not OpenSIPS. */
const REQUEST_TIMEOUT_MS = 5_000;
const MAX_CONNECTIONS = 4096;

class Counters {
  readonly lookups = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  private readonly buckets = new Float64Array(LATENCY_BOUNDS_S.length + 1);
  private sumS = 0;
  private count = 0;

  add(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_S.length && seconds > LATENCY_BOUNDS_S[i]!) i += 1;
    this.buckets[i]! += 1;
    this.sumS += seconds;
    this.count += 1;
  }

  latency(): LatencySnapshot {
    return { boundsS: LATENCY_BOUNDS_S, counts: [...this.buckets], sumS: this.sumS, count: this.count };
  }
}

/** What the listener answers from: the figures (replaced when a failed rebuild starts again), and whether they are complete. */
export interface LookupSource {
  state(): LookupState;
  ready(): boolean;
}

/** Until the figures are rebuilt from the store: OpenSIPS sees a non-200 and fails open. */
const STARTING = JSON.stringify({ status: 'starting', error: 'the figures are being rebuilt from the store; try again shortly' });

/** Before the listener is up: the figures, and no request yet. */
export function notListeningStats(state: LookupState): WorkerStats {
  return { state: state.stats(), lookups: {}, rejected: {}, latency: new Counters().latency() };
}

/** With its Content-Length: no chunked encoding for a body known whole (less to parse for OpenSIPS's curl). */
function send(res: ServerResponse, status: number, body: string, head: boolean): void {
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

export class LookupHttp {
  private readonly counters = new Counters();
  private readonly closer: () => Promise<void>;

  private constructor(
    private readonly server: Server,
    private readonly source: LookupSource,
    private readonly now: () => number,
  ) {
    this.closer = closerFor(server);
    server.on('request', (req, res) => this.handle(req, res));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || error.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      this.counters.add(this.counters.rejected, String(status));
      const body = JSON.stringify({ status: 'error', error: status === 431 ? 'request headers too large' : 'malformed HTTP request' });
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n`
        + `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  }

  static async listen(source: LookupSource | LookupState, host: string, port: number, now: () => number = Date.now): Promise<LookupHttp> {
    const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS });
    server.maxConnections = MAX_CONNECTIONS;
    const fixed = source instanceof LookupState ? { state: () => source, ready: () => true } : source;
    const http = new LookupHttp(server, fixed, now);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return http;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  stats(): WorkerStats {
    return {
      state: this.source.state().stats(),
      lookups: Object.fromEntries(this.counters.lookups),
      rejected: Object.fromEntries(this.counters.rejected),
      latency: this.counters.latency(),
    };
  }

  /** Idempotent; idle keep-alive connections are closed so the thread can end. */
  close(): Promise<void> {
    return this.closer();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const head = req.method === 'HEAD';
    try {
      const request = parseRequest(req.method, req.url);
      switch (request.kind) {
        case 'lookup': {
          if (!this.source.ready()) {
            this.counters.add(this.counters.rejected, '503');
            send(res, 503, STARTING, head);
            break;
          }
          const answer = this.source.state().answer(request.number, request.caller, this.now());
          this.counters.add(this.counters.lookups, `${answer.verdict}|${answer.reasons.length === 0 ? 'none' : answer.reasons.join(',')}`);
          send(res, 200, JSON.stringify(answer), head);
          break;
        }
        case 'health':
          if (this.source.ready()) send(res, 200, JSON.stringify({ status: 'ok', tracked_numbers: this.source.state().stats().numbers }), head);
          else send(res, 503, STARTING, head);
          break;
        case 'rejected':
          this.counters.add(this.counters.rejected, String(request.status));
          if (request.status === 405) res.setHeader('Allow', 'GET, HEAD');
          send(res, request.status, JSON.stringify({ status: 'error', error: request.error }), head);
          break;
      }
    } catch (error) {
      // A bug must cost one answer, never the listener: OpenSIPS then fails open for this call.
      this.counters.add(this.counters.rejected, '500');
      if (!res.headersSent) send(res, 500, JSON.stringify({ status: 'error', error: 'internal error' }), head);
      else res.destroy(error as Error);
    }
    this.counters.observe((performance.now() - started) / 1000);
  }
}
