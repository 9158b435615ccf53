/**
 * Hostile input: decodeMessage never throws and every verdict is well formed, either a dead letter
 * with a reason from the union or an event that satisfies every invariant of a valid one.
 * decodeMessage catches as a last resort and says "unexpected decoder failure", so such a detail
 * counts as a thrown error here. Random parts use fixed seeds and bounded runs.
 */
import fc from 'fast-check';
import { ACC_KINDS, isAccKind, QBL_KINDS, type EventKind } from '../../correlators/events';
import type { DeadLetterReason } from '../../src/errors';
import { decodeMessage, type DecodeResult } from '../../consumers/decode/decode';
import { eventIdFor } from '../../consumers/decode/event-id';
import { MAX_TIME_S, MIN_TIME_S } from '../../consumers/decode/fields';
import { DEFAULT_DECODER_OPTIONS, type DecoderOptions } from '../../consumers/decode/options';
import { readSamples } from '../support/samples';

const DECODE_REASONS = [
  'decode.not_json', 'decode.bad_body', 'decode.bad_text', 'decode.unknown_event', 'decode.no_call_id',
  'decode.bad_time', 'decode.bad_field', 'decode.too_large',
] as const satisfies readonly DeadLetterReason[];
const KINDS: readonly EventKind[] = [...QBL_KINDS, ...ACC_KINDS];
const LARGE: DecoderOptions = { ...DEFAULT_DECODER_OPTIONS, maxBodyBytes: 4_000_000 };
const SEED = 20261127;

/** Returns the verdict after checking it is well formed (throws, failing the test, otherwise). */
function verdict(body: Buffer | string, options: DecoderOptions = DEFAULT_DECODER_OPTIONS): DecodeResult {
  const result = decodeMessage(typeof body === 'string' ? Buffer.from(body, 'utf8') : body, options);
  if (!result.ok) {
    if (!(DECODE_REASONS as readonly string[]).includes(result.reason)) throw new Error(`reason ${result.reason}`);
    if (typeof result.detail !== 'string' || result.detail === '') throw new Error('empty detail');
    if (result.detail.startsWith('unexpected decoder failure')) throw new Error(result.detail);
    if (result.detail.length > 300) throw new Error(`detail of ${result.detail.length} chars echoes the body`);
    return result;
  }
  const { id, ...fields } = result.event;
  const e = result.event;
  const problems = [
    id !== eventIdFor(fields) && 'id',
    !KINDS.includes(e.kind) && 'kind',
    !(typeof e.callId === 'string' && e.callId !== '') && 'callId',
    !(Number.isSafeInteger(e.timeUs) && e.timeUs >= MIN_TIME_S * 1e6 && e.timeUs < MAX_TIME_S * 1e6) && 'timeUs',
    (e.kind === 'invite_request' || e.kind === 'bye_request'
      ? e.replyCode !== null
      : !(Number.isInteger(e.replyCode) && e.replyCode! >= 100 && e.replyCode! <= 699)) && 'replyCode',
    !(e.direction === null || e.direction === 'downstream' || e.direction === 'upstream') && 'direction',
    !(e.caller === null || (typeof e.caller === 'string' && e.caller !== '')) && 'caller',
    !(e.callee === null || (typeof e.callee === 'string' && e.callee !== '')) && 'callee',
    (isAccKind(e.kind) ? e.acc === null : e.acc !== null) && 'acc',
    !(typeof result.eventName === 'string' && result.eventName !== '') && 'eventName',
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`malformed event (${problems.join(', ')}): ${JSON.stringify(result)}`);
  return result;
}

const SAMPLES = readSamples().map((message) => message.body);
const SPEC_PARAMS: Array<[string, string]> = [
  ['reply_code', '200'], ['microseconds', '657962'], ['reply_time', '1795757055'], ['callee_id', '"bob"'],
  ['caller_id', '"alice"'], ['call_id', '"a84b4c76e66710@pc33"'], ['direction', '"downstream"'], ['method', '"INVITE"'],
];
const jsonBody = (params: Array<[string, string]>, method = 'E_QBL_INVITE_REPLY') =>
  `{"jsonrpc":"2.0","method":"${method}","params":{${params.map(([k, v]) => `"${k}":${v}`).join(',')}}}`;
const textBody = (params: Array<[string, string]>, method = 'E_QBL_INVITE_REPLY') =>
  [method, ...params.map(([k, v]) => `${k}::${v}`)].join('\n');
const SPEC_TEXT_PARAMS = SPEC_PARAMS.map(([k, v]): [string, string] => [k, v.replace(/^"|"$/g, '')]);

describe('random input (fast-check, fixed seed)', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      verdict(Buffer.from(bytes));
    }), { seed: SEED, numRuns: 3000 });
  });

  it('random JSON-ish and text-ish strings', () => {
    const jsonish = fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', 'a', '1', '-', '.', 'e', ' ', 'null', 'params', 'call_id', 'method', '"E_QBL_INVITE_REPLY"'), maxLength: 80 });
    const textish = fc.string({ unit: fc.constantFrom('"', '\\', '\n', '::', ':', 'a', '1', 'call_id', 'reply_time', '1795757055', 'reply_code', '200', '18446744073709551615'), maxLength: 80 });
    fc.assert(fc.property(jsonish, (tail) => { verdict(`{${tail}`); }), { seed: SEED, numRuns: 3000 });
    fc.assert(fc.property(textish, (tail) => { verdict(`E_QBL_INVITE_REPLY\n${tail}`); }), { seed: SEED, numRuns: 3000 });
  });

  it('valid bodies with random bytes overwritten, inserted or deleted', () => {
    const edit = fc.record({
      sample: fc.nat({ max: SAMPLES.length - 1 }), at: fc.nat({ max: 400 }), bytes: fc.uint8Array({ maxLength: 4 }), remove: fc.nat({ max: 3 }),
    });
    fc.assert(fc.property(edit, ({ sample, at, bytes, remove }) => {
      const body = SAMPLES[sample];
      const cut = Math.min(at, body.length);
      verdict(Buffer.concat([body.subarray(0, cut), Buffer.from(bytes), body.subarray(Math.min(cut + remove, body.length))]));
    }), { seed: SEED, numRuns: 3000 });
  });

  it('text bodies with stray quotes, backslashes and separators', () => {
    const value = fc.string({ unit: fc.constantFrom('"', '\\', '\n', ':', 'a', '1'), maxLength: 12 });
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...SPEC_TEXT_PARAMS.map(([k]) => k)), value), { maxLength: 6 }), (extra) => {
      verdict(textBody([...SPEC_TEXT_PARAMS.slice(0, 3), ...extra, ...SPEC_TEXT_PARAMS.slice(3)]));
    }), { seed: SEED, numRuns: 3000 });
  });
});

describe('structured hostile input', () => {
  it('every prefix of every sample body', () => {
    let accepted = 0;
    for (const body of SAMPLES) {
      for (let length = 0; length <= body.length; length++) if (verdict(body.subarray(0, length)).ok) accepted++;
    }
    // Whole bodies decode; text prefixes cut inside the last value may too (OpenSIPS truncation).
    expect(accepted).toBeGreaterThanOrEqual(SAMPLES.length);
  });

  it('oversized bodies are refused before parsing, at exactly one byte over the limit', () => {
    const options = { ...DEFAULT_DECODER_OPTIONS, maxBodyBytes: SAMPLES[0].length };
    expect(verdict(SAMPLES[0], options).ok).toBe(true);
    expect(verdict(Buffer.concat([SAMPLES[0], Buffer.from(' ')]), options)).toMatchObject({ reason: 'decode.too_large' });
    expect(verdict(Buffer.alloc(DEFAULT_DECODER_OPTIONS.maxBodyBytes + 1, 0x7b))).toMatchObject({ reason: 'decode.too_large' });
  });

  const WRONG_JSON = ['true', 'false', '{}', '[]', '{"a":[1,{"b":null}]}', '1.5', '-1', '0', '1e400', '-1e400', '18446744073709551616',
    '18446744073709551615', '"18446744073709551615"', '9007199254740993', '"abc"', '""', 'null', '"\\u0000"', '"\\ud800"', '" 200"'];

  it.each(SPEC_PARAMS.map(([name]) => name))('JSON: wrong types in %s', (name) => {
    for (const wrong of WRONG_JSON) {
      verdict(jsonBody(SPEC_PARAMS.map(([k, v]) => [k, k === name ? wrong : v])));
      verdict(jsonBody([[name, wrong], ...SPEC_PARAMS])); // a duplicate: the walker rebuilds params
    }
  });

  it.each(['callid', 'sip_code', 'time', 'sip_reason', 'method', 'duration', 'ms_duration', 'setuptime', 'created', 'caller_id'])('JSON: wrong types in acc %s', (name) => {
    const acc: Array<[string, string]> = [['method', '"INVITE"'], ['callid', '"c"'], ['sip_code', '"200"'], ['sip_reason', '"OK"'],
      ['time', '1795757055'], ['caller_id', '"a"'], ['duration', '3'], ['ms_duration', '2006'], ['setuptime', '0'], ['created', '1795757055']];
    for (const wrong of WRONG_JSON) verdict(jsonBody(acc.map(([k, v]) => [k, k === name ? wrong : v]), 'E_ACC_CDR'));
  });

  it.each(SPEC_TEXT_PARAMS.map(([name]) => name))('text: odd values in %s', (name) => {
    for (const odd of ['', '"', '"abc', 'abc"', '\\', '\\"', '18446744073709551616', '18446744073709551615', '-', '::', '1e400', '١٢', '"a\nb"', '"\n']) {
      verdict(textBody(SPEC_TEXT_PARAMS.map(([k, v]) => [k, k === name ? odd : v])));
    }
  });

  it('huge numbers are bad times or bad fields, never accepted', () => {
    const replace = (name: string, value: string) => jsonBody(SPEC_PARAMS.map(([k, v]) => [k, k === name ? value : v]));
    expect(verdict(replace('reply_time', '1e400'))).toMatchObject({ reason: 'decode.bad_time' });
    expect(verdict(replace('reply_time', '18446744073709551616'))).toMatchObject({ reason: 'decode.bad_time' });
    expect(verdict(replace('microseconds', '"18446744073709551616"'))).toMatchObject({ reason: 'decode.bad_time' });
    expect(verdict(replace('reply_code', '1e400'))).toMatchObject({ reason: 'decode.bad_field' });
    expect(verdict(textBody(SPEC_TEXT_PARAMS.map(([k, v]) => [k, k === 'reply_time' ? '99999999999999999999999' : v])))).toMatchObject({ reason: 'decode.bad_time' });
  });

  it('deep nesting cannot overflow the stack (JSON.parse and our walker are iterative)', () => {
    expect(verdict('['.repeat(1_000_000), LARGE)).toMatchObject({ reason: 'decode.not_json' });
    expect(verdict(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`, LARGE)).toMatchObject({ reason: 'decode.bad_body' });
    expect(verdict('{"a":'.repeat(200_000), LARGE)).toMatchObject({ reason: 'decode.not_json' });
    const deep = `${'['.repeat(500_000)}${']'.repeat(500_000)}`;
    // Inside params, with a duplicate key so the walker runs over the nesting too.
    const result = verdict(jsonBody([['x', deep], ['x', deep], ...SPEC_PARAMS]), LARGE);
    expect(result.ok && result.event.callId).toBe('a84b4c76e66710@pc33');
  });

  it('pathological text layouts stay well formed', () => {
    verdict(`E_QBL_INVITE_REPLY${'\na::"'.repeat(12_000)}`);
    verdict(`E_QBL_INVITE_REPLY${'\nno separator'.repeat(4_000)}\ncall_id::c`);
    verdict(`E_QBL_INVITE_REPLY\ncall_id::c${'\na::"x'.repeat(8_000)}"`);
    verdict(`E_QBL_INVITE_REPLY\n${'::'.repeat(30_000)}`);
  });

  it('invalid UTF-8 anywhere is decoded with replacement characters, never rejected for itself', () => {
    const invalid = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80, 0x80]];
    const around = (body: string, bytes: number[]) => {
      const [before, after] = body.replace('alice', 'al\u0000ice').split('\u0000');
      return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
    };
    for (const bytes of invalid) {
      for (const body of [around(jsonBody(SPEC_PARAMS), bytes), around(textBody(SPEC_TEXT_PARAMS), bytes)]) {
        const result = verdict(body);
        expect(result.ok && result.event.caller).toMatch(/^al\ufffd+ice$/);
      }
    }
  });

  it.each(['null', '"call_id"', '5', 'true', '[]', '["INVITE","c",1795757055]'])('params %s is a bad body', (params) => {
    expect(verdict(`{"jsonrpc":"2.0","method":"E_QBL_INVITE_REPLY","params":${params}}`)).toMatchObject({ reason: 'decode.bad_body' });
  });

  it('an unexpected failure inside the decoder becomes a verdict, not a throw', () => {
    const broken = { ...DEFAULT_DECODER_OPTIONS, eventNames: null } as unknown as DecoderOptions;
    const result = decodeMessage(SAMPLES[0], broken);
    expect(result).toMatchObject({ ok: false, reason: 'decode.bad_body' });
    expect(!result.ok && result.detail).toMatch(/^unexpected decoder failure/);
  });
});
