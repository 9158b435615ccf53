/**
 * A TCP proxy for resilience tests: listens on 127.0.0.1 (a free port) and forwards every
 * connection to a target (RabbitMQ on 5672). `dropAll()` destroys every open pair at once, as a
 * network cut would; new connections are accepted again right after, unless `refuse` is set.
 * `stall()` is the silent cut: nothing is forwarded either way and no close is passed on (each side
 * only learns it from missed heartbeats), new connections wait; `resume()` lets traffic through
 * again (a pair the other side closed meanwhile is closed then).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  /** While true, new client connections are closed at once (the "network" stays down). */
  refuse = false;
  /** Connections accepted since start. */
  accepted = 0;
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  /** While stalled: what to do on resume (start a held connection, pass on a close, unpause). */
  private onResume: Array<() => void> = [];

  private constructor(private readonly server: Server) {}

  static async start(targetPort = 5672, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => {
      if (proxy.refuse) {
        client.destroy();
        return;
      }
      proxy.accepted += 1;
      const open = (): void => {
        const upstream = connect(targetPort, targetHost);
        const pair: [Socket, Socket] = [client, upstream];
        proxy.pairs.add(pair);
        const end = () => {
          if (proxy.stalled) {
            proxy.onResume.push(end);
            return;
          }
          client.destroy();
          upstream.destroy();
          proxy.pairs.delete(pair);
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
        client.pipe(upstream);
        upstream.pipe(client);
      };
      if (proxy.stalled) {
        client.pause();
        client.on('error', () => undefined);
        proxy.onResume.push(() => { client.resume(); open(); });
      } else {
        open();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  /** The silent cut: every byte stays where it is, both ways; no close is passed on. */
  stall(): void {
    this.stalled = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      this.onResume.push(() => {
        if (client.destroyed || upstream.destroyed) return;
        client.pipe(upstream);
        upstream.pipe(client);
      });
    }
  }

  resume(): void {
    this.stalled = false;
    const steps = this.onResume;
    this.onResume = [];
    for (const step of steps) step();
  }

  /** Cuts every proxied connection; returns how many were cut. */
  dropAll(): number {
    const count = this.pairs.size;
    for (const [client, upstream] of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return count;
  }

  async close(): Promise<void> {
    this.refuse = true;
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
