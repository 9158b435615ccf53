/** 2.1 – 3.0 text bodies: samples, the spec example, unsigned 64-bit integers, quoting, and text-only reasons. */
import type { CallEvent } from '../../correlators/events';
import { decodeMessage, type DecodeResult } from '../../consumers/decode/decode';
import { eventIdFor } from '../../consumers/decode/event-id';
import { DEFAULT_ATTRIBUTE_NAMES, DEFAULT_DECODER_OPTIONS, type DecoderOptions } from '../../consumers/decode/options';
import { readSamples } from '../support/samples';

type Expected = Omit<CallEvent, 'id'>;

const decode = (body: string, options: DecoderOptions = DEFAULT_DECODER_OPTIONS): DecodeResult =>
  decodeMessage(Buffer.from(body, 'utf8'), options);

function expectEvent(result: DecodeResult, expected: Expected): void {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.detail}`);
  expect(result.event).toEqual({ ...expected, id: eventIdFor(expected) });
}

function expectReason(result: DecodeResult, reason: string, detail?: RegExp): void {
  expect(result).toMatchObject({ ok: false, reason });
  if (detail && !result.ok) expect(result.detail).toMatch(detail);
}

const SPEC_TEXT = 'E_QBL_INVITE_REQUEST\nmethod::INVITE\ncall_id::a84b4c76e66710@pc33\nrequest_time::1795757055\nmicroseconds::656849';
const SPEC_EVENT: Expected = {
  kind: 'invite_request', callId: 'a84b4c76e66710@pc33', timeUs: 1795757055_656849, caller: null, callee: null,
  replyCode: null, direction: null, acc: null,
};
/** An INVITE reply in the text layout, with one extra line appended. */
const reply = (extra = '') =>
  `E_QBL_INVITE_REPLY\nmethod::INVITE\ncall_id::c1\ncaller_id::alice\ncallee_id::bob\nreply_time::1795757055\nmicroseconds::42\nreply_code::180${extra}`;
const REPLY_EVENT: Expected = {
  kind: 'invite_reply', callId: 'c1', timeUs: 1795757055_000042, caller: 'alice', callee: 'bob', replyCode: 180, direction: null, acc: null,
};

describe('samples/events.ndjson (text lines)', () => {
  const bodies = readSamples().map((message) => message.body.toString('utf8'));
  const busy = { callId: '0c44e2d0-busy@10.1.2.3', caller: '0055119876543', callee: '011551133335555', direction: 'downstream' as const, acc: null };

  it('line 6 is the busy call\'s INVITE request (microseconds 120, not zero-padded)', () => {
    expectEvent(decode(bodies[6]), { ...busy, kind: 'invite_request', timeUs: 1796000010_000120, replyCode: null });
  });

  it('line 7 is its 486 reply', () => {
    expectEvent(decode(bodies[7]), { ...busy, kind: 'invite_reply', timeUs: 1796000010_098001, replyCode: 486 });
  });
});

describe('text layout', () => {
  it('decodes the spec example', () => {
    expectEvent(decode(SPEC_TEXT), SPEC_EVENT);
    const result = decode(SPEC_TEXT);
    expect(result.ok && result.eventName).toBe('E_QBL_INVITE_REQUEST');
  });

  it('gives the same event and id as the JSON-RPC body with the same content', () => {
    const json = '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REQUEST","params":{"microseconds":656849,"request_time":1795757055,"call_id":"a84b4c76e66710@pc33","method":"INVITE"}}';
    const fromText = decode(SPEC_TEXT);
    const fromJson = decode(json);
    expect(fromText.ok && fromJson.ok && fromText.event.id === fromJson.event.id).toBe(true);
  });

  it('reads unsigned 64-bit integers as the signed values OpenSIPS meant', () => {
    // -1 microseconds is out of range, in either format.
    expectReason(decode(`${SPEC_TEXT.replace('656849', '18446744073709551615')}`), 'decode.bad_time', /microseconds/);
    expectReason(decode(reply().replace('reply_code::180', 'reply_code::18446744073709551615')), 'decode.bad_field', /reply_code/);
    // acc figures: -1 duration is rejected as negative, not as an unparseable number.
    const acc = 'E_ACC_CDR\nmethod::INVITE\ncallid::c9\nsip_code::200\ntime::1795757055\nduration::18446744073709551615';
    expectReason(decode(acc), 'decode.bad_field', /duration/);
  });

  it('reads name:: (empty) as missing', () => {
    expectEvent(decode(reply('\ndirection::').replace('caller_id::alice', 'caller_id::')), { ...REPLY_EVENT, caller: null });
    expectEvent(decode(reply().replace('microseconds::42', 'microseconds::')), { ...REPLY_EVENT, timeUs: 1795757055_000000 });
    expectReason(decode(reply().replace('call_id::c1', 'call_id::')), 'decode.no_call_id');
  });

  it('unquotes a multi-line value, restoring escaped quotes and leaving backslashes alone', () => {
    const body = reply().replace('caller_id::alice', 'caller_id::"\\\\ \\"Al\\"\nice"');
    expectEvent(decode(body), { ...REPLY_EVENT, caller: '\\\\ "Al"\nice' });
  });

  it('keeps a one-line value that starts with a quote as written', () => {
    expectEvent(decode(reply().replace('caller_id::alice', 'caller_id::"Alice" <sip:a@b>')), { ...REPLY_EVENT, caller: '"Alice" <sip:a@b>' });
    expectEvent(decode(reply().replace('caller_id::alice', 'caller_id::"Alice"')), { ...REPLY_EVENT, caller: '"Alice"' });
  });

  it('takes an unterminated quote as the rest of its line (a truncated body)', () => {
    expectEvent(decode(`${reply()}\ndirection::"upstream`), REPLY_EVENT);
    expectEvent(decode(reply().replace('caller_id::alice', 'caller_id::"al\\"')), { ...REPLY_EVENT, caller: '"al\\"' });
  });

  it('a quoted multi-line value can hold name::value lines of its own', () => {
    const body = reply().replace('caller_id::alice', 'caller_id::"x\ncall_id::forged"');
    expectEvent(decode(body), { ...REPLY_EVENT, caller: 'x\ncall_id::forged' });
  });

  it('keeps the last of duplicate names (the script\'s latest assignment)', () => {
    expectEvent(decode(`${reply()}\nreply_code::200\ncall_id::c2`), { ...REPLY_EVENT, replyCode: 200, callId: 'c2' });
  });

  it('reads values containing :: after the first separator', () => {
    expectEvent(decode(reply().replace('caller_id::alice', 'caller_id::sip::alice')), { ...REPLY_EVENT, caller: 'sip::alice' });
  });

  it("maps 'auto' events and custom attribute names", () => {
    const options: DecoderOptions = {
      ...DEFAULT_DECODER_OPTIONS,
      eventNames: new Map([['E_QBL', 'auto']]),
      attributeNames: { ...DEFAULT_ATTRIBUTE_NAMES, call_id: 'ci', method: 'm' },
    };
    expectEvent(decode('E_QBL\nm::bye\nci::k\nreply_time::1795757055\nreply_code::200\ndirection::UPSTREAM', options), {
      kind: 'bye_reply', callId: 'k', timeUs: 1795757055_000000, caller: null, callee: null, replyCode: 200, direction: 'upstream', acc: null,
    });
    expectEvent(decode('E_QBL\nm::BYE\nci::k\nrequest_time::1795757055', options), {
      kind: 'bye_request', callId: 'k', timeUs: 1795757055_000000, caller: null, callee: null, replyCode: null, direction: null, acc: null,
    });
  });

  it('decodes acc events: E_ACC_MISSED_EVENT with a null to_tag, E_ACC_EVENT with null caller', () => {
    expectEvent(decode('E_ACC_MISSED_EVENT\nmethod::INVITE\nfrom_tag::f00d\nto_tag::\ncallid::c3\nsip_code::408\nsip_reason::Request Timeout\ntime::1796000050\ncaller_id::alice\ncallee_id::bob\nsetuptime::30\ncreated::1796000020'), {
      kind: 'acc_missed', callId: 'c3', timeUs: 1796000050_000000, caller: 'alice', callee: 'bob', replyCode: 408, direction: null,
      acc: { method: 'INVITE', durationS: null, durationMs: null, setupS: 30, createdS: 1796000020, sipReason: 'Request Timeout' },
    });
    expectEvent(decode('E_ACC_EVENT\nmethod::BYE\nfrom_tag::a\nto_tag::b\ncallid::c3\nsip_code::200\nsip_reason::OK\ntime::1796000090\ncaller_id::\ncallee_id::'), {
      kind: 'acc_event', callId: 'c3', timeUs: 1796000090_000000, caller: null, callee: null, replyCode: 200, direction: null,
      acc: { method: 'BYE', durationS: null, durationMs: null, setupS: null, createdS: null, sipReason: 'OK' },
    });
  });
});

describe('text reasons', () => {
  it.each([
    ['hello world'], [' E_QBL_INVITE_REQUEST\ncall_id::x'], ['1E_X\na::b'], ['\n\n'], ['"quoted"'], ['E_X;rm -rf\na::b'],
  ])('decode.bad_text: %p', (body) => {
    expectReason(decode(body), 'decode.bad_text', /not an event name/);
  });

  it('decode.bad_text for an empty body', () => {
    expectReason(decode(''), 'decode.bad_text', /empty/);
  });

  it('decode.bad_body for unnamed parameters', () => {
    expectReason(decode('E_QBL_INVITE_REQUEST\nINVITE\nc1\n1795757055'), 'decode.bad_body', /unnamed/);
  });

  it('decode.unknown_event for a well-formed text body with another name', () => {
    expectReason(decode('E_DLG_STATE_CHANGED\nstate::4'), 'decode.unknown_event', /E_DLG_STATE_CHANGED/);
  });

  it('decode.no_call_id when only the event name is there', () => {
    expectReason(decode('E_QBL_INVITE_REQUEST'), 'decode.no_call_id');
  });

  it('decode.bad_time for non-digit or signed-looking seconds', () => {
    expectReason(decode(SPEC_TEXT.replace('1795757055', '+1795757055')), 'decode.bad_time');
    expectReason(decode(SPEC_TEXT.replace('1795757055', ' 1795757055')), 'decode.bad_time');
    expectReason(decode(SPEC_TEXT.replace('request_time::1795757055', 'request_time::')), 'decode.bad_time', /request_time/);
  });
});
