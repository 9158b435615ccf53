/**
 * The lookup listener: `GET /v1/numbers/{number}` answered from memory, counted and timed.
 * Every answer is JSON, errors included; a malformed HTTP message gets a JSON 400 (431 for
 * oversized headers, 408 for one not sent in time) and its connection closed. Runs in the lookup
 * worker thread.
 *
 * HTTP/1.1 is spoken on `node:net` directly (http-head.ts): Node's `http` cost about 25 µs of CPU
 * per request more than this one GET needs, on cores the pipeline shares (docs/performance.md).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { answerJson } from './answer-json';
import { formatResponse, readHead } from './http-head';
import { LookupState } from './lookup-state';
import type { LatencySnapshot, WorkerStats } from './protocol';
import { parseRequest } from './request';

/** Seconds: a lookup answered from memory takes tens of microseconds; the top buckets show stalls. */
export const LATENCY_BOUNDS_S: readonly number[] = Object.freeze([0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]);

/** OpenSIPS workers keep their connection open between lookups (rest_client reuses it). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A client that sends its request this slowly is not OpenSIPS. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Request line and header fields, as Node's own server allows. */
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CONNECTIONS = 4096;
/** Answers a client has not read: past this, its requests are not read either until it catches up. */
export const MAX_UNREAD_ANSWER_BYTES = 64 * 1024;
/** How often idle and slow connections are looked for (one timer for all, not one per request). */
const SWEEP_INTERVAL_MS = 1_000;

/** The listener's clocks and its connection limit; tests shrink them. */
export interface ConnectionTimeouts {
  readonly requestMs: number;
  readonly keepAliveMs: number;
  readonly sweepMs: number;
  readonly maxConnections: number;
}

export const DEFAULT_TIMEOUTS: ConnectionTimeouts = Object.freeze({
  requestMs: REQUEST_TIMEOUT_MS, keepAliveMs: KEEP_ALIVE_TIMEOUT_MS, sweepMs: SWEEP_INTERVAL_MS, maxConnections: MAX_CONNECTIONS,
});

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
  return { state: state.stats(), lookups: {}, rejected: {}, latency: new Counters().latency(), connections: { open: 0, dropped: 0 } };
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly allow?: string;
}

const errorBody = (error: string): string => JSON.stringify({ status: 'error', error });

/** One client connection: its unread bytes, and since when a request has been arriving. */
interface Client {
  readonly socket: Socket;
  unread: string;
  /** performance.now() when the request being received began; 0 when none is under way. */
  requestSinceMs: number;
  lastActiveMs: number;
  /** performance.now() when our side ended the connection; 0 while it is open. */
  closingSinceMs: number;
  /** Not read while it has not read its answers (the delay is then ours, not a slow request). */
  paused: boolean;
  /** A bare LF arrived: never a request we would read, and more bytes cannot make it one. */
  bareLineFeed: boolean;
  /** The peer sent its FIN: answer what is whole in `unread`, then end our side. */
  peerEnded: boolean;
  /** The last character received (a chunk's first LF needs it), -1 before any. */
  lastCode: number;
}

/** A line feed in `chunk` without its carriage return (`before`: the character received just before the chunk). */
function hasBareLineFeed(chunk: string, before: number): boolean {
  for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) {
    if ((i === 0 ? before : chunk.charCodeAt(i - 1)) !== 13) return true;
  }
  return false;
}

export class LookupHttp {
  private readonly counters = new Counters();
  private readonly clients = new Set<Client>();
  private readonly sweeper: NodeJS.Timeout;
  private dateSecond = -1;
  private date = '';
  private closing: Promise<void> | undefined;
  /** Connections refused at the limit: OpenSIPS then fails open for those calls, so it is counted. */
  private droppedConnections = 0;

  private constructor(
    private readonly server: Server,
    private readonly source: LookupSource,
    private readonly now: () => number,
    private readonly timeouts: ConnectionTimeouts,
  ) {
    server.on('connection', (socket: Socket) => this.serve(socket));
    server.on('drop', () => {
      this.droppedConnections += 1;
    });
    this.sweeper = setInterval(() => this.sweep(), timeouts.sweepMs);
    this.sweeper.unref();
  }

  static async listen(source: LookupSource | LookupState, host: string, port: number, now: () => number = Date.now,
    timeouts: ConnectionTimeouts = DEFAULT_TIMEOUTS): Promise<LookupHttp> {
    // Half-open: a peer's FIN (say while we are not reading it) must not end our side before the
    // requests it sent before the FIN are answered.
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    server.maxConnections = timeouts.maxConnections;
    const fixed = source instanceof LookupState ? { state: () => source, ready: () => true } : source;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Past listen, an accept error (EMFILE…) costs that connection, never the thread.
    server.on('error', () => undefined);
    return new LookupHttp(server, fixed, now, timeouts);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Answers written but not yet taken by the kernel, over every connection: bounded per client by its backpressure. */
  get bufferedAnswerBytes(): number {
    let bytes = 0;
    for (const client of this.clients) bytes += client.socket.writableLength;
    return bytes;
  }

  stats(): WorkerStats {
    return {
      state: this.source.state().stats(),
      lookups: Object.fromEntries(this.counters.lookups),
      rejected: Object.fromEntries(this.counters.rejected),
      latency: this.counters.latency(),
      connections: { open: this.clients.size, dropped: this.droppedConnections },
    };
  }

  /** Idempotent; every connection is closed so the thread can end. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      clearInterval(this.sweeper);
      this.server.close(() => resolve());
      for (const client of this.clients) client.socket.destroy();
    });
    return this.closing;
  }

  private serve(socket: Socket): void {
    const client: Client = {
      socket, unread: '', requestSinceMs: 0, lastActiveMs: performance.now(), closingSinceMs: 0, paused: false,
      bareLineFeed: false, peerEnded: false, lastCode: -1,
    };
    this.clients.add(client);
    socket.on('data', (chunk: Buffer) => this.receive(client, chunk));
    socket.on('drain', () => {
      client.lastActiveMs = performance.now(); // the client reads (Node emits no drain once we have ended)
      if (!client.paused || client.closingSinceMs !== 0) return;
      client.paused = false;
      socket.resume();
      this.answerRequests(client, client.lastActiveMs);
    });
    socket.on('end', () => {
      client.peerEnded = true;
      if (!client.paused && client.closingSinceMs === 0) this.answerRequests(client, performance.now());
    });
    // The grace for a peer that never closes its side runs from when our last answer left, not from end().
    socket.on('finish', () => {
      if (client.closingSinceMs !== 0) client.closingSinceMs = performance.now();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.clients.delete(client));
  }

  private receive(client: Client, chunk: Buffer): void {
    if (client.closingSinceMs !== 0) return;
    const now = performance.now();
    client.lastActiveMs = now;
    const text = chunk.toString('latin1');
    if (!client.bareLineFeed && hasBareLineFeed(text, client.lastCode)) client.bareLineFeed = true;
    client.lastCode = text.charCodeAt(text.length - 1);
    client.unread += text;
    if (!client.paused) this.answerRequests(client, now);
  }

  /** Every whole request in `unread`, in order, until the client has too many answers it has not read. */
  private answerRequests(client: Client, now: number): void {
    for (;;) {
      // Empty lines before a request line are skipped (RFC 9112 §2.2).
      while (client.unread.startsWith('\r\n')) client.unread = client.unread.slice(2);
      if (client.unread === '') {
        client.requestSinceMs = 0;
        if (client.peerEnded) this.endOurSide(client);
        return;
      }
      // A client that sends requests without reading the answers is not read either until it does:
      // the answers waiting for it stay bounded, whatever it pipelines.
      if (client.socket.writableLength > MAX_UNREAD_ANSWER_BYTES) {
        client.paused = true;
        client.requestSinceMs = 0;
        client.socket.pause();
        return;
      }
      if (client.requestSinceMs === 0) client.requestSinceMs = now;
      const end = client.unread.indexOf('\r\n\r\n');
      if (end < 0 ? client.unread.length > MAX_HEAD_BYTES : end > MAX_HEAD_BYTES) {
        this.refuse(client, 431, 'request headers too large');
        return;
      }
      if (end < 0) {
        if (client.bareLineFeed) this.refuse(client, 400, 'malformed HTTP request: lines end with CRLF');
        // A request cut short by the peer's FIN can never complete.
        else if (client.peerEnded) this.endOurSide(client);
        return;
      }
      const head = client.unread.slice(0, end);
      client.unread = client.unread.slice(end + 4);
      client.requestSinceMs = 0;
      const reading = readHead(head);
      if (!reading.ok) {
        this.refuse(client, reading.status, reading.error);
        return;
      }
      const started = performance.now();
      this.write(client, this.answer(reading.method, reading.target), reading.method === 'HEAD', reading.keepAlive);
      this.counters.observe((performance.now() - started) / 1000);
      if (!reading.keepAlive) return;
    }
  }

  private write(client: Client, answer: Answer, headOnly: boolean, keepAlive: boolean): void {
    const nowS = Math.floor(this.now() / 1000);
    if (nowS !== this.dateSecond) {
      this.dateSecond = nowS;
      this.date = new Date(nowS * 1000).toUTCString();
    }
    const text = formatResponse({
      status: answer.status, body: answer.body, allow: answer.allow, headOnly, keepAlive, date: this.date,
      keepAliveTimeoutS: Math.floor(this.timeouts.keepAliveMs / 1000),
    });
    if (keepAlive) {
      client.socket.write(text);
      return;
    }
    client.closingSinceMs = performance.now();
    client.unread = '';
    client.socket.end(text);
  }

  /** The peer is done sending and every whole request it sent is answered. */
  private endOurSide(client: Client): void {
    client.closingSinceMs = performance.now();
    client.unread = '';
    client.socket.end();
  }

  /** A message that is not one we can answer: a JSON error, and the connection closed (what follows cannot be trusted to be a request). */
  private refuse(client: Client, status: number, error: string): void {
    this.counters.add(this.counters.rejected, String(status));
    this.write(client, { status, body: errorBody(error) }, false, false);
  }

  /** Idle keep-alive connections, requests that do not arrive whole in time, and peers that never close. */
  private sweep(): void {
    const now = performance.now();
    for (const client of this.clients) {
      // Ended on our side, but the peer never closes its own: its slot is taken back.
      if (client.closingSinceMs !== 0) {
        // Still flushing: the client has the idle timeout from our end() on to read its backlog.
        const flushed = client.socket.writableFinished;
        if (flushed ? now - client.closingSinceMs > this.timeouts.requestMs
          : now - Math.max(client.lastActiveMs, client.closingSinceMs) > this.timeouts.keepAliveMs) client.socket.destroy();
        continue;
      }
      // Paused by us: no request is late, but one that reads nothing for the idle timeout is gone.
      if (!client.paused && client.requestSinceMs !== 0 && now - client.requestSinceMs > this.timeouts.requestMs) this.refuse(client, 408, 'request not received in time');
      else if (now - client.lastActiveMs > this.timeouts.keepAliveMs) client.socket.destroy();
    }
  }

  private answer(method: string, target: string): Answer {
    let answer: Answer;
    try {
      const request = parseRequest(method, target);
      switch (request.kind) {
        case 'lookup': {
          if (!this.source.ready()) {
            this.counters.add(this.counters.rejected, '503');
            answer = { status: 503, body: STARTING };
            break;
          }
          const found = this.source.state().answer(request.number, request.caller, this.now());
          this.counters.add(this.counters.lookups, `${found.verdict}|${found.reasons.length === 0 ? 'none' : found.reasons.join(',')}`);
          answer = { status: 200, body: answerJson(found) };
          break;
        }
        case 'health':
          answer = this.source.ready()
            ? { status: 200, body: JSON.stringify({ status: 'ok', tracked_numbers: this.source.state().stats().numbers }) }
            : { status: 503, body: STARTING };
          break;
        case 'rejected':
          this.counters.add(this.counters.rejected, String(request.status));
          answer = { status: request.status, body: errorBody(request.error), allow: request.status === 405 ? 'GET, HEAD' : undefined };
          break;
      }
    } catch {
      // A bug must cost one answer, never the listener: OpenSIPS then fails open for this call.
      this.counters.add(this.counters.rejected, '500');
      answer = { status: 500, body: errorBody('internal error') };
    }
    return answer;
  }
}
