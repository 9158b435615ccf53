import { originalRoute } from '../../consumers/amqp/headers';
import { readDeadLetter, UNKNOWN_REASON } from '../../src/dlq/dead-letter';
import { buildDeadLetter } from '../../consumers/amqp/dead-letter';

const T0_US = Date.UTC(2024, 4, 1, 12, 0, 0) * 1000 + 123_456;

describe('readDeadLetter', () => {
  it('reads the headers the consumer writes', () => {
    const letter = buildDeadLetter(
      { body: Buffer.from('{}'), exchange: 'opensips', routingKey: 'E_ACC_CDR', headers: {} },
      { reason: 'decode.no_call_id', detail: 'no callid', stage: 'decode' },
      T0_US,
    );
    const info = readDeadLetter(letter.options.headers);
    expect(info).toEqual({
      reason: 'decode.no_call_id', detail: 'no callid', stage: 'decode', failedAtUs: T0_US,
      originalExchange: 'opensips', originalRoutingKey: 'E_ACC_CDR', replayCount: 0,
      lastReason: undefined, death: undefined,
    });
  });

  it('shows a broker dead-lettering as delivery_limit with the x-death queue, reason, count and time', () => {
    const info = readDeadLetter({
      'x-death': [
        { count: 3, reason: 'delivery_limit', queue: 'qbl.events', time: { '!': 'timestamp', value: 1_714_564_800 }, exchange: 'opensips', 'routing-keys': ['E_DIALOG'] },
        { count: 1, reason: 'rejected', queue: 'older', exchange: 'x', 'routing-keys': ['y'] },
      ],
    });
    expect(info.reason).toBe('delivery_limit');
    expect(info.death).toEqual({ queue: 'qbl.events', reason: 'delivery_limit', count: 3, exchange: 'opensips', routingKey: 'E_DIALOG', timeUs: 1_714_564_800_000_000 });
    expect(info.failedAtUs).toBe(1_714_564_800_000_000);
    expect(info.originalExchange).toBe('opensips');
    expect(info.originalRoutingKey).toBe('E_DIALOG');
  });

  it('prefers x-qbl-reason and our failed-at over x-death', () => {
    const info = readDeadLetter({
      'x-qbl-reason': 'store.rejected', 'x-qbl-failed-at': '2024-05-01T12:00:00.123456Z',
      'x-qbl-original-exchange': 'a', 'x-qbl-original-routing-key': 'b',
      'x-death': [{ count: 1, reason: 'delivery_limit', queue: 'q', time: { '!': 'timestamp', value: 1 }, exchange: 'z', 'routing-keys': ['w'] }],
    });
    expect(info.reason).toBe('store.rejected');
    expect(info.failedAtUs).toBe(T0_US);
    expect([info.originalExchange, info.originalRoutingKey]).toEqual(['a', 'b']);
  });

  it('tolerates missing, Buffer and string-typed values', () => {
    expect(readDeadLetter(undefined)).toMatchObject({ reason: UNKNOWN_REASON, replayCount: 0, failedAtUs: undefined });
    const info = readDeadLetter({
      'x-qbl-reason': Buffer.from('decode.bad_time'), 'x-qbl-replay-count': '2', 'x-qbl-last-reason': 'decode.bad_time',
      'x-qbl-failed-at': '2024-05-01T12:00:00.5Z',
    });
    expect(info).toMatchObject({ reason: 'decode.bad_time', replayCount: 2, lastReason: 'decode.bad_time', failedAtUs: Date.UTC(2024, 4, 1, 12) * 1000 + 500_000 });
    expect(readDeadLetter({ 'x-qbl-reason': 'decode.bad_time', 'x-qbl-failed-at': 'yesterday' }).failedAtUs).toBeUndefined();
    expect(readDeadLetter({ 'x-qbl-replay-count': 'many' }).replayCount).toBe(0);
  });
});

describe('originalRoute', () => {
  const moved = { 'x-qbl-original-exchange': 'opensips', 'x-qbl-original-routing-key': 'opensips.qbl' };

  it('a delivery through the default exchange (a move, a replay to the queue) takes its first route from the headers', () => {
    expect(originalRoute('', 'qbl.events', moved)).toEqual({ exchange: 'opensips', routingKey: 'opensips.qbl' });
  });

  it('a delivery the router republished to a partition (QBL_PARTITIONS > 1) takes its first route from the headers too', () => {
    expect(originalRoute('qbl.events.partitions', '3', moved)).toEqual({ exchange: 'opensips', routingKey: 'opensips.qbl' });
  });

  it('any other delivery keeps the route the broker saw; incomplete headers are ignored', () => {
    expect(originalRoute('other', 'k', moved)).toEqual({ exchange: 'other', routingKey: 'k' });
    expect(originalRoute('', 'qbl.events', { 'x-qbl-original-exchange': 'opensips' })).toEqual({ exchange: '', routingKey: 'qbl.events' });
    expect(originalRoute('', 'qbl.events', undefined)).toEqual({ exchange: '', routingKey: 'qbl.events' });
  });
});
