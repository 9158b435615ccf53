/** QBL_DEFAULT_COUNTRY / QBL_EXIT_CODES / QBL_CARRIER_PREFIXES / QBL_STRIP_PREFIXES → DialPlan. */
import { loadConfig } from '../../src/config/config';
import { readDialPlan } from '../../src/config/dialplan';
import { ConfigError } from '../../src/errors';
import { DEFAULT_DIAL_PLAN } from '../../src/numbers/dial-plan';

function configError(env: Record<string, string>): ConfigError {
  try {
    readDialPlan(env);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('readDialPlan', () => {
  it('defaults: no country, exit codes 00 and 011, nothing stripped', () => {
    expect(readDialPlan({})).toEqual({ defaultCountry: null, exitCodes: ['00', '011'], carrierPrefixes: [], stripPrefixes: [] });
    expect(readDialPlan({})).toEqual(DEFAULT_DIAL_PLAN);
    expect(Object.isFrozen(readDialPlan({}))).toBe(true);
  });

  it('reads every option, trimming, upper-casing the country and dropping duplicates', () => {
    expect(readDialPlan({
      QBL_DEFAULT_COUNTRY: ' br ', QBL_EXIT_CODES: '00, 0011 ,00', QBL_CARRIER_PREFIXES: '15,21,41',
      QBL_STRIP_PREFIXES: '9,010XX',
    })).toEqual({ defaultCountry: 'BR', exitCodes: ['00', '0011'], carrierPrefixes: ['15', '21', '41'], stripPrefixes: ['9', '010xx'] });
  });

  it('`none` empties a list; an empty variable keeps the default', () => {
    expect(readDialPlan({ QBL_EXIT_CODES: 'none' }).exitCodes).toEqual([]);
    expect(readDialPlan({ QBL_EXIT_CODES: '  ' }).exitCodes).toEqual(['00', '011']);
  });

  it('fails with the option name and what was expected', () => {
    const country = configError({ QBL_DEFAULT_COUNTRY: 'Brazil' });
    expect(country).toBeInstanceOf(ConfigError);
    expect(country.option).toBe('QBL_DEFAULT_COUNTRY');
    expect(country.message).toContain('ISO 3166 alpha-2');
    expect(configError({ QBL_DEFAULT_COUNTRY: 'XX' }).option).toBe('QBL_DEFAULT_COUNTRY');
    expect(configError({ QBL_EXIT_CODES: '00,+1' }).message).toBe(
      'QBL_EXIT_CODES: expected comma-separated digit strings of 1 to 6 digits (e.g. 00,011), or none, got "+1"');
    expect(configError({ QBL_EXIT_CODES: '0x' }).option).toBe('QBL_EXIT_CODES'); // no wildcards in exit codes
    expect(configError({ QBL_CARRIER_PREFIXES: '15,2a' }).option).toBe('QBL_CARRIER_PREFIXES');
    expect(configError({ QBL_STRIP_PREFIXES: '123456789' }).option).toBe('QBL_STRIP_PREFIXES');
  });

  it('is part of the service configuration', () => {
    expect(loadConfig({ QBL_DEFAULT_COUNTRY: 'GB', QBL_EXIT_CODES: '00' }).dialPlan)
      .toEqual({ defaultCountry: 'GB', exitCodes: ['00'], carrierPrefixes: [], stripPrefixes: [] });
    expect(() => loadConfig({ QBL_DEFAULT_COUNTRY: 'UK' })).toThrow('QBL_DEFAULT_COUNTRY');
  });
});
