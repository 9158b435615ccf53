import fc from 'fast-check';
import { readDeadLetter } from '../../src/dlq/dead-letter';
import { decideReplay, reasonMatcher, replayHeaders, replayProperties, type ReplayRules } from '../../src/dlq/selection';

const all: ReplayRules = { matches: reasonMatcher(undefined), maxReplays: 5 };

const failed = {
  'x-qbl-reason': 'decode.unknown_event', 'x-qbl-detail': 'event E_X', 'x-qbl-stage': 'decode',
  'x-qbl-failed-at': '2024-05-01T12:00:00.000000Z', 'x-qbl-original-exchange': 'opensips',
  'x-qbl-original-routing-key': 'E_X', 'x-delivery-count': 2, 'x-custom': 'kept',
};

describe('reasonMatcher', () => {
  it('matches exact codes, trailing-* prefixes, or everything', () => {
    expect(reasonMatcher('decode.not_json')('decode.not_json')).toBe(true);
    expect(reasonMatcher('decode.not_json')('decode.not_json2')).toBe(false);
    expect(reasonMatcher('decode.*')('decode.bad_time')).toBe(true);
    expect(reasonMatcher('decode.*')('store.rejected')).toBe(false);
    expect(reasonMatcher('*')('anything')).toBe(true);
    expect(reasonMatcher(undefined)('unknown')).toBe(true);
  });
});

describe('decideReplay', () => {
  it('replays to the original destination, or to the given one', () => {
    const info = readDeadLetter(failed);
    expect(decideReplay(info, all)).toEqual({ action: 'replay', target: { exchange: 'opensips', routingKey: 'E_X' } });
    expect(decideReplay(info, { ...all, target: { exchange: 'other', routingKey: 'k' } }))
      .toEqual({ action: 'replay', target: { exchange: 'other', routingKey: 'k' } });
  });

  it('skips other reasons, exhausted replay counts and messages with nowhere to go', () => {
    const info = readDeadLetter(failed);
    expect(decideReplay(info, { ...all, matches: reasonMatcher('store.rejected') })).toEqual({ action: 'skip', why: 'reason' });
    expect(decideReplay(readDeadLetter({ ...failed, 'x-qbl-replay-count': 5 }), all)).toEqual({ action: 'skip', why: 'max_replays' });
    expect(decideReplay(readDeadLetter({ ...failed, 'x-qbl-replay-count': 4 }), all).action).toBe('replay');
    expect(decideReplay(readDeadLetter({ 'x-qbl-reason': 'decode.not_json' }), all)).toEqual({ action: 'skip', why: 'no_target' });
  });

  it('never replays a message whose count reached the limit (property)', () => {
    fc.assert(fc.property(fc.nat(50), fc.nat(50), (count, maxReplays) => {
      const decision = decideReplay(readDeadLetter({ ...failed, 'x-qbl-replay-count': count }), { ...all, maxReplays });
      return decision.action === 'replay' ? count < maxReplays : count >= maxReplays;
    }));
  });
});

describe('replayHeaders / replayProperties', () => {
  it('removes the failure headers, bumps the replay count and keeps the last reason and everything else', () => {
    const headers = replayHeaders({ ...failed, 'x-qbl-replay-count': 1 }, readDeadLetter({ ...failed, 'x-qbl-replay-count': 1 }));
    expect(headers).toEqual({
      'x-qbl-original-exchange': 'opensips', 'x-qbl-original-routing-key': 'E_X', 'x-custom': 'kept',
      'x-qbl-replay-count': 2, 'x-qbl-last-reason': 'decode.unknown_event',
    });
  });

  it('keeps x-death with its count typed as a long, as the broker writes it', () => {
    const death = [{ count: 2, reason: 'delivery_limit', queue: 'q', 'routing-keys': ['k'], exchange: 'e' }];
    const headers = replayHeaders({ 'x-death': death }, readDeadLetter({ 'x-death': death }));
    expect(headers['x-death']).toEqual([{ ...death[0], count: { '!': 'long', value: 2 } }]);
    expect(headers['x-qbl-last-reason']).toBe('delivery_limit');
  });

  it('carries the message properties over, except the user id, and asks for mandatory routing', () => {
    const props = replayProperties({
      contentType: 'application/json', deliveryMode: 2, messageId: 'abc', timestamp: 1_714_564_800, userId: 'guest', headers: failed,
    }, readDeadLetter(failed));
    expect(props).toMatchObject({ contentType: 'application/json', deliveryMode: 2, messageId: 'abc', timestamp: 1_714_564_800, mandatory: true });
    expect(props).not.toHaveProperty('userId');
    expect((props.headers as Record<string, unknown>)['x-qbl-reason']).toBeUndefined();
  });
});
