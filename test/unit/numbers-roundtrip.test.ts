/**
 * Every country libphonenumber knows: its example mobile number, written the ways people write
 * it, comes back as the same E.164 number — and never as another country's number.
 */
import { getCountries, getExampleNumber } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { readDialPlan } from '../../src/config/dialplan';
import { normaliseNumber } from '../../src/numbers/normalise';

const NO_COUNTRY = readDialPlan({});

describe.each(getCountries())('%s', (country) => {
  const example = getExampleNumber(country, examples);

  it('has an example mobile number', () => {
    expect(example?.isValid()).toBe(true);
  });

  it('reads the international, 00, 011 and national forms back as the same E.164', () => {
    const e164 = example!.number;
    const plan = readDialPlan({ QBL_DEFAULT_COUNTRY: country });
    const forms = [e164, `00${e164.slice(1)}`, example!.formatInternational(), example!.formatNational()];
    expect(forms.map((form) => normaliseNumber(form, plan))).toEqual(forms.map(() => e164));
    // 011 only where no country is assumed: inside some countries 011… is a national or exit form (see numbers.test.ts).
    const exitForms = [`00${e164.slice(1)}`, `011${e164.slice(1)}`];
    expect(exitForms.map((form) => normaliseNumber(form, NO_COUNTRY))).toEqual([e164, e164]);
    // Without a default country the national form has no country to belong to.
    expect(normaliseNumber(example!.formatNational(), NO_COUNTRY)).toBe(
      example!.formatNational().trim().startsWith('+') ? e164 : null);
  });
});
