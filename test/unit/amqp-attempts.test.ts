/** Store retries and poison isolation, without a broker: a fake handler decides what each call does. */
import pino from 'pino';
import { Attempts } from '../../consumers/amqp/attempts';
import type { BatchHandler, Delivery, Verdict } from '../../consumers/batch-handler';
import { StoreUnavailableError } from '../../src/errors';

const ACK: Verdict = { action: 'ack' };
const deliveries = (...names: string[]): Delivery[] => names.map((name) => ({
  body: Buffer.from(name), exchange: 'x', routingKey: 'k', headers: {}, redelivered: false, receivedAtUs: 0,
}));
const names = (batch: readonly Delivery[]): string[] => batch.map((d) => d.body.toString());
const never = (): boolean => false;

function attempts(handler: BatchHandler, signal = new AbortController().signal, onStoreRetry?: () => void): Attempts {
  return new Attempts({
    handler, retry: { initialMs: 0, maxMs: 0 }, random: () => 0, logger: pino({ level: 'silent' }), signal, onStoreRetry,
  });
}

describe('Attempts', () => {
  it('returns the handler\'s verdicts when it succeeds at once', async () => {
    const calls: string[][] = [];
    const a = attempts(async (batch) => {
      calls.push(names(batch));
      return batch.map(() => ACK);
    });
    expect(await a.verdicts(deliveries('a', 'b'), never)).toEqual([ACK, ACK]);
    expect(calls).toEqual([['a', 'b']]);
  });

  it('retries the same batch while the store is unavailable, counting each retry', async () => {
    const calls: string[][] = [];
    let retries = 0;
    let failures = 3;
    const a = attempts(async (batch) => {
      calls.push(names(batch));
      if (failures-- > 0) throw new StoreUnavailableError('database is locked');
      return batch.map(() => ACK);
    }, undefined, () => { retries++; });
    expect(await a.verdicts(deliveries('a', 'b', 'c'), never)).toEqual([ACK, ACK, ACK]);
    expect(calls).toEqual(Array(4).fill(['a', 'b', 'c']));
    expect(retries).toBe(3);
  });

  it('abandons the batch (undefined) when it can no longer be acked, or the consumer closes, while the store is down', async () => {
    let lost = false;
    const down = attempts(async () => {
      lost = true; // the connection goes while the store is down
      throw new StoreUnavailableError('disk full');
    });
    expect(await down.verdicts(deliveries('a'), () => lost)).toBeUndefined();

    const closing = new AbortController();
    const closed = attempts(async () => {
      closing.abort();
      throw new StoreUnavailableError('disk full');
    }, closing.signal);
    expect(await closed.verdicts(deliveries('a', 'b'), never)).toBeUndefined();
  });

  it('isolates one poison message by halving: it alone is dead-lettered as process.failed, in order, in few calls', async () => {
    const batch = deliveries(...Array.from({ length: 64 }, (_, i) => `m${i}`));
    const committed: string[] = [];
    let calls = 0;
    const a = attempts(async (part) => {
      calls++;
      if (names(part).includes('m37')) throw new TypeError('cannot read properties of undefined');
      committed.push(...names(part));
      return part.map(() => ACK);
    });
    const verdicts = await a.verdicts(batch, never);
    expect(verdicts).toHaveLength(64);
    expect(verdicts!.filter((v) => v.action === 'dead-letter')).toEqual([
      { action: 'dead-letter', reason: 'process.failed', detail: 'TypeError: cannot read properties of undefined', stage: 'correlate' },
    ]);
    expect(verdicts![37]!.action).toBe('dead-letter');
    expect(committed).toEqual(names(batch).filter((n) => n !== 'm37'));
    // 1 whole + 2 per level of the halving (6 levels for 64): far fewer than one call per message.
    expect(calls).toBe(1 + 2 * 6);
  });

  it('isolates several poison messages, and a store outage during isolation is waited out', async () => {
    let outage = 2;
    const a = attempts(async (part) => {
      if (part.length === 2 && outage-- > 0) throw new StoreUnavailableError('locked');
      if (names(part).some((n) => n.startsWith('bad'))) throw new Error('boom');
      return part.map(() => ACK);
    });
    const verdicts = await a.verdicts(deliveries('a', 'bad1', 'b', 'c', 'bad2'), never);
    expect(verdicts!.map((v) => v.action)).toEqual(['ack', 'dead-letter', 'ack', 'ack', 'dead-letter']);
  });

  it('treats a wrong number of verdicts or a malformed verdict as a handler failure of that batch', async () => {
    const short = attempts(async (batch) => (batch.length > 1 ? [ACK] : [ACK]));
    expect(await short.verdicts(deliveries('a', 'b'), never)).toEqual([ACK, ACK]);

    const malformed = attempts(async (batch) => batch.map((d) => (d.body.toString() === 'x'
      ? ({ action: 'dead-letter', reason: 'decode.bad_text' } as unknown as Verdict)
      : ACK)));
    const verdicts = await malformed.verdicts(deliveries('x', 'y'), never);
    expect(verdicts![0]).toMatchObject({ action: 'dead-letter', reason: 'process.failed' });
    expect(verdicts![0]!.action === 'dead-letter' && verdicts![0]!.detail).toContain('invalid verdict');
    expect(verdicts![1]).toEqual(ACK);
  });
});
