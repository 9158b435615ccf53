/**
 * Getting verdicts for a batch out of the handler, whatever it throws:
 * - StoreUnavailableError: the same deliveries are tried again with capped backoff, for as long as
 *   it takes (intake is paused meanwhile by the prefetch limit), unless the batch is abandoned;
 * - anything else is a bug or a poison message: the batch is halved and each half tried on its
 *   own, down to single deliveries, so only the poison one is dead-lettered (`process.failed`)
 *   and every other one is committed. A batch of n with one poison message takes about 2·log2(n)
 *   handler calls.
 * No broker here: the unit tests drive it with a fake handler.
 */
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelayMs, sleep } from '../../src/backoff';
import { StoreUnavailableError } from '../../src/errors';
import type { BatchHandler, Delivery, Verdict } from '../batch-handler';
import { oneLine } from './dead-letter';

export interface AttemptsOptions {
  readonly handler: BatchHandler;
  /** Between tries of a batch the store could not take. */
  readonly retry: BackoffPolicy;
  readonly random: () => number;
  readonly logger: Logger;
  /** Cuts a backoff wait short (the consumer is closing); the batch is then abandoned. */
  readonly signal: AbortSignal;
  /** Told before each wait for the store (for the consumer's stats). */
  readonly onStoreRetry?: (error: StoreUnavailableError) => void;
}

type Attempt =
  | { readonly kind: 'ok'; readonly verdicts: readonly Verdict[] }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'abandoned' };

export class Attempts {
  private storePaused = false;

  constructor(private readonly options: AttemptsOptions) {}

  /**
   * One verdict per delivery, or undefined when the batch must be abandoned: `abandoned()` turned
   * true while the store was unavailable (its connection was lost, or the consumer is closing).
   */
  async verdicts(deliveries: readonly Delivery[], abandoned: () => boolean): Promise<readonly Verdict[] | undefined> {
    const first = await this.attempt(deliveries, abandoned);
    if (first.kind !== 'failed') return first.kind === 'ok' ? first.verdicts : undefined;
    if (deliveries.length === 1) return [processFailed(first.error)];
    this.options.logger.error({ err: first.error, batchSize: deliveries.length },
      'batch handler failed; halving the batch to isolate the poison message');
    return this.isolate(deliveries, abandoned);
  }

  /** Halves a failing batch until each failure is one delivery. */
  private async isolate(deliveries: readonly Delivery[], abandoned: () => boolean): Promise<Verdict[] | undefined> {
    const half = Math.ceil(deliveries.length / 2);
    const verdicts: Verdict[] = [];
    for (const part of [deliveries.slice(0, half), deliveries.slice(half)]) {
      const result = await this.attempt(part, abandoned);
      if (result.kind === 'abandoned') return undefined;
      if (result.kind === 'ok') {
        verdicts.push(...result.verdicts);
      } else if (part.length === 1) {
        verdicts.push(processFailed(result.error));
      } else {
        const inner = await this.isolate(part, abandoned);
        if (inner === undefined) return undefined;
        verdicts.push(...inner);
      }
    }
    return verdicts;
  }

  /** Calls the handler; repeats it while it throws StoreUnavailableError. */
  private async attempt(deliveries: readonly Delivery[], abandoned: () => boolean): Promise<Attempt> {
    const { logger } = this.options;
    for (let retry = 1; ; retry++) {
      try {
        const verdicts = await this.options.handler(deliveries);
        checkVerdicts(verdicts, deliveries.length);
        if (this.storePaused) {
          this.storePaused = false;
          logger.info({ retries: retry - 1 }, 'store available again; intake resumed');
        }
        return { kind: 'ok', verdicts };
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) return { kind: 'failed', error };
        if (!this.storePaused) {
          this.storePaused = true;
          logger.warn({ err: error }, 'store unavailable; intake paused, retrying the same batch with backoff');
        }
        if (abandoned() || this.options.signal.aborted) return { kind: 'abandoned' };
        this.options.onStoreRetry?.(error);
        await sleep(backoffDelayMs(retry, this.options.retry, this.options.random()), this.options.signal);
        if (abandoned() || this.options.signal.aborted) return { kind: 'abandoned' };
      }
    }
  }
}

/** A malformed verdict is a handler bug: caught here, it goes through poison isolation instead of failing the publish. */
function checkVerdicts(verdicts: readonly Verdict[], expected: number): void {
  if (!Array.isArray(verdicts) || verdicts.length !== expected) {
    throw new Error(`handler returned ${Array.isArray(verdicts) ? verdicts.length : typeof verdicts} verdicts for ${expected} deliveries`);
  }
  for (const verdict of verdicts) {
    const valid = verdict?.action === 'ack' || (verdict?.action === 'dead-letter' && typeof verdict.reason === 'string'
      && typeof verdict.detail === 'string' && typeof verdict.stage === 'string');
    if (!valid) throw new Error(`handler returned an invalid verdict: ${oneLine(JSON.stringify(verdict) ?? String(verdict), 200)}`);
  }
}

function processFailed(error: unknown): Verdict {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { action: 'dead-letter', reason: 'process.failed', detail: oneLine(message), stage: 'correlate' };
}
