/**
 * The SIP ladder of one call, from its stored raw events (pure): who sent each message to whom
 * through the proxy, with its µs time. Each quick-billing-log event is one message the proxy
 * handled, drawn as one arrow from the sending side through the proxy to the other side.
 *
 * Directions: an INVITE or BYE request goes from the side its `direction` names (`downstream`:
 * the caller's); a reply travels back against the latest request of its method before it (an
 * INVITE reply without a stored INVITE goes to the caller). acc events are the proxy's own
 * accounting, shown as notes, not arrows.
 */
import { parseUs } from '../../correlators/cdr';
import type { EventRow } from '../stores/store';

export type Party = 'caller' | 'callee';

export interface LadderArrow {
  readonly timeUs: number;
  readonly time: string;
  /** Since the first event of the call, µs. */
  readonly offsetUs: number;
  readonly from: Party;
  readonly to: Party;
  readonly method: 'INVITE' | 'BYE';
  readonly request: boolean;
  readonly code: number | null;
  /** `INVITE`, `180 Ringing`, `200 OK`, `BYE`, `200 OK (BYE)`. */
  readonly label: string;
  /** The same message seen again (a retransmission). */
  readonly repeat: boolean;
  readonly eventId: string;
}

export interface LadderNote {
  readonly timeUs: number;
  readonly time: string;
  readonly offsetUs: number;
  readonly text: string;
  readonly eventId: string;
}

export interface Ladder {
  readonly callId: string;
  readonly arrows: readonly LadderArrow[];
  readonly notes: readonly LadderNote[];
}

const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  200: 'OK', 202: 'Accepted', 300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  407: 'Proxy Authentication Required', 408: 'Request Timeout', 410: 'Gone', 415: 'Unsupported Media Type',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 483: 'Too Many Hops',
  484: 'Address Incomplete', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Server Time-out', 600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
};

export function replyLabel(code: number): string {
  return REASONS[code] === undefined ? String(code) : `${code} ${REASONS[code]}`;
}

const other = (party: Party): Party => (party === 'caller' ? 'callee' : 'caller');
const sender = (direction: string | null, fallback: Party): Party =>
  direction === 'downstream' ? 'caller' : direction === 'upstream' ? 'callee' : fallback;

export function buildLadder(callId: string, events: readonly EventRow[]): Ladder {
  const sorted = [...events].sort((a, b) => (parseUs(a.time) ?? 0) - (parseUs(b.time) ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const firstUs = sorted.length > 0 ? parseUs(sorted[0]!.time) ?? 0 : 0;
  const arrows: LadderArrow[] = [];
  const notes: LadderNote[] = [];
  const lastRequestFrom: Record<'INVITE' | 'BYE', Party | null> = { INVITE: null, BYE: null };
  const seen = new Set<string>();
  for (const event of sorted) {
    const timeUs = parseUs(event.time) ?? firstUs;
    const base = { timeUs, time: event.time, offsetUs: timeUs - firstUs, eventId: event.id };
    if (!['invite_request', 'invite_reply', 'bye_request', 'bye_reply'].includes(event.kind)) {
      notes.push({ ...base, text: `${event.event_name}${event.reply_code === null ? '' : ` ${event.reply_code}`} (accounting)` });
      continue;
    }
    const method = event.kind.startsWith('invite') ? 'INVITE' : 'BYE';
    const request = event.kind.endsWith('request');
    let from: Party;
    if (request) {
      from = sender(event.direction, 'caller');
      lastRequestFrom[method] = from;
    } else {
      // Against the request it answers; without one, an INVITE reply comes from the callee, and a
      // BYE reply's direction is read as its transaction's (OpenSIPS's convention), so it goes back.
      const requestFrom = lastRequestFrom[method] ?? (method === 'INVITE' ? 'caller' : sender(event.direction, 'caller'));
      from = other(requestFrom);
    }
    const code = request ? null : event.reply_code;
    const label = request ? method : `${code === null ? 'reply' : replyLabel(code)}${method === 'BYE' ? ' (BYE)' : ''}`;
    const key = `${method}|${request}|${code}|${from}`;
    const repeat = seen.has(key) && (request || (code !== null && code >= 200));
    seen.add(key);
    arrows.push({ ...base, from, to: other(from), method, request, code, label, repeat });
  }
  return { callId, arrows, notes };
}

/** `+1.234567 s` since the first event. */
export function formatOffset(offsetUs: number): string {
  const whole = Math.floor(offsetUs / 1_000_000);
  return `+${whole}.${String(offsetUs - whole * 1_000_000).padStart(6, '0')} s`;
}
