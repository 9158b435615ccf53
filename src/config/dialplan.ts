/** QBL_DEFAULT_COUNTRY, QBL_EXIT_CODES, QBL_CARRIER_PREFIXES, QBL_STRIP_PREFIXES → a frozen DialPlan. */
import type { DialPlan } from '../numbers/dial-plan';
import { type Env, read } from './env';
import { VARIABLES as V } from './variables';

export function readDialPlan(env: Env): DialPlan {
  return Object.freeze({
    defaultCountry: read(env, V.QBL_DEFAULT_COUNTRY) ?? null,
    exitCodes: read(env, V.QBL_EXIT_CODES),
    carrierPrefixes: read(env, V.QBL_CARRIER_PREFIXES),
    stripPrefixes: read(env, V.QBL_STRIP_PREFIXES),
  });
}
