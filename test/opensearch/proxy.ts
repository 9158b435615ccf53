/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of the real node. It records request headers
 * (to check SigV4 signing, which the node itself does not verify) and, for the Elasticsearch
 * client, translates only the product handshake: the client's compatibility media types become
 * plain JSON and answers carry `x-elastic-product`. Request and response bodies pass untouched.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface TestProxy {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

function plainMediaType(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.replace(/application\/vnd\.elasticsearch\+(json|x-ndjson)[^,]*/g, 'application/$1');
}

export async function startProxy(targetUrl: string, options: { elastic?: boolean } = {}): Promise<TestProxy> {
  const target = new URL(targetUrl);
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers } });
    const headers = { ...req.headers, host: target.host };
    if (options.elastic) {
      for (const name of ['accept', 'content-type'] as const) {
        const plain = plainMediaType(headers[name]);
        if (plain === undefined) delete headers[name];
        else headers[name] = plain;
      }
    }
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      const out = { ...answer.headers, ...(options.elastic ? { 'x-elastic-product': 'Elasticsearch' } : {}) };
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}
