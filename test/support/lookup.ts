/** Builders for the number-lookup tests: CDRs as the pipeline commits them, and lookups over HTTP. */
import { connect } from 'node:net';
import { cdrIdFor, formatUs, EMPTY_EXTRAS, type CdrRecord, type Disposition } from '../../correlators/cdr';
import { httpGet } from './http';

export interface CallSpec {
  readonly callId: string;
  readonly caller: string;
  readonly callee: string;
  readonly startUs: number;
  readonly code: number | null;
  /** Talk time of an answered call (ignored otherwise). */
  readonly talkUs?: number;
  readonly calleeE164?: string | null;
  readonly callerE164?: string | null;
}

function dispositionOf(code: number | null): Disposition {
  if (code === null) return 'unknown';
  if (code < 300) return 'answered';
  if (code === 486 || code === 600) return 'busy';
  if (code === 408 || code === 480) return 'no_answer';
  if (code === 487) return 'cancelled';
  return 'failed';
}

/** A closed call's CDR, as the pipeline hands it to the store and to the commit hook. */
export function cdrRecord(spec: CallSpec): CdrRecord {
  const answered = spec.code !== null && spec.code < 300;
  const setupUs = 2_000_000;
  const talkUs = answered ? spec.talkUs ?? 60_000_000 : 0;
  const endUs = spec.startUs + setupUs + talkUs;
  return {
    startUs: spec.startUs,
    cdr: {
      cdr_id: cdrIdFor(spec.callId), call_id: spec.callId, caller: spec.caller, callee: spec.callee,
      disposition: dispositionOf(spec.code), final_code: spec.code,
      invite_at: formatUs(spec.startUs), ringing_at: null, answer_at: answered ? formatUs(spec.startUs + setupUs) : null,
      end_at: formatUs(endUs), pdd_us: null, setup_us: setupUs, talk_us: talkUs, total_us: endUs - spec.startUs,
      bye_code: answered ? 200 : null, hangup_by: answered ? 'caller' : null, closed_by: answered ? 'bye' : 'final_reply',
      complete: true, events: answered ? 4 : 2, source: 'qbl',
    },
    extras: { ...EMPTY_EXTRAS, caller_e164: spec.callerE164 ?? null, callee_e164: spec.calleeE164 ?? null },
  };
}

export interface LookupReply {
  readonly status: number;
  readonly contentType: string;
  readonly json: Record<string, unknown>;
}

export async function lookup(port: number, path: string, method = 'GET'): Promise<LookupReply> {
  const answer = await httpGet(port, path, method);
  return { status: answer.status, contentType: answer.contentType, json: answer.body === '' ? {} : JSON.parse(answer.body) as Record<string, unknown> };
}

export function numberPath(number: string, caller?: string): string {
  return `/v1/numbers/${encodeURIComponent(number)}${caller === undefined ? '' : `?caller=${encodeURIComponent(caller)}`}`;
}

/** Sends raw bytes and returns everything the server writes back until it closes (or `timeoutMs`). */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.write(bytes);
  });
}
