/**
 * Scheduling of the bulk writer: chunking by count and bytes, the concurrency bound, retries
 * and close(). The engine is an in-memory fake whose requests the test completes by hand
 * (no Elasticsearch server can run on this machine; search-store.test.ts uses the client mock).
 */
import { StoreUnavailableError } from '../../src/errors';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import type { BulkAction, BulkItemResult, SearchEngine } from '../../src/stores/search/engine';
import { SearchRequestError } from '../../src/stores/search/engine';
import { noSleep } from './search-fixtures';

interface PendingRequest {
  actions: readonly BulkAction[];
  answer(results?: BulkItemResult[] | Error): void;
}

/** An engine whose bulk requests stay open until the test answers them. */
class ManualEngine implements SearchEngine {
  readonly kind = 'elasticsearch' as const;
  readonly open: PendingRequest[] = [];
  readonly sent: Array<readonly BulkAction[]> = [];
  maxConcurrent = 0;

  bulk(actions: readonly BulkAction[]): Promise<BulkItemResult[]> {
    this.sent.push(actions);
    return new Promise((resolve, reject) => {
      const request: PendingRequest = {
        actions,
        answer: (results) => {
          this.open.splice(this.open.indexOf(request), 1);
          if (results instanceof Error) reject(results);
          else resolve(results ?? actions.map(() => ({ ok: true })));
        },
      };
      this.open.push(request);
      this.maxConcurrent = Math.max(this.maxConcurrent, this.open.length);
    });
  }

  async putIndexTemplate(): Promise<void> {}
  async putLifecyclePolicy() { return { status: 'installed' as const }; }
  async putMapping(): Promise<void> {}
  async mget() { return new Map(); }
  async search() { return []; }
  async count() { return 0; }
  async deleteByQuery() { return { deleted: 0, conflicts: 0 }; }
  async indexCreatedAtMs() { return undefined; }
  async refresh(): Promise<void> {}
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

const actions = (n: number, from = 0): BulkAction[] =>
  Array.from({ length: n }, (_v, k) => ({ index: 'qbl-events-2026.11', id: `e${from + k}`, document: { n: from + k } }));

/** Lets queued microtasks and promise callbacks run. */
const settle = () => new Promise<void>((resolve) => { setImmediate(resolve); });

describe('BulkWriter', () => {
  it('sends everything written at once, in chunks of at most maxDocs', async () => {
    const engine = new ManualEngine();
    const writer = new BulkWriter(engine, { maxDocs: 3, concurrency: 4, sleep: noSleep });
    const written = writer.write(actions(7));
    expect(engine.sent.map((chunk) => chunk.length)).toEqual([3, 3, 1]);
    expect(writer.queued).toBe(0);
    while (engine.open.length > 0) engine.open[0]!.answer();
    expect(await written).toEqual(Array.from({ length: 7 }, () => ({ accepted: true })));
    await writer.close();
  });

  it('splits chunks by bytes', async () => {
    const engine = new ManualEngine();
    const writer = new BulkWriter(engine, { maxDocs: 100, maxBytes: 400, concurrency: 8, sleep: noSleep });
    const big = actions(4).map((action) => ({ ...action, document: { pad: 'x'.repeat(100) } }));
    const written = writer.write(big);
    await settle();
    expect(engine.sent.map((chunk) => chunk.length)).toEqual([2, 2]);
    while (engine.open.length > 0) engine.open[0]!.answer();
    await written;
    await writer.close();
  });

  it('never has more requests in flight than its concurrency', async () => {
    const engine = new ManualEngine();
    const writer = new BulkWriter(engine, { maxDocs: 2, concurrency: 2, sleep: noSleep });
    const written = writer.write(actions(10));
    for (let round = 0; round < 10 && engine.sent.length < 5; round++) {
      await settle();
      expect(engine.open.length).toBeLessThanOrEqual(2);
      engine.open[0]?.answer();
    }
    while (engine.open.length > 0) { engine.open[0]!.answer(); await settle(); }
    await expect(written).resolves.toHaveLength(10);
    expect(engine.sent).toHaveLength(5);
    expect(engine.maxConcurrent).toBe(2);
    await writer.close();
  });

  it('reports outcomes in the order of the actions, rejections with the engine reason', async () => {
    const engine = new ManualEngine();
    const writer = new BulkWriter(engine, { maxDocs: 10, concurrency: 1, sleep: noSleep });
    const written = writer.write(actions(3));
    await settle();
    engine.open[0]!.answer([{ ok: true }, { ok: false, status: 400, reason: 'mapper_parsing_exception: bad' }, { ok: true }]);
    expect(await written).toEqual([
      { accepted: true }, { accepted: false, status: 400, reason: 'mapper_parsing_exception: bad' }, { accepted: true },
    ]);
    expect(writer.stats).toMatchObject({ accepted: 2, rejected: 1 });
    await writer.close();
  });

  it('a non-transient request failure fails the write with StoreUnavailableError without retrying', async () => {
    const engine = new ManualEngine();
    const writer = new BulkWriter(engine, { maxDocs: 10, concurrency: 1, sleep: noSleep });
    const written = writer.write(actions(2));
    await settle();
    engine.open[0]!.answer(new SearchRequestError('HTTP 403: forbidden', false, 403));
    await expect(written).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(engine.sent).toHaveLength(1);
    await writer.close();
  });

  it('close() waits for requests in flight, then refuses new writes', async () => {
    const engine = new ManualEngine();
    const writer = new BulkWriter(engine, { maxDocs: 10, concurrency: 1, sleep: noSleep });
    const written = writer.write(actions(3));
    const closed = writer.close();
    let done = false;
    void closed.then(() => { done = true; });
    await settle();
    expect(engine.sent).toHaveLength(1); // the write went out at once
    expect(done).toBe(false);
    engine.open[0]!.answer();
    await closed;
    await expect(written).resolves.toHaveLength(3);
    await expect(writer.write(actions(1))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(writer.close()).toBe(closed);
  });

  it('waits between tries by the backoff policy (src/backoff.ts), then gives up with StoreUnavailableError', async () => {
    const engine = new ManualEngine();
    const slept: number[] = [];
    const writer = new BulkWriter(engine, {
      maxDocs: 10, concurrency: 1, maxAttempts: 6, retry: { initialMs: 100, maxMs: 1000 },
      random: () => 0, sleep: async (ms) => { slept.push(ms); },
    });
    const written = writer.write(actions(1));
    for (let attempt = 1; attempt <= 6; attempt++) {
      await settle();
      engine.open[0]!.answer(new SearchRequestError('HTTP 503: unavailable', true, 503));
    }
    await expect(written).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(slept).toEqual([100, 200, 400, 800, 1000]);
    await writer.close();
  });
});
