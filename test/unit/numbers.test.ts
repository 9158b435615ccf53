/**
 * Numbers as people dial them → E.164, per real dial plans. Each block is one deployment's
 * configuration (the environment a real operator would set) and the forms its users dial.
 */
import { readDialPlan } from '../../src/config/dialplan';
import { cleanDialled, normaliseNumber, readingsOf } from '../../src/numbers/normalise';
import type { DialPlan } from '../../src/numbers/dial-plan';

const SAO_PAULO_MOBILE = '+5511987654321';

function expectAll(plan: DialPlan, cases: ReadonlyArray<readonly [string, string | null]>): void {
  for (const [dialled, e164] of cases) {
    expect({ dialled, e164: normaliseNumber(dialled, plan) }).toEqual({ dialled, e164 });
  }
}

describe('the spec formats of one São Paulo mobile', () => {
  // A Brazilian operator whose PBX users dial 9 for an outside line, with the CSP carrier codes.
  const brazil = readDialPlan({
    QBL_DEFAULT_COUNTRY: 'BR', QBL_EXIT_CODES: '00,011', QBL_STRIP_PREFIXES: '9',
    QBL_CARRIER_PREFIXES: '12,14,15,21,23,25,31,41,43',
  });

  it('reads every format of the spec as the same number', () => {
    expectAll(brazil, [
      ['+5511987654321', SAO_PAULO_MOBILE],
      ['005511987654321', SAO_PAULO_MOBILE], // 00 exit code
      ['011 55 11 98765 4321', SAO_PAULO_MOBILE], // NANP exit code 011
      ['9011 55 11 98765 4321', SAO_PAULO_MOBILE], // PBX outside line 9, then 011
      ['901511987654321', SAO_PAULO_MOBILE], // 9 + trunk 0 + CSP 15 (Vivo) + area 11
      ['01511987654321', SAO_PAULO_MOBILE], // 0 + CSP 15 + area 11
      ['0 21 11 98765-4321', SAO_PAULO_MOBILE], // 0 + CSP 21 (Claro/Embratel) + area 11
      ['(11) 98765-4321', SAO_PAULO_MOBILE], // national with the default country
      ['011 98765-4321', SAO_PAULO_MOBILE], // trunk 0 + area 11 (011 as a 16-digit exit reading is invalid)
      ['5511987654321', SAO_PAULO_MOBILE], // the country code without +, as many trunks send it
    ]);
  });

  it('removes a carrier code after the exit code: 00 + CSP + country', () => {
    expectAll(brazil, [
      ['0021 1 212 555 0123', '+12125550123'],
      ['0015 44 20 7946 0958', '+442079460958'],
    ]);
  });

  it('without a default country, national forms stay null while international ones resolve', () => {
    const plain = readDialPlan({ QBL_STRIP_PREFIXES: '9' });
    expectAll(plain, [
      ['(11) 98765-4321', null],
      ['01511987654321', null],
      ['5511987654321', null],
      ['005511987654321', SAO_PAULO_MOBILE],
      ['9011 55 11 98765 4321', SAO_PAULO_MOBILE],
    ]);
  });
});

describe('United States and Canada (NANP)', () => {
  const us = readDialPlan({ QBL_DEFAULT_COUNTRY: 'US', QBL_EXIT_CODES: '011', QBL_STRIP_PREFIXES: '9' });
  const canada = readDialPlan({ QBL_DEFAULT_COUNTRY: 'CA', QBL_EXIT_CODES: '011', QBL_STRIP_PREFIXES: '9' });

  it('reads 10-digit, 1+10-digit, outside-line and 011 forms', () => {
    expectAll(us, [
      ['(201) 555-0123', '+12015550123'],
      ['201.555.0123', '+12015550123'],
      ['1-201-555-0123', '+12015550123'],
      ['9 1 201 555 0123', '+12015550123'],
      ['9 201 555 0123', '+12015550123'],
      ['+1 (201) 555-0123', '+12015550123'],
      ['011 44 20 7946 0958', '+442079460958'],
      ['9011 55 11 98765 4321', SAO_PAULO_MOBILE],
    ]);
  });

  it('knows Canadian numbers and rejects an unassigned area code', () => {
    expectAll(canada, [
      ['(514) 555-0123', '+15145550123'],
      ['9 1 514 555 0123', '+15145550123'],
      ['(123) 555-0123', null], // area codes never start with 1
    ]);
  });
});

describe('Europe, Asia, Oceania', () => {
  it('United Kingdom: trunk 0, exit 00', () => {
    const uk = readDialPlan({ QBL_DEFAULT_COUNTRY: 'GB', QBL_EXIT_CODES: '00', QBL_STRIP_PREFIXES: '9' });
    expectAll(uk, [
      ['020 7946 0958', '+442079460958'],
      ['07400 123456', '+447400123456'],
      ['9 020 7946 0958', '+442079460958'],
      ['00 55 11 98765 4321', SAO_PAULO_MOBILE],
      // The British "(0)" habit: libphonenumber drops a trunk 0 after +44, as UK dialling does.
      ['+44 (0)20 7946 0958', '+442079460958'],
    ]);
  });

  it('Germany: call-by-call codes 010xx before the full number', () => {
    const germany = readDialPlan({ QBL_DEFAULT_COUNTRY: 'DE', QBL_EXIT_CODES: '00', QBL_STRIP_PREFIXES: '010xx' });
    expectAll(germany, [
      ['030 12345678', '+493012345678'],
      ['0151 23456789', '+4915123456789'],
      ['01088 030 12345678', '+493012345678'],
      ['01088 0055 11 98765 4321', SAO_PAULO_MOBILE],
    ]);
  });

  it('Australia: exit 0011', () => {
    const australia = readDialPlan({ QBL_DEFAULT_COUNTRY: 'AU', QBL_EXIT_CODES: '0011' });
    expectAll(australia, [
      ['(02) 9123 4567', '+61291234567'],
      ['0412 345 678', '+61412345678'],
      ['0011 55 11 98765 4321', SAO_PAULO_MOBILE],
    ]);
  });

  it('Japan: exit 010', () => {
    const japan = readDialPlan({ QBL_DEFAULT_COUNTRY: 'JP', QBL_EXIT_CODES: '010' });
    expectAll(japan, [
      ['03-1234-5678', '+81312345678'],
      ['090-1234-5678', '+819012345678'],
      ['010-1-201-555-0123', '+12015550123'],
      ['010 55 11 98765 4321', SAO_PAULO_MOBILE],
    ]);
  });

  it('India: mobiles with and without the trunk 0', () => {
    const india = readDialPlan({ QBL_DEFAULT_COUNTRY: 'IN', QBL_EXIT_CODES: '00' });
    expectAll(india, [
      ['98765 43210', '+919876543210'],
      ['098765 43210', '+919876543210'],
      ['+91 98765-43210', '+919876543210'],
      ['00 44 20 7946 0958', '+442079460958'],
    ]);
  });

  it('France: ten-digit national numbers', () => {
    const france = readDialPlan({ QBL_DEFAULT_COUNTRY: 'FR' });
    expectAll(france, [
      ['01 23 45 67 89', '+33123456789'],
      ['06.12.34.56.78', '+33612345678'],
      ['00 33 1 23 45 67 89', '+33123456789'],
    ]);
  });
});

describe('never a guess', () => {
  it('returns null when two readings are valid and differ', () => {
    // 011 2472 0330: a São Paulo landline (trunk 0 + area 11) or Ascension Island (+247) after exit 011.
    const withNanpExit = readDialPlan({ QBL_DEFAULT_COUNTRY: 'BR', QBL_EXIT_CODES: '00,011' });
    expect([...readingsOf('01124720330', withNanpExit)].sort()).toEqual(['+24720330', '+551124720330']);
    expect(normaliseNumber('011 2472 0330', withNanpExit)).toBeNull();
    // Brazil does not use 011 as an exit code: configured correctly, the reading is unique.
    const brazilOnly = readDialPlan({ QBL_DEFAULT_COUNTRY: 'BR', QBL_EXIT_CODES: '00' });
    expect(normaliseNumber('011 2472 0330', brazilOnly)).toBe('+551124720330');
  });

  it('a default exit code can collide with the country\'s own dial plan', () => {
    // In the Seychelles 01 is itself an exit code: 011 248… also reads as 01 + the US number +1 248….
    const seychelles = readDialPlan({ QBL_DEFAULT_COUNTRY: 'SC' });
    expect([...readingsOf('0112482510123', seychelles)].sort()).toEqual(['+12482510123', '+2482510123']);
    expect(normaliseNumber('011 248 251 0123', seychelles)).toBeNull();
    expect(normaliseNumber('011 248 251 0123', readDialPlan({ QBL_DEFAULT_COUNTRY: 'SC', QBL_EXIT_CODES: '00' }))).toBe('+12482510123');
  });

  it('an over-broad wildcard prefix makes a number ambiguous rather than wrong', () => {
    // 010xx also matches 01008 inside the 3-digit code 010088, leaving a valid 08030 (Bavaria) number.
    const broad = readDialPlan({ QBL_DEFAULT_COUNTRY: 'DE', QBL_EXIT_CODES: '00', QBL_STRIP_PREFIXES: '010xx,0100xx' });
    expect(normaliseNumber('010088 030 12345678', broad)).toBeNull();
    const exact = readDialPlan({ QBL_DEFAULT_COUNTRY: 'DE', QBL_EXIT_CODES: '00', QBL_STRIP_PREFIXES: '0100xx' });
    expect(normaliseNumber('010088 030 12345678', exact)).toBe('+493012345678');
  });

  it('rejects too many or too few digits', () => {
    const brazil = readDialPlan({ QBL_DEFAULT_COUNTRY: 'BR' });
    expectAll(brazil, [
      ['+55119876543210', null],
      ['0055119876543210', null],
      ['(11) 98765-43210', null],
      ['+55 11', null],
      ['+1 201 555 01234', null],
      ['1234567890123456789012345', null],
      ['+', null],
    ]);
  });

  it('rejects what is not a dialled number', () => {
    const us = readDialPlan({ QBL_DEFAULT_COUNTRY: 'US' });
    expectAll(us, [
      ['alice', null],
      ['bob', null],
      ['', null],
      ['   ', null],
      ['sip:alice@example.com', null],
      ['*21#', null],
      ['1-800-FLOWERS', null],
      ['+1 201 555 0123 ext 7', null],
      ['<sip:+12015550123@example.com>', null],
      ['2015550123+', null],
      ['２０１５５５０１２３', null], // full-width digits are not what OpenSIPS passes on
    ]);
    expect(normaliseNumber(null, us)).toBeNull();
    expect(normaliseNumber(undefined, us)).toBeNull();
  });
});

describe('cleanDialled', () => {
  it('keeps the user part of SIP and tel URIs, without parameters and separators', () => {
    expect(cleanDialled('sip:+5511987654321@example.com;user=phone')).toBe('+5511987654321');
    expect(cleanDialled('sips:005511987654321@10.0.0.1:5061')).toBe('005511987654321');
    expect(cleanDialled('tel:+1-201-555-0123;ext=7')).toBe('+12015550123');
    expect(cleanDialled(' +55 (11) 98765-4321 ')).toBe('+5511987654321');
    expect(cleanDialled('011/55/11/987654321')).toBe('0115511987654321');
  });

  it('returns null for names, feature codes and a + that is not leading', () => {
    expect(cleanDialled('alice')).toBeNull();
    expect(cleanDialled('*67 201 555 0123')).toBeNull();
    expect(cleanDialled('55+11')).toBeNull();
    expect(cleanDialled('x'.repeat(100))).toBeNull();
  });

  it('the normalised form of a SIP URI user part is its E.164 number', () => {
    expect(normaliseNumber('sip:+5511987654321@example.com;user=phone', readDialPlan({}))).toBe(SAO_PAULO_MOBILE);
  });
});
