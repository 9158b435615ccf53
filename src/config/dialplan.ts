/** QBL_DEFAULT_COUNTRY, QBL_EXIT_CODES, QBL_CARRIER_PREFIXES, QBL_STRIP_PREFIXES → a frozen DialPlan. */
import { ConfigError } from '../errors';
import {
  DEFAULT_EXIT_CODES, EXIT_CODE_PATTERN, toCountryCode, WILDCARD_PREFIX_PATTERN, type DialPlan,
} from '../numbers/dial-plan';
import { type Env, readOptionalString } from './env';

/** A comma-separated list; `none` is the explicit empty list (an empty variable means the default). */
function readPrefixList(env: Env, name: string, fallback: readonly string[], pattern: RegExp, expected: string): readonly string[] {
  const text = readOptionalString(env, name);
  if (text === undefined) return fallback;
  if (text.toLowerCase() === 'none') return Object.freeze([]);
  const items = text.split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '');
  for (const item of items) {
    if (!pattern.test(item)) throw new ConfigError(name, expected, item);
  }
  return Object.freeze([...new Set(items)]);
}

export function readDialPlan(env: Env): DialPlan {
  const countryText = readOptionalString(env, 'QBL_DEFAULT_COUNTRY');
  const defaultCountry = countryText === undefined ? null : toCountryCode(countryText);
  if (countryText !== undefined && defaultCountry === null) {
    throw new ConfigError('QBL_DEFAULT_COUNTRY', 'an ISO 3166 alpha-2 country code such as BR, US, GB', countryText);
  }
  return Object.freeze({
    defaultCountry,
    exitCodes: readPrefixList(env, 'QBL_EXIT_CODES', DEFAULT_EXIT_CODES, EXIT_CODE_PATTERN,
      'comma-separated digit strings of 1 to 6 digits (e.g. 00,011), or none'),
    carrierPrefixes: readPrefixList(env, 'QBL_CARRIER_PREFIXES', [], WILDCARD_PREFIX_PATTERN,
      'comma-separated digit strings of 1 to 8 digits, x for any digit (e.g. 12,14,15,21,41), or none'),
    stripPrefixes: readPrefixList(env, 'QBL_STRIP_PREFIXES', [], WILDCARD_PREFIX_PATTERN,
      'comma-separated digit strings of 1 to 8 digits, x for any digit (e.g. 9 or 010xx), or none'),
  });
}
