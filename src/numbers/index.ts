/** Numbers as people dial them → E.164 (see docs/opensips.md, "Numbers as people dial them"). */
export { DEFAULT_DIAL_PLAN, DEFAULT_EXIT_CODES, toCountryCode, type CountryCode, type DialPlan } from './dial-plan';
export { cleanDialled, normaliseNumber, readingsOf } from './normalise';
export { createNormaliser, DEFAULT_NUMBER_CACHE_ENTRIES, makeNumberEnricher, type NumberNormaliser } from './normaliser';
