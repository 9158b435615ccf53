/**
 * Three hand-made calls, in arrival order (which is not event order), built with our own wire
 * encoders: an answered call whose 180 arrives before its INVITE, with an acc CDR; a busy call
 * in the 2.x text layout with numbers dialled with international prefixes; a call nobody
 * answered (the proxy's 408, the callee's 487 a moment later) with an acc missed-call event.
 * They reproduce the workplace's shared samples byte for byte (test/unit/shared-samples.test.ts);
 * their CDRs were worked out by hand from the CDR contract.
 */
import { existsSync } from 'node:fs';
import { cdrIdFor, type Cdr, type CdrExtras } from '../../correlators/cdr';
import { encodeJsonRpc, encodeText, type WireParams } from '../../src/simulator/opensips-wire';

export interface SampleMessage {
  routingKey: string;
  body: Buffer;
}

const ANSWERED = '7f3a9c1e-answered@10.1.2.3';
const BUSY = '0c44e2d0-busy@10.1.2.3';
const NO_ANSWER = '5be0-noanswer@10.1.2.3';

/** A quick-billing-log event as the operator's script assigns it (see docs/opensips.md). */
function qbl(method: 'INVITE' | 'BYE', callId: string, caller: string, callee: string, timeField: string,
  seconds: number, micros: number, replyCode?: number): WireParams {
  const params: Array<[string, string | number]> = [
    ['method', method], ['direction', 'downstream'], ['call_id', callId], ['caller_id', caller], ['callee_id', callee],
    [timeField, seconds], ['microseconds', micros],
  ];
  if (replyCode !== undefined) params.push(['reply_code', replyCode]);
  return params;
}

function json(event: string, params: WireParams): Buffer {
  return encodeJsonRpc(event, params);
}

/** acc publishes its parameters in order (method first); encodeJsonRpc writes assignments reversed. */
function acc(event: string, params: WireParams): Buffer {
  return encodeJsonRpc(event, [...params].reverse());
}

export function readSamples(): SampleMessage[] {
  const a = (time: string, s: number, us: number, method: 'INVITE' | 'BYE', code?: number) =>
    qbl(method, ANSWERED, '+5511987654321', '551133334444', time, s, us, code);
  const n = (time: string, s: number, us: number, code?: number) => qbl('INVITE', NO_ANSWER, 'alice', 'bob', time, s, us, code);
  const b = (time: string, s: number, us: number, code?: number) =>
    qbl('INVITE', BUSY, '0055119876543', '011551133335555', time, s, us, code);
  return [
    { routingKey: 'opensips.qbl.invite.reply', body: json('E_QBL_INVITE_REPLY', a('reply_time', 1796000000, 48211, 'INVITE', 180)) },
    { routingKey: 'opensips.qbl.invite.request', body: json('E_QBL_INVITE_REQUEST', a('request_time', 1795999999, 912345, 'INVITE')) },
    { routingKey: 'opensips.qbl.invite.reply', body: json('E_QBL_INVITE_REPLY', a('reply_time', 1796000004, 7003, 'INVITE', 200)) },
    { routingKey: 'opensips.qbl.bye.request', body: json('E_QBL_BYE_REQUEST', a('request_time', 1796000065, 500000, 'BYE')) },
    { routingKey: 'opensips.qbl.bye.reply', body: json('E_QBL_BYE_REPLY', a('reply_time', 1796000065, 501234, 'BYE', 200)) },
    {
      routingKey: 'opensips.acc',
      body: acc('E_ACC_CDR', [
        ['method', 'INVITE'], ['from_tag', 'a1b2'], ['to_tag', 'c3d4'], ['callid', ANSWERED], ['sip_code', '200'], ['sip_reason', 'OK'],
        ['time', 1796000004], ['caller_id', '+5511987654321'], ['callee_id', '551133334444'],
        ['duration', 62], ['ms_duration', 61493], ['setuptime', 5], ['created', 1795999999],
      ]),
    },
    { routingKey: 'opensips.qbl.invite.request', body: encodeText('E_QBL_INVITE_REQUEST', b('request_time', 1796000010, 120)) },
    { routingKey: 'opensips.qbl.invite.reply', body: encodeText('E_QBL_INVITE_REPLY', b('reply_time', 1796000010, 98001, 486)) },
    { routingKey: 'opensips.qbl.invite.request', body: json('E_QBL_INVITE_REQUEST', n('request_time', 1796000020, 1)) },
    { routingKey: 'opensips.qbl.invite.reply', body: json('E_QBL_INVITE_REPLY', n('reply_time', 1796000020, 2201, 180)) },
    { routingKey: 'opensips.qbl.invite.reply', body: json('E_QBL_INVITE_REPLY', n('reply_time', 1796000050, 330150, 487)) },
    { routingKey: 'opensips.qbl.invite.reply', body: json('E_QBL_INVITE_REPLY', n('reply_time', 1796000050, 329880, 408)) },
    {
      routingKey: 'opensips.acc',
      body: acc('E_ACC_MISSED_EVENT', [
        ['method', 'INVITE'], ['from_tag', 'f00d'], ['to_tag', null], ['callid', NO_ANSWER], ['sip_code', '408'],
        ['sip_reason', 'Request Timeout'], ['time', 1796000050], ['caller_id', 'alice'], ['callee_id', 'bob'],
        ['setuptime', 30], ['created', 1796000020],
      ]),
    },
  ];
}

/**
 * A copy of the published sample stream to compare ours with, named by QBL_SHARED_SAMPLES (never
 * needed by the suite, and never looked for outside this repository).
 */
export function sharedSamplesPath(): string | undefined {
  const path = process.env.QBL_SHARED_SAMPLES;
  return path !== undefined && existsSync(path) ? path : undefined;
}

export const EXPECTED_SAMPLE_CDRS: Cdr[] = [
  {
    cdr_id: cdrIdFor(ANSWERED), call_id: ANSWERED,
    caller: '+5511987654321', callee: '551133334444', disposition: 'answered', final_code: 200,
    invite_at: '2026-11-30T00:53:19.912345Z', ringing_at: '2026-11-30T00:53:20.048211Z',
    answer_at: '2026-11-30T00:53:24.007003Z', end_at: '2026-11-30T00:54:25.500000Z',
    pdd_us: 135_866, setup_us: 4_094_658, talk_us: 61_492_997, total_us: 65_587_655,
    bye_code: 200, hangup_by: 'caller', closed_by: 'bye', complete: true, events: 6, source: 'qbl',
  },
  {
    cdr_id: cdrIdFor(BUSY), call_id: BUSY,
    caller: '0055119876543', callee: '011551133335555', disposition: 'busy', final_code: 486,
    invite_at: '2026-11-30T00:53:30.000120Z', ringing_at: null, answer_at: null, end_at: '2026-11-30T00:53:30.098001Z',
    pdd_us: null, setup_us: 97_881, talk_us: 0, total_us: 97_881,
    bye_code: null, hangup_by: null, closed_by: 'final_reply', complete: true, events: 2, source: 'qbl',
  },
  {
    cdr_id: cdrIdFor(NO_ANSWER), call_id: NO_ANSWER,
    caller: 'alice', callee: 'bob', disposition: 'no_answer', final_code: 408,
    invite_at: '2026-11-30T00:53:40.000001Z', ringing_at: '2026-11-30T00:53:40.002201Z', answer_at: null,
    end_at: '2026-11-30T00:54:10.329880Z',
    pdd_us: 2_200, setup_us: 30_329_879, talk_us: 0, total_us: 30_329_879,
    bye_code: null, hangup_by: null, closed_by: 'final_reply', complete: true, events: 5, source: 'qbl',
  },
];

export const EXPECTED_SAMPLE_EXTRAS: Record<string, Partial<CdrExtras>> = {
  [ANSWERED]: { acc_duration_ms: 61_493, acc_setup_ms: 5_000, acc_code: 200, acc_mismatch: false },
  [BUSY]: { acc_duration_ms: null, acc_code: null, acc_mismatch: null },
  [NO_ANSWER]: { acc_duration_ms: 0, acc_setup_ms: 30_000, acc_code: 408, acc_mismatch: false },
};
