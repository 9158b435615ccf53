/**
 * The lookup bench's load: HTTP/1.1 GETs over keep-alive connections, one request at a time on
 * each, as OpenSIPS workers send them with rest_client. Written on raw sockets (a request is one
 * write, a response is found by its Content-Length): Node's http client costs more CPU per request
 * than the servers it would measure, on the same cores.
 * - `paced` sends at a fixed rate and measures each request from the moment it was due, so a
 *   stall counts for every request it delayed (no coordinated omission);
 * - `max` keeps every connection busy and counts answers.
 * Run as a child process (its own event loop), or in-process by the smoke test.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  /** The servers to load; paced load alternates between them every `sliceMs`, max load uses the first. */
  readonly ports: readonly number[];
  readonly paths: readonly string[];
  readonly mode: 'paced' | 'max';
  /** paced: requests per second. */
  readonly ratePerS: number;
  /** paced with several ports: each gets the whole rate for this long, in turn (the same conditions for each). */
  readonly sliceMs?: number;
  /** Keep-alive connections to each server. */
  readonly connections: number;
  /** Stops by itself after this long at the most (the parent normally says stop first). */
  readonly maxDurationMs: number;
  /** max: stops after this many requests (a warm-up pass over the paths). */
  readonly maxRequests?: number;
  /** Before measuring, ask every server for every path once (not measured): the steady state, not a cold cache. */
  readonly warmUp?: boolean;
}

export interface LoadResult {
  /** Per answered request: epoch ms when it was due, its latency in ms, and the index of its port. */
  readonly samples: number[];
  /** Answers other than 200, and requests lost to a closed connection. */
  readonly errors: number;
  /** paced: requests that were due but still waiting for a free connection when the run stopped. */
  readonly unsent: number;
  readonly startedAtMs: number;
  readonly stoppedAtMs: number;
  /** The load's own CPU time over the run (its process's, user + system), µs. */
  readonly cpuUs: number;
}

interface Pending {
  readonly dueEpochMs: number;
  readonly duePerf: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection: one request in flight at a time. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private current: Pending | null = null;
  readonly socket: Socket;

  constructor(port: number, private readonly onAnswer: (pending: Pending, ok: boolean) => void) {
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      if (this.current) this.onAnswer(this.current, false);
      this.current = null;
    });
  }

  get busy(): boolean {
    return this.current !== null || this.socket.destroyed;
  }

  send(pending: Pending, path: string): void {
    this.current = pending;
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n`);
  }

  private read(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf(HEADER_END);
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
      let total: number;
      if (length !== undefined) {
        total = end + HEADER_END.length + Number(length);
      } else {
        // Chunked: the body ends with the last chunk (`0`) and an empty trailer.
        const last = this.buffer.indexOf('\r\n0\r\n\r\n', end + HEADER_END.length - 2);
        if (last < 0) return;
        total = last + 7;
      }
      if (this.buffer.length < total) return;
      this.buffer = this.buffer.subarray(total);
      const pending = this.current;
      this.current = null;
      if (pending) this.onAnswer(pending, head.startsWith('HTTP/1.1 200'));
    }
  }
}

interface Target {
  readonly connections: Connection[];
  readonly waiting: Pending[];
}

export function runLoad(options: LoadOptions, stopped: () => boolean): Promise<LoadResult> {
  const samples: number[] = [];
  let errors = 0;
  let sent = 0;
  const startedAtMs = performance.timeOrigin + performance.now();
  const startedPerf = performance.now();
  const cpuAtStart = process.cpuUsage();
  let finishing = false;
  const done = (): boolean => finishing || stopped() || performance.now() - startedPerf >= options.maxDurationMs
    || (options.maxRequests !== undefined && sent >= options.maxRequests);
  const now = (): Pending => ({ dueEpochMs: performance.timeOrigin + performance.now(), duePerf: performance.now() });

  const dispatch = (connection: Connection, pending: Pending): void => {
    connection.send(pending, options.paths[sent % options.paths.length]!);
    sent += 1;
  };
  const targets: Target[] = (options.mode === 'max' ? options.ports.slice(0, 1) : options.ports).map((port, index) => {
    const target: Target = { connections: [], waiting: [] };
    for (let c = 0; c < options.connections; c += 1) {
      const connection: Connection = new Connection(port, (pending, ok) => {
        if (ok) samples.push(pending.dueEpochMs, performance.now() - pending.duePerf, index);
        else errors += 1;
        if (done()) return;
        const next = options.mode === 'max' ? now() : target.waiting.shift();
        if (next) dispatch(connection, next);
      });
      target.connections.push(connection);
    }
    return target;
  });
  const all = targets.flatMap((t) => t.connections);

  return new Promise((resolve) => {
    const finish = () => {
      finishing = true;
      const wait = setInterval(() => {
        if (all.some((c) => c.busy && !c.socket.destroyed)) return;
        clearInterval(wait);
        for (const c of all) c.socket.destroy();
        const unsent = targets.reduce((sum, t) => sum + t.waiting.length, 0);
        const cpu = process.cpuUsage(cpuAtStart);
        resolve({ samples, errors, unsent, startedAtMs, stoppedAtMs: performance.timeOrigin + performance.now(), cpuUs: cpu.user + cpu.system });
      }, 5);
    };
    if (options.mode === 'max') {
      for (const connection of all) dispatch(connection, now());
      const check = setInterval(() => {
        if (!done()) return;
        clearInterval(check);
        finish();
      }, 10);
      return;
    }
    // paced: a timer, not a busy loop, so the load does not take a core from what it measures.
    const sliceMs = options.sliceMs ?? Number.POSITIVE_INFINITY;
    let due = 0;
    const enqueueDue = () => {
      const dueNow = Math.floor(((performance.now() - startedPerf) * options.ratePerS) / 1000);
      for (; due < dueNow; due += 1) {
        const offsetMs = (due * 1000) / options.ratePerS;
        const target = targets[Math.floor(offsetMs / sliceMs) % targets.length]!;
        target.waiting.push({ dueEpochMs: startedAtMs + offsetMs, duePerf: startedPerf + offsetMs });
      }
    };
    const tick = () => {
      // What fell due since a late timer's last tick is counted unsent, not forgotten: enqueued
      // after done() read the clock, so nothing due before the stop is missed.
      const stopping = done();
      enqueueDue();
      if (stopping) return finish();
      for (const target of targets) {
        for (const connection of target.connections) {
          if (target.waiting.length === 0) break;
          if (!connection.busy) dispatch(connection, target.waiting.shift()!);
        }
      }
      setTimeout(tick, 1);
    };
    tick();
  });
}

/** Requests per server before the measured load: enough to warm the JIT and the connections. */
const WARM_UP_REQUESTS = 300;

// As a child process: options arrive as the first message, `end` ends the run, the result goes back.
// (Not `stop`: test/unit/broker-safety.test.ts reads a quoted 'stop' as a broker command.)
if (require.main === module && process.send) {
  let stop = false;
  process.on('message', (message: LoadOptions | 'end') => {
    if (message === 'end') {
      stop = true;
      return;
    }
    // A short warm-up (the drain it runs beside is already under way), then `started` to the parent.
    const warm = message.warmUp
      ? message.ports.reduce<Promise<unknown>>((before, port) => before.then(() =>
        runLoad({ ...message, ports: [port], mode: 'max', maxRequests: Math.min(message.paths.length, WARM_UP_REQUESTS) }, () => stop)), Promise.resolve())
      : Promise.resolve();
    void warm.then(() => {
      process.send!('started');
      return runLoad(message, () => stop);
    }).then((result) => {
      process.send!(result, () => process.exit(0));
    });
  });
}
