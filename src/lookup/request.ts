/**
 * A lookup request line → what to answer (pure). Anything but `GET /v1/numbers/{number}[?caller=…]`
 * and `GET /healthz` is a 4xx with a JSON reason: the listener never throws on input.
 *
 * The path and the query are percent-decoded with decodeURIComponent only: `+` stays a plus (form
 * decoding would turn `?caller=+5511…` into a space). Everything after `/v1/numbers/` is the number,
 * slashes included, so a number written `+55 11/98765-4321` is read the way the CDRs' numbers are.
 */
import { MAX_INPUT_CHARS } from '../numbers/normalise';

export type LookupRequest =
  | { readonly kind: 'lookup'; readonly number: string; readonly caller: string | undefined }
  | { readonly kind: 'health' }
  | { readonly kind: 'rejected'; readonly status: 400 | 404 | 405 | 414; readonly error: string };

/** Longer request targets are refused before any decoding (414). */
export const MAX_TARGET_CHARS = 1024;
export const NUMBERS_PATH = '/v1/numbers/';
export const HEALTH_PATH = '/healthz';
export const PATHS = [`${NUMBERS_PATH}{number}`, HEALTH_PATH] as const;

const reject = (status: 400 | 404 | 405 | 414, error: string): LookupRequest => ({ kind: 'rejected', status, error });

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

export function parseRequest(method: string | undefined, target: string | undefined): LookupRequest {
  if (target === undefined || target.length > MAX_TARGET_CHARS) return reject(414, `request target longer than ${MAX_TARGET_CHARS} characters`);
  if (method !== 'GET' && method !== 'HEAD') return reject(405, 'method not allowed: use GET');
  const question = target.indexOf('?');
  const path = question < 0 ? target : target.slice(0, question);
  const query = question < 0 ? '' : target.slice(question + 1);
  if (path === HEALTH_PATH) return query === '' ? { kind: 'health' } : reject(400, 'no parameters on /healthz');
  if (!path.startsWith(NUMBERS_PATH)) return reject(404, `not found: the paths are ${PATHS.join(' and ')}`);

  const number = decode(path.slice(NUMBERS_PATH.length));
  if (number === null) return reject(400, 'bad percent-encoding in the number');
  if (number.trim() === '') return reject(400, 'no number after /v1/numbers/');
  if (number.length > MAX_INPUT_CHARS) return reject(400, `number longer than ${MAX_INPUT_CHARS} characters`);

  let caller: string | undefined;
  let seen = false;
  for (const part of query === '' ? [] : query.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name !== 'caller') return reject(400, `unknown parameter ${JSON.stringify(name.slice(0, 32))}: the only one is caller`);
    if (seen) return reject(400, 'caller given twice');
    seen = true;
    const value = decode(eq < 0 ? '' : part.slice(eq + 1));
    if (value === null) return reject(400, 'bad percent-encoding in caller');
    if (value.length > MAX_INPUT_CHARS) return reject(400, `caller longer than ${MAX_INPUT_CHARS} characters`);
    // An empty caller (an anonymous From) is no caller: the burst rule is skipped.
    caller = value.trim() === '' ? undefined : value;
  }
  return { kind: 'lookup', number, caller };
}
