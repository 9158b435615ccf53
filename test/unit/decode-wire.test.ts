/** The OpenSIPS wire encoders reproduce the spec's bodies and the shared samples byte for byte. */
import { encodeJsonRpc, encodeText, TEXT_BODY_MAX_BYTES, type WireParams } from '../../src/simulator/opensips-wire';
import { readSamples } from '../support/samples';

const SPEC_JSON =
  '{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":{"reply_code":200,"microseconds":657962,"reply_time":1795757055,"callee_id":"bob","caller_id":"alice","call_id":"a84b4c76e66710@pc33","direction":"downstream","method":"INVITE"}}';
const SPEC_TEXT =
  'E_QBL_INVITE_REQUEST\nmethod::INVITE\ncall_id::a84b4c76e66710@pc33\nrequest_time::1795757055\nmicroseconds::656849';
const SPEC_ACC =
  '{"jsonrpc":"2.0","method":"E_ACC_CDR","params":{"method":"INVITE","from_tag":"2877SIPpTag001","to_tag":"2877SIPpTag011","callid":"a84b4c76e66710@pc33","sip_code":"200","sip_reason":"OK","time":1795757055,"caller_id":"alice","callee_id":"bob","duration":3,"ms_duration":2006,"setuptime":0,"created":1795757055}}';

/** The script's assignments for the spec's INVITE reply, in assignment order. */
const INVITE_REPLY: WireParams = [
  ['method', 'INVITE'], ['direction', 'downstream'], ['call_id', 'a84b4c76e66710@pc33'], ['caller_id', 'alice'],
  ['callee_id', 'bob'], ['reply_time', 1795757055], ['microseconds', 657962], ['reply_code', 200],
];

describe('encodeJsonRpc', () => {
  it('writes the spec example: compact, keys in reverse assignment order', () => {
    expect(encodeJsonRpc('E_QBL_INVITE_REPLY', INVITE_REPLY).toString('utf8')).toBe(SPEC_JSON);
  });

  it('writes the acc example when given the reverse of its published order', () => {
    const published: WireParams = [
      ['method', 'INVITE'], ['from_tag', '2877SIPpTag001'], ['to_tag', '2877SIPpTag011'], ['callid', 'a84b4c76e66710@pc33'],
      ['sip_code', '200'], ['sip_reason', 'OK'], ['time', 1795757055], ['caller_id', 'alice'], ['callee_id', 'bob'],
      ['duration', 3], ['ms_duration', 2006], ['setuptime', 0], ['created', 1795757055],
    ];
    expect(encodeJsonRpc('E_ACC_CDR', [...published].reverse()).toString('utf8')).toBe(SPEC_ACC);
  });

  it('omits params when there are none (null or empty)', () => {
    expect(encodeJsonRpc('E_PING', null).toString()).toBe('{"jsonrpc":"2.0","method":"E_PING"}');
    expect(encodeJsonRpc('E_PING', []).toString()).toBe('{"jsonrpc":"2.0","method":"E_PING"}');
  });

  it('3.1.0 adds "id":null as the first key', () => {
    expect(encodeJsonRpc('E_X', [['a', 1]], { legacyIdNull: true }).toString()).toBe('{"id":null,"jsonrpc":"2.0","method":"E_X","params":{"a":1}}');
  });

  it('prints null values, and 4.0 (omitNulls) leaves them out', () => {
    const params: WireParams = [['a', null], ['b', 'x'], ['c', null]];
    expect(encodeJsonRpc('E_X', params).toString()).toBe('{"jsonrpc":"2.0","method":"E_X","params":{"c":null,"b":"x","a":null}}');
    expect(encodeJsonRpc('E_X', params, { omitNulls: true }).toString()).toBe('{"jsonrpc":"2.0","method":"E_X","params":{"b":"x"}}');
  });

  it('escapes strings as JSON, passes non-ASCII as raw UTF-8, and uses an array for unnamed params', () => {
    const body = encodeJsonRpc('E_X', [['s', 'a"b\\c\nd\u0001é']]);
    expect(body.toString('utf8')).toBe('{"jsonrpc":"2.0","method":"E_X","params":{"s":"a\\"b\\\\c\\nd\\u0001é"}}');
    expect(body.includes(Buffer.from([0xc3, 0xa9]))).toBe(true);
    expect(encodeJsonRpc('E_X', [['', 1], ['', 'two']]).toString()).toBe('{"jsonrpc":"2.0","method":"E_X","params":["two",1]}');
  });
});

describe('encodeText', () => {
  it('writes the spec example: name::value per line, no trailing newline', () => {
    const params: WireParams = [
      ['method', 'INVITE'], ['call_id', 'a84b4c76e66710@pc33'], ['request_time', 1795757055], ['microseconds', 656849],
    ];
    expect(encodeText('E_QBL_INVITE_REQUEST', params).toString('utf8')).toBe(SPEC_TEXT);
  });

  it('prints integers as unsigned 64-bit', () => {
    expect(encodeText('E_X', [['a', -1], ['b', -100], ['c', 0]]).toString()).toBe('E_X\na::18446744073709551615\nb::18446744073709551516\nc::0');
  });

  it('prints null and empty values as name::', () => {
    expect(encodeText('E_X', [['a', null], ['b', '']]).toString()).toBe('E_X\na::\nb::');
  });

  it('quotes only values holding a newline, escaping " but never backslashes', () => {
    expect(encodeText('E_X', [['a', 'say "hi"\\'], ['b', 'l1\nsay "x" \\']]).toString())
      .toBe('E_X\na::say "hi"\\\nb::"l1\nsay \\"x\\" \\"');
  });

  it('prints an unnamed parameter as its bare value', () => {
    expect(encodeText('E_X', [['', 'v'], ['', 7]]).toString()).toBe('E_X\nv\n7');
  });

  it('truncates the body to 16384 bytes', () => {
    const body = encodeText('E_X', [['big', 'x'.repeat(20000)]]);
    expect(body.length).toBe(TEXT_BODY_MAX_BYTES);
    expect(body.toString('latin1')).toBe(`E_X\nbig::${'x'.repeat(TEXT_BODY_MAX_BYTES - 9)}`);
  });
});

const INTEGER_ATTRIBUTES = new Set(['request_time', 'reply_time', 'microseconds', 'reply_code']);

describe('the shared samples', () => {
  const samples = readSamples().map((message) => message.body.toString('utf8'));

  it('every JSON sample is what encodeJsonRpc writes for its assignments', () => {
    const json = samples.filter((body) => body.startsWith('{'));
    expect(json.length).toBe(11);
    for (const body of json) {
      const { method, params } = JSON.parse(body) as { method: string; params: Record<string, string | number | null> };
      // JSON.parse keeps source order, which is the reverse of the assignments.
      expect(encodeJsonRpc(method, Object.entries(params).reverse()).toString('utf8')).toBe(body);
    }
  });

  it('every text sample is what encodeText writes for its assignments', () => {
    const text = samples.filter((body) => !body.startsWith('{'));
    expect(text.length).toBe(2);
    for (const body of text) {
      const [name, ...lines] = body.split('\n');
      const params = lines.map((line): [string, string | number] => {
        const [key, value] = line.split('::');
        // The script assigns times and codes as integers, caller and callee as strings (leading zeros).
        return [key, INTEGER_ATTRIBUTES.has(key) ? Number(value) : value];
      });
      expect(encodeText(name, params).toString('utf8')).toBe(body);
    }
  });
});
