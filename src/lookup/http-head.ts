/**
 * The lookup listener's HTTP/1.1, as pure code: one request head (request line and header fields,
 * up to the blank line) read strictly, and one response written whole.
 *
 * The listener answers one GET with a body it already holds, so it needs a small part of HTTP:
 * no request bodies (a `Content-Length` other than 0 or any `Transfer-Encoding` closes the
 * connection after the answer: a body we do not read would be taken for the next request), keep-alive by
 * the version's default and `Connection`, and HEAD. Everything else about the message is checked
 * as RFC 9112 asks of a server, so a message a proxy in front of us might read differently
 * (smuggling) is refused rather than guessed at.
 */

export type HeadReading =
  | { readonly ok: true; readonly method: string; readonly target: string; readonly keepAlive: boolean }
  | { readonly ok: false; readonly status: 400 | 505; readonly error: string };

/** A field name or method: RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A request target: visible ASCII only (no spaces, no controls, no bytes above 0x7E). */
const TARGET = /^[\x21-\x7e]+$/;
/** A field value after the optional whitespace around it: visible characters, spaces, tabs and obs-text. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const VERSION = /^HTTP\/(\d)\.(\d)$/;

/**
 * `text` from `start`, without the spaces and tabs around it: optional whitespace is those two only
 * (String.trim would also take \v, \f, NBSP…). Two index walks, linear on any input (a regex
 * anchored at the end is retried at every space of a long run).
 */
function withoutOptionalWhitespace(text: string, start: number): string {
  let from = start;
  let to = text.length;
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from += 1;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to -= 1;
  return text.slice(from, to);
}

const refuse = (error: string, status: 400 | 505 = 400): HeadReading => ({ ok: false, status, error });

/** The connection options a `Connection` value lists, lower-cased. */
function connectionOptions(value: string): string[] {
  return value.split(',').map((option) => option.trim().toLowerCase());
}

/**
 * A request head as it arrived (latin1: one character per byte), without the final CRLF CRLF.
 * Leading empty lines are skipped, as RFC 9112 §2.2 allows.
 */
export function readHead(head: string): HeadReading {
  let start = 0;
  while (head.startsWith('\r\n', start)) start += 2;
  const lines = head.slice(start).split('\r\n');
  const requestLine = lines[0]!;
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return refuse('malformed HTTP request');
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) return refuse('malformed HTTP request');
  if (!TARGET.test(target)) return refuse('malformed HTTP request');
  const versionMatch = VERSION.exec(version);
  if (versionMatch === null) return refuse('malformed HTTP request');
  if (versionMatch[1] !== '1') return refuse('HTTP version not supported: use HTTP/1.1', 505);
  const http11 = versionMatch[2] !== '0';

  let host = 0;
  let body = false;
  let connection: string[] = [];
  for (let i = 1; i < lines.length; i += 1) {
    const line = lines[i]!;
    // A bare CR or LF, or a line folded onto the one before (obs-fold): refused, never guessed at.
    if (line.includes('\r') || line.includes('\n')) return refuse('malformed HTTP request');
    if (line.startsWith(' ') || line.startsWith('\t')) return refuse('malformed HTTP request');
    const colon = line.indexOf(':');
    // No whitespace between the name and the colon (RFC 9112 §5.1): a known smuggling vector.
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return refuse('malformed HTTP request');
    const value = withoutOptionalWhitespace(line, colon + 1);
    if (!FIELD_VALUE.test(value)) return refuse('malformed HTTP request');
    switch (line.slice(0, colon).toLowerCase()) {
      case 'host':
        host += 1;
        break;
      case 'content-length':
        if (value !== '0') body = true;
        break;
      case 'transfer-encoding':
        body = true;
        break;
      case 'connection':
        connection = connection.concat(connectionOptions(value));
        break;
      default:
        break;
    }
  }
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (Node's own server asks the same).
  if (http11 ? host !== 1 : host > 1) return refuse('malformed HTTP request: one Host header is required');
  // A body is never read: it would be taken for the next request. A GET or HEAD with one is
  // refused; another method gets its 405 as usual. Either way the connection closes after the answer.
  if (body && (method === 'GET' || method === 'HEAD')) return refuse('request bodies are not accepted');
  const keepAlive = body || connection.includes('close') ? false : http11 || connection.includes('keep-alive');
  return { ok: true, method, target, keepAlive };
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  414: 'URI Too Long', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
};

export interface JsonResponse {
  readonly status: number;
  readonly body: string;
  /** HEAD: the head only, with the body's length. */
  readonly headOnly: boolean;
  readonly keepAlive: boolean;
  /** Sent seconds-exact as an origin server must (RFC 9110 §6.6.1); the caller caches it per second. */
  readonly date: string;
  readonly allow?: string;
  readonly keepAliveTimeoutS: number;
}

/** One response, head and body, as one string: one write, one segment for a small answer. */
export function formatResponse(response: JsonResponse): string {
  const length = Buffer.byteLength(response.body);
  const connection = response.keepAlive ? `Connection: keep-alive\r\nKeep-Alive: timeout=${response.keepAliveTimeoutS}\r\n` : 'Connection: close\r\n';
  const allow = response.allow === undefined ? '' : `Allow: ${response.allow}\r\n`;
  return `HTTP/1.1 ${response.status} ${REASON_PHRASES[response.status] ?? 'Error'}\r\n`
    + `Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: ${length}\r\n`
    + `Date: ${response.date}\r\n${allow}${connection}\r\n${response.headOnly ? '' : response.body}`;
}
