/**
 * The lookup answer written field by field is byte for byte what JSON.stringify makes of the same
 * answer, whatever the strings hold (quotes, controls, lone surrogates, non-ASCII) and whatever
 * the figures are.
 */
import fc from 'fast-check';
import { answerJson } from '../../src/lookup/answer-json';
import type { LookupAnswer } from '../../src/lookup/lookup-state';
import { REASONS } from '../../src/lookup/options';

const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\ud800', 'é', '+', '5') }));
const count = fc.oneof(fc.nat(), fc.integer(), fc.double());

const answers: fc.Arbitrary<LookupAnswer> = fc.record({
  number: anyText,
  e164: fc.option(anyText),
  verdict: fc.constantFrom('allow', 'warn', 'block'),
  reasons: fc.subarray([...REASONS]),
  figures: fc.record({
    window_days: count, calls: count, answered: count, invalid: count,
    last_final_code: fc.option(count), last_seen: fc.option(anyText),
  }),
  burst: fc.option(fc.record({ caller: anyText, prefix: anyText, window_s: count, calls: count, short_or_unanswered: count })),
  blocklist: fc.option(fc.record({ entry: anyText, reason: anyText, expires_at: fc.option(anyText) })),
});

test('answerJson(answer) is JSON.stringify(answer)', () => {
  fc.assert(fc.property(answers, (answer) => {
    expect(answerJson(answer)).toBe(JSON.stringify(answer));
  }), { numRuns: 2000 });
});

test('a plain answer, written out', () => {
  const answer: LookupAnswer = {
    number: '+5511987654321', e164: '+5511987654321', verdict: 'warn', reasons: ['invalid_number'],
    figures: { window_days: 7, calls: 3, answered: 0, invalid: 3, last_final_code: 404, last_seen: '2026-11-27T13:05:09.000000Z' },
    burst: null, blocklist: null,
  };
  expect(answerJson(answer)).toBe('{"number":"+5511987654321","e164":"+5511987654321","verdict":"warn","reasons":["invalid_number"],'
    + '"figures":{"window_days":7,"calls":3,"answered":0,"invalid":3,"last_final_code":404,"last_seen":"2026-11-27T13:05:09.000000Z"},'
    + '"burst":null,"blocklist":null}');
});
