/**
 * The bench's search-engine CPU (bench/search.ts localEnginePid): only a JVM listening on the
 * engine's port is taken for the engine. A proxy in front of it (docker-proxy for a node in a
 * container) listens on that port too, and its CPU must not be reported as the engine's.
 */
import { createServer, type Server } from 'node:net';
import { findListenerPid, processName } from '../../bench/cpu';
import { localEnginePid } from '../../bench/search';

describe('bench: the search engine found by its port', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the process listening on a local port is found', () => {
    expect(findListenerPid(port)).toBe(process.pid);
    expect(processName(process.pid)).not.toBe('java');
  });

  test('a listener that is not a JVM is not the engine: no CPU figure rather than a proxy\'s', () => {
    expect(localEnginePid(`http://127.0.0.1:${port}`)).toBeNull();
    expect(localEnginePid(`http://localhost:${port}`)).toBeNull();
  });

  test('a remote engine has no local pid; a process that cannot be read has no name', () => {
    expect(localEnginePid(`http://search.example.net:${port}`)).toBeNull();
    expect(processName(2 ** 30)).toBeNull();
  });
});
