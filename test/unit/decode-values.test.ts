/** The value readers shared by both formats. */
import { equalsUpper, isMissing, readInt, readText } from '../../consumers/decode/values';

describe('readInt', () => {
  it.each([
    [42, 42], ['42', 42], ['007003', 7003], ['-5', -5], [0, 0], ['0', 0],
    ['1795757055', 1795757055], ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('%p → %p', (input, expected) => {
    expect(readInt(input)).toBe(expected);
  });

  it('reads unsigned 64-bit renderings of negatives as signed', () => {
    expect(readInt('18446744073709551615')).toBe(-1);
    expect(readInt('18446744073709551516')).toBe(-100);
    expect(readInt('18446744071562067968')).toBe(-2147483648);
  });

  it.each([[null], [undefined], ['']])('%p is missing (null)', (input) => {
    expect(readInt(input)).toBeNull();
  });

  it.each([
    [1.5], [Infinity], [NaN], [2 ** 64], ['1.5'], ['1e3'], [' 1'], ['+1'], ['-'], ['0x10'], ['١٢'],
    ['18446744073709551616'], ['9223372036854775807'], ['123456789012345678901'], [true], [{}], [[]],
  ])('%p is invalid (NaN)', (input) => {
    expect(readInt(input)).toBeNaN();
  });
});

describe('readText', () => {
  it('keeps non-empty strings, prints finite numbers, and nulls the rest', () => {
    expect(readText('a')).toBe('a');
    expect(readText(' ')).toBe(' ');
    expect(readText(5511)).toBe('5511');
    for (const value of ['', null, undefined, Infinity, true, {}, []]) expect(readText(value)).toBeNull();
  });
});

describe('isMissing and equalsUpper', () => {
  it('treats only null, undefined and empty as missing', () => {
    expect([null, undefined, ''].every(isMissing)).toBe(true);
    expect([0, ' ', 'null', false].some(isMissing)).toBe(false);
  });

  it('compares ASCII case-insensitively without touching other letters', () => {
    expect(equalsUpper('invite', 'INVITE')).toBe(true);
    expect(equalsUpper('InViTe', 'INVITE')).toBe(true);
    expect(equalsUpper('invitee', 'INVITE')).toBe(false);
    expect(equalsUpper('ınvite', 'INVITE')).toBe(false);
  });
});
