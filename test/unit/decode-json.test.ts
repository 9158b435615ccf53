/** JSON-RPC bodies (OpenSIPS 3.1.1+): samples, the spec example, every reason code and each documented decision. */
import type { CallEvent } from '../../correlators/events';
import { decodeMessage, type DecodeResult } from '../../consumers/decode/decode';
import { eventIdFor } from '../../consumers/decode/event-id';
import { DEFAULT_ATTRIBUTE_NAMES, DEFAULT_DECODER_OPTIONS, type DecoderOptions } from '../../consumers/decode/options';
import { readSamples } from '../support/samples';

type Expected = Omit<CallEvent, 'id'>;

function decode(body: string | Buffer | object, options: DecoderOptions = DEFAULT_DECODER_OPTIONS): DecodeResult {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return decodeMessage(bytes, options);
}

function expectEvent(result: DecodeResult, expected: Expected): CallEvent {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.detail}`);
  expect(result.event).toEqual({ ...expected, id: eventIdFor(expected) });
  return result.event;
}

function expectReason(result: DecodeResult, reason: string, detail?: RegExp): void {
  expect(result).toMatchObject({ ok: false, reason });
  if (detail && !result.ok) expect(result.detail).toMatch(detail);
}

const qbl = (fields: Partial<Expected> & Pick<Expected, 'kind' | 'callId' | 'timeUs'>): Expected => ({
  caller: null, callee: null, replyCode: null, direction: null, acc: null, ...fields,
});

/** A valid INVITE reply whose params can be overridden (undefined removes a key). */
function inviteReply(overrides: Record<string, unknown> = {}, method = 'E_QBL_INVITE_REPLY'): object {
  const params: Record<string, unknown> = {
    reply_code: 200, microseconds: 657962, reply_time: 1795757055, callee_id: 'bob', caller_id: 'alice',
    call_id: 'a84b4c76e66710@pc33', direction: 'downstream', method: 'INVITE', ...overrides,
  };
  for (const key of Object.keys(params)) if (params[key] === undefined) delete params[key];
  return { jsonrpc: '2.0', method, params };
}

const SPEC_EVENT = qbl({
  kind: 'invite_reply', callId: 'a84b4c76e66710@pc33', timeUs: 1795757055_657962, caller: 'alice', callee: 'bob',
  replyCode: 200, direction: 'downstream',
});

describe('samples/events.ndjson (JSON lines)', () => {
  const bodies = readSamples().map((message) => message.body.toString('utf8'));
  const answered = { callId: '7f3a9c1e-answered@10.1.2.3', caller: '+5511987654321', callee: '551133334444', direction: 'downstream' as const };
  const noAnswer = { callId: '5be0-noanswer@10.1.2.3', caller: 'alice', callee: 'bob', direction: 'downstream' as const };
  const expected: Array<[number, string, Expected]> = [
    [0, 'E_QBL_INVITE_REPLY', qbl({ ...answered, kind: 'invite_reply', timeUs: 1796000000_048211, replyCode: 180 })],
    [1, 'E_QBL_INVITE_REQUEST', qbl({ ...answered, kind: 'invite_request', timeUs: 1795999999_912345 })],
    [2, 'E_QBL_INVITE_REPLY', qbl({ ...answered, kind: 'invite_reply', timeUs: 1796000004_007003, replyCode: 200 })],
    [3, 'E_QBL_BYE_REQUEST', qbl({ ...answered, kind: 'bye_request', timeUs: 1796000065_500000 })],
    [4, 'E_QBL_BYE_REPLY', qbl({ ...answered, kind: 'bye_reply', timeUs: 1796000065_501234, replyCode: 200 })],
    [5, 'E_ACC_CDR', {
      ...answered, kind: 'acc_cdr', timeUs: 1796000004_000000, replyCode: 200, direction: null,
      acc: { method: 'INVITE', durationS: 62, durationMs: 61493, setupS: 5, createdS: 1795999999, sipReason: 'OK' },
    }],
    [8, 'E_QBL_INVITE_REQUEST', qbl({ ...noAnswer, kind: 'invite_request', timeUs: 1796000020_000001 })],
    [9, 'E_QBL_INVITE_REPLY', qbl({ ...noAnswer, kind: 'invite_reply', timeUs: 1796000020_002201, replyCode: 180 })],
    [10, 'E_QBL_INVITE_REPLY', qbl({ ...noAnswer, kind: 'invite_reply', timeUs: 1796000050_330150, replyCode: 487 })],
    [11, 'E_QBL_INVITE_REPLY', qbl({ ...noAnswer, kind: 'invite_reply', timeUs: 1796000050_329880, replyCode: 408 })],
    [12, 'E_ACC_MISSED_EVENT', {
      ...noAnswer, kind: 'acc_missed', timeUs: 1796000050_000000, replyCode: 408, direction: null,
      acc: { method: 'INVITE', durationS: null, durationMs: null, setupS: 30, createdS: 1796000020, sipReason: 'Request Timeout' },
    }],
  ];

  it.each(expected)('line %i (%s) decodes to the expected event', (line, eventName, event) => {
    const result = decode(bodies[line]);
    expectEvent(result, event);
    expect(result.ok && result.eventName).toBe(eventName);
  });

  it('gives every sample event its own id', () => {
    const ids = bodies.map((body) => { const result = decode(body); return result.ok ? result.event.id : result.reason; });
    expect(new Set(ids).size).toBe(bodies.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('JSON-RPC fields', () => {
  it('decodes the spec example', () => {
    expectEvent(decode(inviteReply()), SPEC_EVENT);
  });

  it('combines microseconds arithmetically (values below 100000 are not zero-padded)', () => {
    expectEvent(decode(inviteReply({ microseconds: 7003 })), { ...SPEC_EVENT, timeUs: 1795757055_007003 });
    expectEvent(decode(inviteReply({ microseconds: 0 })), { ...SPEC_EVENT, timeUs: 1795757055_000000 });
    expectEvent(decode(inviteReply({ microseconds: 999999 })), { ...SPEC_EVENT, timeUs: 1795757055_999999 });
  });

  it('accepts numbers as strings of digits', () => {
    expectEvent(decode(inviteReply({ reply_code: '200', reply_time: '1795757055', microseconds: '657962' })), SPEC_EVENT);
  });

  it('reads missing microseconds as 0', () => {
    expectEvent(decode(inviteReply({ microseconds: undefined })), { ...SPEC_EVENT, timeUs: 1795757055_000000 });
    expectEvent(decode(inviteReply({ microseconds: null })), { ...SPEC_EVENT, timeUs: 1795757055_000000 });
  });

  it('falls back to the other time attribute only when its own is absent', () => {
    expectEvent(decode(inviteReply({ reply_time: undefined, request_time: 1795757055 })), SPEC_EVENT);
    expectEvent(decode(inviteReply({ reply_time: null, request_time: 1795757055 })), SPEC_EVENT);
    // Both present: a reply uses reply_time.
    expectEvent(decode(inviteReply({ request_time: 1795757000 })), SPEC_EVENT);
    // Present but invalid: no fallback.
    expectReason(decode(inviteReply({ reply_time: 'soon', request_time: 1795757055 })), 'decode.bad_time', /reply_time/);
  });

  it('accepts a missing jsonrpc member and 3.1.0\'s "id":null', () => {
    expectEvent(decode('{"method":"E_QBL_INVITE_REPLY","params":' + JSON.stringify((inviteReply() as { params: object }).params) + '}'), SPEC_EVENT);
    expectEvent(decode({ id: null, ...inviteReply() }), SPEC_EVENT);
  });

  it('keeps the first of duplicate keys (the script\'s latest assignment)', () => {
    const body = '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":{"reply_code":200,"reply_code":180,"microseconds":657962,'
      + '"reply_time":1795757055,"callee_id":"bob","caller_id":"alice","call_id":"a84b4c76e66710@pc33","call_id":"older",'
      + '"direction":"downstream","method":"INVITE"}}';
    expectEvent(decode(body), SPEC_EVENT);
  });

  it('keeps nested string content intact when rebuilding duplicates', () => {
    const body = '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST","params":{"x":{"a":["}",","]},"call_id":"c\\"1,}",'
      + '"call_id":"old","request_time":1795757055}}';
    expectEvent(decode(body), qbl({ kind: 'invite_request', callId: 'c"1,}', timeUs: 1795757055_000000 }));
  });

  it('maps direction case-insensitively, anything else to null', () => {
    expectEvent(decode(inviteReply({ direction: 'UpStream' })), { ...SPEC_EVENT, direction: 'upstream' });
    expectEvent(decode(inviteReply({ direction: 'sideways' })), { ...SPEC_EVENT, direction: null });
    expectEvent(decode(inviteReply({ direction: 3 })), { ...SPEC_EVENT, direction: null });
  });

  it('turns numeric caller/callee and call_id into strings, empty or odd types into null', () => {
    expectEvent(decode(inviteReply({ caller_id: 5511, callee_id: '', call_id: 42 })),
      { ...SPEC_EVENT, caller: '5511', callee: null, callId: '42' });
    expectEvent(decode(inviteReply({ caller_id: { a: 1 }, callee_id: true })), { ...SPEC_EVENT, caller: null, callee: null });
  });

  it('ignores reply_code on request kinds', () => {
    expectEvent(decode(inviteReply({ reply_code: 999, request_time: 1795757055, reply_time: undefined }, 'E_QBL_INVITE_REQUEST')),
      { ...SPEC_EVENT, kind: 'invite_request', replyCode: null });
  });

  it('decodes invalid UTF-8 with replacement characters instead of rejecting', () => {
    const body = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":{"reply_code":200,"microseconds":657962,"reply_time":1795757055,"caller_id":"al'),
      Buffer.from([0xff, 0xc3]), Buffer.from('ice","call_id":"a84b4c76e66710@pc33","callee_id":"bob","direction":"downstream"}}'),
    ]);
    expectEvent(decode(body), { ...SPEC_EVENT, caller: 'al\ufffd\ufffdice' });
  });
});

describe('event-name mapping', () => {
  const auto: DecoderOptions = { ...DEFAULT_DECODER_OPTIONS, eventNames: new Map([['E_QBL', 'auto']]) };
  const base = { call_id: 'c1', request_time: 1795757055, reply_time: 1795757056, microseconds: 5 };

  it.each([
    ['INVITE', undefined, 'invite_request', 1795757055_000005, null],
    ['invite', 183, 'invite_reply', 1795757056_000005, 183],
    ['BYE', undefined, 'bye_request', 1795757055_000005, null],
    ['Bye', '200', 'bye_reply', 1795757056_000005, 200],
  ] as const)("'auto': method %s with reply_code %s is %s", (method, replyCode, kind, timeUs, code) => {
    const result = decode({ jsonrpc: '2.0', method: 'E_QBL', params: { ...base, method, reply_code: replyCode } }, auto);
    expectEvent(result, qbl({ kind, callId: 'c1', timeUs, replyCode: code }));
  });

  it("'auto' rejects an event whose method is neither INVITE nor BYE", () => {
    expectReason(decode({ jsonrpc: '2.0', method: 'E_QBL', params: { ...base, method: 'OPTIONS' } }, auto), 'decode.bad_field', /method/);
    expectReason(decode({ jsonrpc: '2.0', method: 'E_QBL', params: base }, auto), 'decode.bad_field', /method/);
  });

  it('uses a custom attribute map', () => {
    const options: DecoderOptions = {
      ...DEFAULT_DECODER_OPTIONS,
      eventNames: new Map([['MY_REPLY', 'invite_reply']]),
      attributeNames: { ...DEFAULT_ATTRIBUTE_NAMES, call_id: 'cid', reply_time: 'ts', microseconds: 'us', reply_code: 'code', caller_id: 'from', direction: 'dir' },
    };
    const result = decode({ jsonrpc: '2.0', method: 'MY_REPLY', params: { cid: 'x@y', ts: 1795757055, us: 12, code: 486, from: 'a', dir: 'upstream', call_id: 'ignored' } }, options);
    expectEvent(result, qbl({ kind: 'invite_reply', callId: 'x@y', timeUs: 1795757055_000012, replyCode: 486, caller: 'a', direction: 'upstream' }));
    expectReason(decode(inviteReply(), options), 'decode.unknown_event', /E_QBL_INVITE_REPLY/);
  });
});

describe('acc events', () => {
  const accCdr = {
    method: 'INVITE', from_tag: '2877SIPpTag001', to_tag: '2877SIPpTag011', callid: 'a84b4c76e66710@pc33', sip_code: '200',
    sip_reason: 'OK', time: 1795757055, caller_id: 'alice', callee_id: 'bob', duration: 3, ms_duration: 2006, setuptime: 0, created: 1795757055,
  };

  it('decodes the spec E_ACC_CDR example', () => {
    expectEvent(decode({ jsonrpc: '2.0', method: 'E_ACC_CDR', params: accCdr }), {
      kind: 'acc_cdr', callId: 'a84b4c76e66710@pc33', timeUs: 1795757055_000000, caller: 'alice', callee: 'bob', replyCode: 200, direction: null,
      acc: { method: 'INVITE', durationS: 3, durationMs: 2006, setupS: 0, createdS: 1795757055, sipReason: 'OK' },
    });
  });

  it('decodes E_ACC_EVENT for a BYE with null caller and callee', () => {
    const params = { method: 'BYE', from_tag: 'a', to_tag: 'b', callid: 'c1', sip_code: '200', sip_reason: 'OK', time: 1795757100, caller_id: null, callee_id: null };
    expectEvent(decode({ jsonrpc: '2.0', method: 'E_ACC_EVENT', params }), {
      kind: 'acc_event', callId: 'c1', timeUs: 1795757100_000000, caller: null, callee: null, replyCode: 200, direction: null,
      acc: { method: 'BYE', durationS: null, durationMs: null, setupS: null, createdS: null, sipReason: 'OK' },
    });
  });

  it('decodes E_ACC_MISSED_EVENT with a null to_tag', () => {
    const params = { method: 'INVITE', from_tag: 'f00d', to_tag: null, callid: 'c2', sip_code: '408', sip_reason: 'Request Timeout', time: 1796000050, caller_id: 'alice', callee_id: 'bob', setuptime: 30, created: 1796000020 };
    expectEvent(decode({ jsonrpc: '2.0', method: 'E_ACC_MISSED_EVENT', params }), {
      kind: 'acc_missed', callId: 'c2', timeUs: 1796000050_000000, caller: 'alice', callee: 'bob', replyCode: 408, direction: null,
      acc: { method: 'INVITE', durationS: null, durationMs: null, setupS: 30, createdS: 1796000020, sipReason: 'Request Timeout' },
    });
  });

  it('takes caller and callee from the configured attribute names', () => {
    const options = { ...DEFAULT_DECODER_OPTIONS, attributeNames: { ...DEFAULT_ATTRIBUTE_NAMES, caller_id: 'src', callee_id: 'dst' } };
    const result = decode({ jsonrpc: '2.0', method: 'E_ACC_CDR', params: { ...accCdr, src: '+55', dst: '011' } }, options);
    expect(result.ok && [result.event.caller, result.event.callee]).toEqual(['+55', '011']);
  });

  it('rejects broken acc fields with their reason', () => {
    const body = (params: object) => ({ jsonrpc: '2.0', method: 'E_ACC_CDR', params: { ...accCdr, ...params } });
    expectReason(decode(body({ callid: null })), 'decode.no_call_id', /callid/);
    expectReason(decode(body({ time: 12 })), 'decode.bad_time', /time/);
    expectReason(decode(body({ sip_code: 'OK' })), 'decode.bad_field', /sip_code/);
    expectReason(decode(body({ sip_code: undefined })), 'decode.bad_field', /sip_code/);
    expectReason(decode(body({ ms_duration: -1 })), 'decode.bad_field', /ms_duration/);
    expectReason(decode(body({ duration: 1.5 })), 'decode.bad_field', /duration/);
  });
});

describe('dead-letter reasons', () => {
  it('decode.too_large: checked before parsing', () => {
    const options = { ...DEFAULT_DECODER_OPTIONS, maxBodyBytes: 100 };
    expectReason(decode('{' + ' '.repeat(100), options), 'decode.too_large', /101 bytes/);
    expect(decode(Buffer.from(JSON.stringify(inviteReply())), { ...DEFAULT_DECODER_OPTIONS, maxBodyBytes: 10_000 }).ok).toBe(true);
  });

  it.each([
    ['{"jsonrpc":"2.0",', 'truncated'],
    ['{"a":1}}', 'trailing brace'],
    ["  {'single':'quotes'}", 'single quotes after blanks'],
    ['[1,2', 'an unterminated array'],
  ])('decode.not_json: %s (%s)', (body) => {
    expectReason(decode(body), 'decode.not_json', /does not parse/);
  });

  it.each([
    ['[1,2]', /not an object/],
    ['{"jsonrpc":"1.0","method":"E_QBL_INVITE_REPLY"}', /jsonrpc/],
    ['{"jsonrpc":"2.0","params":{}}', /method is absent/],
    ['{"jsonrpc":"2.0","method":7}', /method is 7/],
    ['{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":[1,"x"]}', /params is an array \(unnamed parameters\)/],
    ['{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":null}', /params is null/],
    ['{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":"call_id"}', /params is "call_id"/],
    ['{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":5}', /params is 5/],
  ])('decode.bad_body: %s', (body, detail) => {
    expectReason(decode(body), 'decode.bad_body', detail);
  });

  it('decode.unknown_event names the event', () => {
    expectReason(decode(inviteReply({}, 'E_UL_CONTACT_INSERT')), 'decode.unknown_event', /"E_UL_CONTACT_INSERT"/);
  });

  it.each([[undefined], [null], [''], [true], [{}]])('decode.no_call_id: call_id %p', (callId) => {
    expectReason(decode(inviteReply({ call_id: callId })), 'decode.no_call_id', /call_id/);
  });

  it('decode.no_call_id for a notification with no params at all', () => {
    expectReason(decode('{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST"}'), 'decode.no_call_id');
  });

  it.each([
    [{ reply_time: undefined }], [{ reply_time: 946684799 }], [{ reply_time: 4102444800 }], [{ reply_time: 1795757055.5 }],
    [{ reply_time: '17957570xx' }], [{ reply_time: -1 }], [{ microseconds: 1000000 }], [{ microseconds: -1 }], [{ microseconds: '12.5' }],
  ])('decode.bad_time: %p', (override) => {
    expectReason(decode(inviteReply(override)), 'decode.bad_time');
  });

  it('accepts the edges of the time range', () => {
    expectEvent(decode(inviteReply({ reply_time: 946684800, microseconds: 0 })), { ...SPEC_EVENT, timeUs: 946684800_000000 });
    expectEvent(decode(inviteReply({ reply_time: 4102444799, microseconds: 999999 })), { ...SPEC_EVENT, timeUs: 4102444799_999999 });
  });

  it.each([[undefined], [null], [99], [700], ['abc'], [200.5], [true]])('decode.bad_field: reply_code %p on a reply', (code) => {
    expectReason(decode(inviteReply({ reply_code: code })), 'decode.bad_field', /reply_code/);
  });

  it('accepts reply codes 100 and 699', () => {
    expectEvent(decode(inviteReply({ reply_code: 100 })), { ...SPEC_EVENT, replyCode: 100 });
    expectEvent(decode(inviteReply({ reply_code: '699' })), { ...SPEC_EVENT, replyCode: 699 });
  });
});
