/** Numbers of both sides compared: by digits, then by E.164 under the dial plan. */
import { ANONYMOUS, NumberMatcher, stripTechnicalPrefix } from '../../src/disputes/numbers';
import type { DialPlan } from '../../src/numbers/dial-plan';

const BR: DialPlan = { defaultCountry: 'BR', exitCodes: ['00', '011'], carrierPrefixes: ['15', '21', '41'], stripPrefixes: [] };

describe('NumberMatcher', () => {
  const numbers = new NumberMatcher(BR);
  const ours = (raw: string, e164: string | null = null) => numbers.ourNumber(raw, e164);
  const theirs = (raw: string) => numbers.carrierNumber(raw, true)!;

  it.each([
    ['5511987654321', '+5511987654321'],
    ['005511987654321', '+5511987654321'],
    ['+55 (11) 98765-4321', '+5511987654321'],
    ['7788#5511987654321', '+5511987654321'],
    ['011987654321', '+5511987654321'], // national, read with the dial plan's country
    ['0055 51 96199 8493', '+5551961998493'], // international first: Brazil, not Peru through carrier 55
  ])('%s is the same number as our %s', (carrier, our) => {
    expect(numbers.same(theirs(carrier), ours(our, our))).toBe(true);
    expect(NumberMatcher.group(theirs(carrier), theirs(carrier)).split('|')[0]).toBe(NumberMatcher.group(ours(our), ours(our)).split('|')[0]);
  });

  it('compares with our raw number when the service could not normalise it', () => {
    expect(numbers.same(theirs('9011552133334444'), ours('9011552133334444', null))).toBe(true);
    expect(numbers.same(theirs('5511987654321'), ours('5511987654322', '+5511987654322'))).toBe(false);
  });

  it('withheld callers are all one anonymous caller; junk is not a number', () => {
    expect(theirs('Anonymous').digits).toBe(ANONYMOUS);
    expect(numbers.same(theirs('restricted'), ours('anonymous'))).toBe(true);
    expect(numbers.carrierNumber('alice', false)).toBeNull();
    expect(numbers.carrierNumber('', false)).toBeNull();
  });

  it('technical prefixes are digits before a #', () => {
    expect(stripTechnicalPrefix('1234#5511987654321')).toBe('5511987654321');
    expect(stripTechnicalPrefix('*21#')).toBe('*21#');
  });
});
