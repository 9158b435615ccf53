/**
 * The number lookup's options and their defaults (docs/lookup.md): what the configuration composes
 * into `Config.lookup`, and all the lookup's code needs from it. No imports: the configuration
 * loader may depend on this file without depending on the lookup.
 */

/** Stable reason codes, in the order an answer lists them. */
export const REASONS = ['blocklisted', 'fraud_burst', 'invalid_number', 'malformed'] as const;
export type Reason = (typeof REASONS)[number];

/** What a reason does to the verdict; `ignore`: its figures are still shown, the verdict is not touched. */
export type Action = 'block' | 'warn' | 'ignore';

export interface LookupRules {
  /** invalid_number: this many most recent calls to the number… */
  readonly invalidCalls: number;
  /** …all ended with one of these codes… */
  readonly invalidCodes: ReadonlySet<number>;
  /** …all within this window, which is also the window of the figures (whole UTC days). */
  readonly windowDays: number;
  /** fraud_burst: more than this many calls from one caller to one destination prefix… */
  readonly burstCalls: number;
  /** …within this window… */
  readonly burstWindowS: number;
  /** …where the prefix is the first this many digits of the destination… */
  readonly burstPrefixDigits: number;
  /** …and most of them unanswered or answered for less than this. */
  readonly burstShortS: number;
  readonly actions: Readonly<Record<Reason, Action>>;
}

/**
 * A careful operator's defaults: only what a person decided (the block list) and the pattern that
 * costs money by the minute (a burst to one premium range) block; the rest warns, because a
 * number that failed three times may be fixed or reassigned, and libphonenumber's ranges lag
 * behind new numbering.
 */
export const DEFAULT_ACTIONS: Readonly<Record<Reason, Action>> = Object.freeze({
  blocklisted: 'block',
  fraud_burst: 'block',
  invalid_number: 'warn',
  malformed: 'warn',
});

export const DEFAULT_INVALID_CODES: readonly number[] = Object.freeze([404, 410, 484, 604]);

export const DEFAULT_RULES: LookupRules = Object.freeze({
  invalidCalls: 3,
  invalidCodes: new Set(DEFAULT_INVALID_CODES),
  windowDays: 7,
  burstCalls: 10,
  burstWindowS: 600,
  burstPrefixDigits: 6,
  burstShortS: 10,
  actions: DEFAULT_ACTIONS,
});

export interface LookupLimits {
  /** Destination numbers tracked at most (least recently called evicted first). */
  readonly maxNumbers: number;
  /** (caller, destination prefix) pairs tracked at most. */
  readonly maxPairs: number;
}

export const DEFAULT_LIMITS: LookupLimits = Object.freeze({ maxNumbers: 1_000_000, maxPairs: 250_000 });

export interface LookupOptions {
  /** 0: no lookup listener (the default). */
  readonly port: number;
  readonly host: string;
  readonly rules: LookupRules;
  readonly limits: LookupLimits;
  /** How often the block list (and, with a shared store, the figures) are read from the store. */
  readonly pollIntervalMs: number;
}

export const DEFAULT_POLL_INTERVAL_MS = 2000;
