/** QBL_LOOKUP_* → the lookup listener's frozen configuration (docs/lookup.md). */
import { ConfigError } from '../errors';
import {
  DEFAULT_ACTIONS, DEFAULT_INVALID_CODES, DEFAULT_LIMITS, DEFAULT_POLL_INTERVAL_MS, DEFAULT_RULES, REASONS,
  type Action, type LookupOptions, type Reason,
} from '../lookup/options';
import { type Env, readInt, readOptionalString, readString } from './env';

/** The lookup's own options type: the configuration only reads it from the environment. */
export type LookupConfig = LookupOptions;

function readList(env: Env, name: string, fallback: readonly string[]): readonly string[] {
  const text = readOptionalString(env, name);
  if (text === undefined) return fallback;
  if (text.toLowerCase() === 'none') return [];
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function readReasons(env: Env, name: string, fallback: readonly Reason[]): Set<Reason> {
  const reasons = new Set<Reason>();
  for (const item of readList(env, name, fallback)) {
    if (!(REASONS as readonly string[]).includes(item)) throw new ConfigError(name, `comma-separated reasons from ${REASONS.join(', ')}, or none`, item);
    reasons.add(item as Reason);
  }
  return reasons;
}

function readActions(env: Env): Readonly<Record<Reason, Action>> {
  const byDefault = (action: Action) => REASONS.filter((reason) => DEFAULT_ACTIONS[reason] === action);
  const block = readReasons(env, 'QBL_LOOKUP_BLOCK_REASONS', byDefault('block'));
  const warn = readReasons(env, 'QBL_LOOKUP_WARN_REASONS', byDefault('warn'));
  const both = [...block].filter((reason) => warn.has(reason));
  if (both.length > 0) throw new ConfigError('QBL_LOOKUP_WARN_REASONS', 'no reason that QBL_LOOKUP_BLOCK_REASONS already lists', both.join(','));
  const actions = {} as Record<Reason, Action>;
  for (const reason of REASONS) actions[reason] = block.has(reason) ? 'block' : warn.has(reason) ? 'warn' : 'ignore';
  return Object.freeze(actions);
}

function readCodes(env: Env): ReadonlySet<number> {
  const name = 'QBL_LOOKUP_INVALID_CODES';
  const codes = new Set<number>();
  for (const item of readList(env, name, DEFAULT_INVALID_CODES.map(String))) {
    if (!/^[3-6][0-9]{2}$/.test(item)) throw new ConfigError(name, 'comma-separated SIP final codes from 300 to 699', item);
    codes.add(Number(item));
  }
  if (codes.size === 0) throw new ConfigError(name, 'at least one SIP final code', 'none');
  return codes;
}

export function readLookup(env: Env): LookupConfig {
  const d = DEFAULT_RULES;
  return Object.freeze({
    port: readInt(env, 'QBL_LOOKUP_PORT', 0, 0, 65535),
    host: readString(env, 'QBL_LOOKUP_HOST', '127.0.0.1'),
    rules: Object.freeze({
      invalidCalls: readInt(env, 'QBL_LOOKUP_INVALID_CALLS', d.invalidCalls, 1, 16),
      invalidCodes: readCodes(env),
      windowDays: readInt(env, 'QBL_LOOKUP_WINDOW_DAYS', d.windowDays, 1, 31),
      burstCalls: readInt(env, 'QBL_LOOKUP_BURST_CALLS', d.burstCalls, 2, 200),
      burstWindowS: readInt(env, 'QBL_LOOKUP_BURST_WINDOW_S', d.burstWindowS, 10, 86_400),
      burstPrefixDigits: readInt(env, 'QBL_LOOKUP_BURST_PREFIX_DIGITS', d.burstPrefixDigits, 1, 15),
      burstShortS: readInt(env, 'QBL_LOOKUP_BURST_SHORT_S', d.burstShortS, 0, 3600),
      actions: readActions(env),
    }),
    limits: Object.freeze({
      maxNumbers: readInt(env, 'QBL_LOOKUP_MAX_NUMBERS', DEFAULT_LIMITS.maxNumbers, 1000, 50_000_000),
      maxPairs: readInt(env, 'QBL_LOOKUP_MAX_PAIRS', DEFAULT_LIMITS.maxPairs, 1000, 50_000_000),
    }),
    pollIntervalMs: readInt(env, 'QBL_LOOKUP_POLL_S', DEFAULT_POLL_INTERVAL_MS / 1000, 1, 60) * 1000,
  });
}
