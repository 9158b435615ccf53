/**
 * Waiting between tries: capped exponential backoff with jitter (pure: the caller passes the
 * random draw), and the wait itself, which a closing owner can cut short.
 */

export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** No delay is ever longer than this, jitter included. */
  readonly maxMs: number;
  /** Growth per attempt; 2 unless told. */
  readonly factor?: number;
  /** Fraction (0–1) of the delay that is randomised downwards, so many clients do not retry in step. */
  readonly jitter?: number;
}

export function validateBackoff(policy: BackoffPolicy, name = 'backoff'): void {
  const { initialMs, maxMs, factor = 2, jitter = 0.2 } = policy;
  if (!Number.isFinite(initialMs) || initialMs < 0) throw new RangeError(`${name}.initialMs: expected a finite number ≥ 0`);
  if (!Number.isFinite(maxMs) || maxMs < initialMs) throw new RangeError(`${name}.maxMs: expected a finite number ≥ initialMs`);
  if (!Number.isFinite(factor) || factor < 1) throw new RangeError(`${name}.factor: expected a finite number ≥ 1`);
  if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1) throw new RangeError(`${name}.jitter: expected 0 to 1`);
}

/**
 * Delay before retry number `attempt` (1 = first retry).
 * base = min(maxMs, initialMs·factor^(attempt−1)); the result lies in [base·(1−jitter), base],
 * so jitter never pushes a delay over the cap. `random` is a draw from [0, 1).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: number): number {
  const { initialMs, maxMs, factor = 2, jitter = 0.2 } = policy;
  const n = Math.max(1, Math.floor(attempt));
  // Growth may overflow to Infinity for huge attempts: min() caps it; initialMs 0 is special-cased (0·Infinity is NaN).
  const growth = Math.pow(factor, n - 1);
  const base = initialMs === 0 ? 0 : Math.min(maxMs, initialMs * growth);
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(base * (1 - jitter * r));
}

/** Resolves after `ms`, or at once when `signal` is (or becomes) aborted; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });
}
