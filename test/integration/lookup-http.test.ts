/**
 * The lookup listener's HTTP on real sockets (src/lookup/lookup-http.ts over node:net): keep-alive,
 * pipelining, closing, bodies refused, slow and idle clients, and Node's own client talking to it.
 */
import { connect, type Socket } from 'node:net';
import { loadConfig } from '../../src/config/config';
import { DEFAULT_TIMEOUTS, LookupHttp, MAX_UNREAD_ANSWER_BYTES, type ConnectionTimeouts } from '../../src/lookup/lookup-http';
import { LookupState } from '../../src/lookup/lookup-state';
import { DEFAULT_DIAL_PLAN } from '../../src/numbers/dial-plan';
import { httpGet } from '../support/http';
import { rawExchange } from '../support/lookup';
import { waitUntil } from '../support/rabbit';

const config = loadConfig({}).lookup;
const TIMEOUTS: ConnectionTimeouts = { ...DEFAULT_TIMEOUTS, requestMs: 300, keepAliveMs: 600, sweepMs: 50 };
let http: LookupHttp;

async function listen(timeouts: ConnectionTimeouts = TIMEOUTS): Promise<LookupHttp> {
  const state = new LookupState({ ...config.rules, invalidCodes: new Set(config.rules.invalidCodes) }, config.limits, DEFAULT_DIAL_PLAN);
  return LookupHttp.listen(state, '127.0.0.1', 0, Date.now, timeouts);
}

/** The test's listener again, with other clocks or limits. */
async function relisten(overrides: Partial<ConnectionTimeouts>): Promise<void> {
  await http.close();
  http = await listen({ ...TIMEOUTS, ...overrides });
}

beforeEach(async () => {
  http = await listen();
});
afterEach(() => http.close());

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

/** Responses as they arrive on one connection, split by their Content-Length. */
function responses(text: string): { status: number; headers: string; body: string }[] {
  const out: { status: number; headers: string; body: string }[] = [];
  let rest = Buffer.from(text, 'utf8');
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    const headers = rest.subarray(0, end).toString('latin1');
    const length = Number(/\r\nContent-Length: (\d+)/.exec(headers)?.[1]);
    out.push({ status: Number(headers.slice(9, 12)), headers, body: rest.subarray(end + 4, end + 4 + length).toString('utf8') });
    rest = rest.subarray(end + 4 + length);
  }
  return out;
}

/** A connection to the listener; `allowHalfOpen`: our side stays open after the listener's FIN. */
function opened(allowHalfOpen = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port: http.port, host: '127.0.0.1', allowHalfOpen }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the socket has received so far, as text. */
function received(socket: Socket): () => string {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

const closedWithin = (socket: Socket, ms: number): Promise<boolean> => new Promise((resolve) => {
  const timer = setTimeout(() => resolve(false), ms);
  socket.once('close', () => {
    clearTimeout(timer);
    resolve(true);
  });
});

test('Node\'s own HTTP client gets the JSON answer', async () => {
  const answer = await httpGet(http.port, '/v1/numbers/%2B5511912340002?caller=%2B5511900000001');
  expect(answer.status).toBe(200);
  expect(answer.contentType).toBe('application/json; charset=utf-8');
  expect(JSON.parse(answer.body)).toMatchObject({ number: '+5511912340002', e164: '+5511912340002', verdict: 'allow', reasons: [] });
});

test('pipelined requests on one connection are answered in order, and Connection: close ends it after its answer', async () => {
  const paths = ['/v1/numbers/1', '/healthz', '/nowhere', '/v1/numbers/%2B5511912340002'];
  const text = await rawExchange(http.port, paths.map((p) => GET(p)).join('') + GET('/healthz', 'Connection: close\r\n') + GET('/healthz'));
  const answers = responses(text);
  expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 200, 200]);
  expect(JSON.parse(answers[3]!.body)).toMatchObject({ number: '+5511912340002' });
  expect(answers[0]!.headers).toContain('Connection: keep-alive');
  expect(answers[4]!.headers).toContain('Connection: close');
});

test('a request split into many small writes is read whole', async () => {
  const socket = await opened();
  const text = received(socket);
  for (const char of GET('/v1/numbers/%2B5511912340002', 'Connection: close\r\n')) {
    socket.write(char);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await closedWithin(socket, 2000);
  expect(responses(text()).map((a) => a.status)).toEqual([200]);
});

test('HTTP/1.0 gets its answer and a closed connection', async () => {
  const answers = responses(await rawExchange(http.port, 'GET /healthz HTTP/1.0\r\n\r\n'));
  expect(answers).toHaveLength(1);
  expect(answers[0]).toMatchObject({ status: 200 });
  expect(answers[0]!.headers).toContain('Connection: close');
});

test('HEAD gets the head only', async () => {
  const text = await rawExchange(http.port, 'HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(text.endsWith('\r\n\r\n')).toBe(true);
});

test.each([
  ['a body', 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 26\r\n\r\nGET /v1/numbers/1 HTTP/1.1', 400, 'request bodies are not accepted'],
  ['a chunked body', 'GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'request bodies are not accepted'],
  ['no Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'Host'],
  ['HTTP/2 in clear', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, 'HTTP version'],
  ['bare LF line ends', 'GET /healthz HTTP/1.1\nHost: x\n\n\r\n\r\n', 400, 'malformed HTTP request'],
  ['bare LF line ends only (refused at once, not left to time out)', 'GET /healthz HTTP/1.1\nHost: x\n\n', 400, 'CRLF'],
])('%s: a JSON error, then the connection closed (nothing after it is read as a request)', async (_what, bytes, status, error) => {
  const answers = responses(await rawExchange(http.port, bytes));
  expect(answers).toHaveLength(1);
  expect(answers[0]!.status).toBe(status);
  expect(answers[0]!.headers).toContain('Connection: close');
  expect(JSON.parse(answers[0]!.body)).toMatchObject({ status: 'error', error: expect.stringContaining(error) });
  expect(http.stats().rejected[String(status)]).toBe(1);
});

test('a POST with a body: 405 with Allow, and the body never read as a request', async () => {
  const answers = responses(await rawExchange(http.port, 'POST /v1/numbers/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 26\r\n\r\nGET /v1/numbers/2 HTTP/1.1\r\n\r\n'));
  expect(answers).toHaveLength(1);
  expect(answers[0]!.status).toBe(405);
  expect(answers[0]!.headers).toContain('Allow: GET, HEAD');
  expect(answers[0]!.headers).toContain('Connection: close');
});

test('a head that never ends within the limit is a 431 at 16 KiB, without waiting for the rest', async () => {
  const socket = await opened();
  const text = received(socket);
  socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}`);
  expect(await closedWithin(socket, 2000)).toBe(true);
  expect(text()).toMatch(/^HTTP\/1\.1 431 /);
});

test('a request that does not arrive whole in time: 408 and closed; an idle keep-alive connection is closed', async () => {
  const slow = await opened();
  const text = received(slow);
  slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  expect(await closedWithin(slow, 3000)).toBe(true);
  expect(text()).toMatch(/^HTTP\/1\.1 408 /);

  const idle = await opened();
  idle.on('data', () => undefined);
  idle.write(GET('/healthz'));
  expect(await closedWithin(idle, TIMEOUTS.keepAliveMs / 2)).toBe(false);
  expect(await closedWithin(idle, 3000)).toBe(true);
  // Still answering.
  expect((await httpGet(http.port, '/healthz')).status).toBe(200);
});

test('a peer that never closes its side after a refused request is cut off', async () => {
  const socket = await opened(true);
  socket.on('error', () => undefined); // the cut may come as a reset
  const text = received(socket);
  let ended = false;
  socket.on('end', () => { ended = true; }); // half-open: this side never ends its own
  socket.write('THIS IS NOT HTTP\r\n\r\n');
  await waitUntil(async () => ended, 'the answer and our side closed');
  expect(text()).toMatch(/^HTTP\/1\.1 400 /);
  expect(http.stats().connections.open).toBe(1);
  // The listener lets go of the connection although the peer keeps its side open.
  await waitUntil(async () => http.stats().connections.open === 0, 'the listener to drop the half-open connection');
  socket.destroy();
});

test('a client that sends a flood of requests without reading still gets them all, in order, once it reads', async () => {
  const count = 20_000;
  const text = await rawExchange(http.port, GET('/healthz').repeat(count - 1) + GET('/nowhere', 'Connection: close\r\n'), 30_000);
  const answers = responses(text);
  expect(answers).toHaveLength(count);
  expect(answers.slice(0, -1).every((a) => a.status === 200)).toBe(true);
  expect(answers[count - 1]!.status).toBe(404);
});

/** Everything the socket receives until it closes, once it is resumed. */
function restOf(socket: Socket): Promise<string> {
  const text = received(socket);
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(text())));
  socket.resume();
  return closed;
}

const numbersOf = (text: string): string[] => responses(text).map((a) => (JSON.parse(a.body) as { number: string }).number);

test('a client that pipelines without reading is not read either: the answers waiting for it stay bounded, and all come once it reads', async () => {
  const socket = await opened();
  socket.pause(); // reads nothing
  const count = 50_000;
  socket.write(Array.from({ length: count }, (_, i) => GET(`/v1/numbers/${i}`)).join(''));
  await new Promise((resolve) => setTimeout(resolve, 500));
  // The kernel's buffers take what they can; past them, at most one answer beyond the bound waits in the listener.
  expect(http.bufferedAnswerBytes).toBeGreaterThan(0);
  expect(http.bufferedAnswerBytes).toBeLessThanOrEqual(MAX_UNREAD_ANSWER_BYTES + 1024);
  socket.write(GET(`/v1/numbers/${count}`, 'Connection: close\r\n'));
  const numbers = numbersOf(await restOf(socket));
  expect(numbers).toEqual(Array.from({ length: count + 1 }, (_, i) => String(i)));
});

test('a client that half-closes while we are not reading it still gets every answer, in order, then our FIN', async () => {
  // Idle for a second while it does not read: a keep-alive timeout longer than that.
  await relisten({ keepAliveMs: 10_000 });
  const socket = await opened(true);
  socket.pause();
  // Small batches until the kernel's buffers are full and answers wait in the listener, then
  // more requests and the FIN: the listener pauses on the last of them and reads the FIN.
  let sent = 0;
  const batch = (n: number) => Array.from({ length: n }, () => GET(`/v1/numbers/${sent++}`)).join('');
  while (http.bufferedAnswerBytes === 0) {
    socket.write(batch(50));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  socket.end(batch(1_200));
  const count = sent;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const numbers = numbersOf(await restOf(socket));
  expect(numbers).toEqual(Array.from({ length: count }, (_, i) => String(i)));
});

test('connections past the limit are refused and counted; those held are counted too', async () => {
  await relisten({ keepAliveMs: 10_000, maxConnections: 2 });
  const held = [await opened(), await opened()];
  for (const socket of held) socket.on('data', () => undefined);
  await waitUntil(async () => http.stats().connections.open === 2, 'both connections held');
  const third = await opened();
  third.on('error', () => undefined);
  expect(await closedWithin(third, 2000)).toBe(true);
  expect(http.stats().connections).toEqual({ open: 2, dropped: 1 });
  for (const socket of held) socket.destroy();
});

test('close() ends open keep-alive connections', async () => {
  const socket = await opened();
  socket.on('data', () => undefined);
  socket.write(GET('/healthz'));
  const closed = closedWithin(socket, 2000);
  await http.close();
  expect(await closed).toBe(true);
});
