/** The lookup listener's request heads and responses (src/lookup/http-head.ts), as pure code. */
import fc from 'fast-check';
import { formatResponse, readHead } from '../../src/lookup/http-head';

const CURL = 'GET /v1/numbers/%2B5511912340002?caller=alice HTTP/1.1\r\nHost: 127.0.0.1:8090\r\nAccept: */*';

describe('readHead', () => {
  test('a request as curl (OpenSIPS rest_client) sends it', () => {
    expect(readHead(CURL)).toEqual({ ok: true, method: 'GET', target: '/v1/numbers/%2B5511912340002?caller=alice', keepAlive: true });
  });

  test.each([
    ['HTTP/1.1 by default', 'GET / HTTP/1.1\r\nHost: x', true],
    ['HTTP/1.1 with Connection: close', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close', false],
    ['close among other options, any case', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, Close', false],
    ['HTTP/1.0 by default', 'GET / HTTP/1.0', false],
    ['HTTP/1.0 asking for keep-alive', 'GET / HTTP/1.0\r\nConnection: keep-alive', true],
  ])('keep-alive: %s', (_what, head, keepAlive) => {
    expect(readHead(head)).toMatchObject({ ok: true, keepAlive });
  });

  test('empty lines before the request line are skipped; an empty body length is fine', () => {
    expect(readHead('\r\n\r\nHEAD /healthz HTTP/1.1\r\nhost: x\r\nContent-Length: 0')).toMatchObject({ ok: true, method: 'HEAD', target: '/healthz' });
  });

  test.each([
    ['not HTTP', 'THIS IS NOT HTTP'],
    ['no version', 'GET /'],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: x'],
    ['a space in the target', 'GET /v1/numbers/1 2 HTTP/1.1\r\nHost: x'],
    ['a control character in the target', 'GET /v1/numbers/1\x00 HTTP/1.1\r\nHost: x'],
    ['a byte above ASCII in the target', 'GET /v1/numbers/\xe9 HTTP/1.1\r\nHost: x'],
    ['a method that is not a token', 'G(T / HTTP/1.1\r\nHost: x'],
    ['a lower-case version', 'GET / http/1.1\r\nHost: x'],
    ['no Host in HTTP/1.1', 'GET / HTTP/1.1'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : x'],
    ['a folded line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2'],
    ['a bare LF inside a line', 'GET / HTTP/1.1\r\nHost: x\nX-A: 1'],
    ['a bare CR inside a line', 'GET / HTTP/1.1\r\nHost: x\rX-A: 1'],
    ['a line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nnonsense'],
    ['a control character in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b'],
    ['a body length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5'],
    ['a signed body length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +0'],
    ['a chunked body', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked'],
    ['a vertical tab taken for whitespace', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\x0b0'],
    ['a no-break space after the length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\xa0'],
    ['both body framings', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked'],
  ])('refused with 400: %s', (_what, head) => {
    expect(readHead(head)).toMatchObject({ ok: false, status: 400 });
  });

  test('another method with a body is read (its 405 comes from the routes), and the connection closes after the answer', () => {
    expect(readHead('POST /v1/numbers/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3')).toEqual({ ok: true, method: 'POST', target: '/v1/numbers/1', keepAlive: false });
    expect(readHead('PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive')).toMatchObject({ ok: true, keepAlive: false });
  });

  test('optional whitespace around a value is spaces and tabs, stripped from both ends only; a long run inside is kept', () => {
    expect(readHead(`GET / HTTP/1.1\r\nHost: \t x \t\r\nConnection: \t close${' '.repeat(16_000)}`)).toMatchObject({ ok: true, keepAlive: false });
    expect(readHead(`GET / HTTP/1.1\r\nHost: x\r\nX-A: a${' '.repeat(16_000)}b\r\nContent-Length: 0 `)).toMatchObject({ ok: true, keepAlive: true });
  });

  test('another major version is a 505', () => {
    expect(readHead('GET / HTTP/2.0\r\nHost: x')).toMatchObject({ ok: false, status: 505 });
  });

  test('any input gives a reading, never an exception; what is accepted has a clean method and target', () => {
    const fragments = fc.constantFrom('GET', 'HEAD', ' ', '/', '\r\n', '\r', '\n', ':', 'Host', 'HTTP/1.1', 'HTTP/1.0', 'Content-Length', '0', 'Connection', 'close', '\t', '\x00', '\xff', 'a');
    fc.assert(fc.property(fc.oneof(fc.string(), fc.array(fragments).map((parts) => parts.join(''))), (head) => {
      const reading = readHead(head);
      if (reading.ok) {
        expect(reading.method).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
        expect(reading.target).toMatch(/^[\x21-\x7e]+$/);
      } else {
        expect([400, 505]).toContain(reading.status);
        expect(reading.error.length).toBeGreaterThan(0);
      }
    }), { numRuns: 2000 });
  });
});

describe('formatResponse', () => {
  test('one JSON answer with its byte length, kept alive', () => {
    const body = '{"number":"é"}';
    const text = formatResponse({ status: 200, body, headOnly: false, keepAlive: true, date: 'Mon, 07 Dec 2026 17:00:00 GMT', keepAliveTimeoutS: 65 });
    expect(text).toBe('HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n'
      + 'Content-Length: 15\r\nDate: Mon, 07 Dec 2026 17:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\n\r\n{"number":"é"}');
  });

  test('HEAD: the head only, with the length the body would have; closing and Allow', () => {
    const text = formatResponse({ status: 405, body: '{"a":1}', headOnly: true, keepAlive: false, date: 'd', allow: 'GET, HEAD', keepAliveTimeoutS: 65 });
    expect(text).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(text).toContain('Content-Length: 7\r\n');
    expect(text).toContain('Allow: GET, HEAD\r\nConnection: close\r\n\r\n');
    expect(text.endsWith('\r\n\r\n')).toBe(true);
  });
});
