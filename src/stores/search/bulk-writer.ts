/**
 * Bulk indexing modelled on elasticsearch-js `helpers.bulk`: the actions of a write are sent at
 * once, in chunks (by count or bytes), with at most `concurrency` requests in flight; the rest
 * wait for a slot. (There is no flush interval: the only writer is a store commit, which waits
 * for its documents before the batch may be acked, so holding them back would only delay it.)
 * Every item's result is read:
 * - 429 and 5xx items (and whole requests lost to connection errors, timeouts, 429, 5xx) are
 *   retried with capped exponential backoff and jitter (src/backoff.ts), holding their concurrency slot (backpressure);
 * - any other failed item is rejected for good with the engine's reason, never blocking the rest;
 * - items still failing after `maxAttempts` fail their `write()` with StoreUnavailableError.
 */
import { type BackoffPolicy, backoffDelayMs, sleep, validateBackoff } from '../../backoff';
import { StoreUnavailableError } from '../../errors';
import type { Logger } from '../../observability/logger';
import { type BulkAction, type SearchEngine, SearchRequestError, isTransientStatus } from './engine';

export type DocOutcome =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly status: number; readonly reason: string };

export interface BulkWriterOptions {
  /** At most this many actions per request… */
  readonly maxDocs: number;
  /** …and at most this many bytes of documents (a single larger document goes alone). */
  readonly maxBytes?: number;
  readonly concurrency: number;
  /** Tries per item, the first included. */
  readonly maxAttempts?: number;
  /** Between tries of an item; 100 ms doubling to 5 s unless told. */
  readonly retry?: BackoffPolicy;
  /** Injected so tests need no real waiting. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The jitter's draw from [0, 1); Math.random unless told. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

export interface BulkWriterStats {
  accepted: number;
  rejected: number;
  /** Items sent again after a transient failure. */
  retried: number;
  requests: number;
  failedRequests: number;
  /** Items given up on after maxAttempts (their write() threw StoreUnavailableError). */
  unavailable: number;
}

interface Item {
  readonly action: BulkAction;
  readonly bytes: number;
  readonly settle: (outcome: DocOutcome | Error) => void;
}

const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
const DEFAULT_MAX_ATTEMPTS = 6;
const DEFAULT_RETRY: BackoffPolicy = Object.freeze({ initialMs: 100, maxMs: 5_000 });

export class BulkWriter {
  readonly stats: BulkWriterStats = { accepted: 0, rejected: 0, retried: 0, requests: 0, failedRequests: 0, unavailable: 0 };
  private readonly maxBytes: number;
  private readonly maxAttempts: number;
  private readonly retry: BackoffPolicy;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private pending: Item[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closing: Promise<void> | null = null;

  constructor(private readonly engine: SearchEngine, private readonly options: BulkWriterOptions) {
    if (!(options.maxDocs >= 1)) throw new RangeError('maxDocs: expected at least 1');
    if (!(options.concurrency >= 1)) throw new RangeError('concurrency: expected at least 1');
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.retry = options.retry ?? DEFAULT_RETRY;
    validateBackoff(this.retry, 'retry');
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? sleep;
  }

  get queued(): number {
    return this.pending.length;
  }

  get inFlightRequests(): number {
    return this.inFlight.size;
  }

  /**
   * Queues the actions; resolves with one outcome per action (same order) once every one was
   * accepted or rejected for good. Rejects with StoreUnavailableError if any stayed unwritable.
   */
  write(actions: readonly BulkAction[]): Promise<DocOutcome[]> {
    if (this.closing) return Promise.reject(new StoreUnavailableError('bulk writer is closed'));
    if (actions.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const outcomes: DocOutcome[] = new Array(actions.length);
      let remaining = actions.length;
      let failure: Error | null = null;
      actions.forEach((action, position) => {
        const bytes = Buffer.byteLength(JSON.stringify(action.document)) + action.id.length + action.index.length + 40;
        this.pending.push({
          action,
          bytes,
          settle: (outcome) => {
            if (outcome instanceof Error) failure ??= outcome;
            else outcomes[position] = outcome;
            if (--remaining === 0) {
              if (failure) reject(failure);
              else resolve(outcomes);
            }
          },
        });
      });
      this.schedule();
    });
  }

  /** Waits for every request (retries included), then refuses new writes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    })();
    return this.closing;
  }

  private schedule(): void {
    while (this.pending.length > 0 && this.inFlight.size < this.options.concurrency) this.start(this.takeChunk());
  }

  private takeChunk(): Item[] {
    let count = 0;
    let bytes = 0;
    while (count < this.pending.length && count < this.options.maxDocs) {
      const next = this.pending[count]!;
      if (count > 0 && bytes + next.bytes > this.maxBytes) break;
      bytes += next.bytes;
      count++;
    }
    return this.pending.splice(0, count);
  }

  private start(chunk: Item[]): void {
    const request = this.send(chunk, 1).catch((error: unknown) => {
      // send() settles every item itself; this only guards against a bug leaving a promise unhandled.
      this.options.logger?.error({ err: error }, 'bulk writer: unexpected failure');
      for (const item of chunk) item.settle(error instanceof Error ? error : new Error(String(error)));
    }).finally(() => {
      this.inFlight.delete(request);
      this.schedule();
    });
    this.inFlight.add(request);
  }

  private async send(initial: Item[], firstAttempt: number): Promise<void> {
    let items = initial;
    for (let attempt = firstAttempt; ; attempt++) {
      let results;
      try {
        this.stats.requests++;
        results = await this.engine.bulk(items.map((item) => item.action));
      } catch (error) {
        this.stats.failedRequests++;
        const requestError = error instanceof SearchRequestError ? error : new SearchRequestError(String(error), false);
        if (requestError.statusCode === 413) {
          await this.splitTooLarge(items, attempt, requestError);
          return;
        }
        if (!requestError.transient || attempt >= this.maxAttempts) {
          this.giveUp(items, requestError.message, attempt);
          return;
        }
        this.options.logger?.warn({ docs: items.length, attempt, reason: requestError.message }, 'bulk request failed; retrying');
        this.stats.retried += items.length;
        await this.sleep(backoffDelayMs(attempt, this.retry, this.random()));
        continue;
      }
      const retry: Item[] = [];
      let retryReason = '';
      results.forEach((result, position) => {
        const item = items[position]!;
        if (result.ok) {
          this.stats.accepted++;
          item.settle({ accepted: true });
        } else if (isTransientStatus(result.status)) {
          retry.push(item);
          retryReason = `HTTP ${result.status}: ${result.reason}`;
        } else {
          this.stats.rejected++;
          item.settle({ accepted: false, status: result.status, reason: result.reason });
        }
      });
      if (retry.length === 0) return;
      if (attempt >= this.maxAttempts) {
        this.giveUp(retry, retryReason, attempt);
        return;
      }
      this.options.logger?.warn({ docs: retry.length, attempt, reason: retryReason }, 'bulk items throttled or failed on the engine; retrying');
      this.stats.retried += retry.length;
      await this.sleep(backoffDelayMs(attempt, this.retry, this.random()));
      items = retry;
    }
  }

  /** HTTP 413: halve the request; a single document too large is rejected with the reason. */
  private async splitTooLarge(items: Item[], attempt: number, error: SearchRequestError): Promise<void> {
    if (items.length === 1) {
      this.stats.rejected++;
      items[0]!.settle({ accepted: false, status: 413, reason: error.message });
      return;
    }
    const half = Math.ceil(items.length / 2);
    await this.send(items.slice(0, half), attempt);
    await this.send(items.slice(half), attempt);
  }

  private giveUp(items: readonly Item[], reason: string, attempts: number): void {
    this.stats.unavailable += items.length;
    this.options.logger?.error({ docs: items.length, attempts, reason }, 'search engine unavailable: bulk items not written');
    const error = new StoreUnavailableError(`search engine did not accept ${items.length} documents after ${attempts} attempts: ${reason}`);
    for (const item of items) item.settle(error);
  }
}
