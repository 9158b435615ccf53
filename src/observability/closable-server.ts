/** Closing an HTTP server for good: keep-alive connections (Prometheus, OpenSIPS) would otherwise hold it open. */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Tracks the server's connections; the returned function closes the server and every connection, once. */
export function closerFor(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
}
