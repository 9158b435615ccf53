import { cloneCallState, hasMerged, mergeEvent, newCallState, type CallState } from '../../correlators/call-state';
import type { CallEvent } from '../../correlators/events';
import { callEvent, T0 } from '../support/call-events';

/** A state whose every field holds a value no other field holds. */
function distinctFields(callId: string): CallState {
  const state = newCallState(callId) as unknown as Record<string, unknown>;
  for (const key of Object.keys(state)) if (key !== 'callId') state[key] = Symbol(key);
  return state as unknown as CallState;
}

describe('CallState copies', () => {
  test('cloneCallState copies every field, and merging into the copy leaves the original as it was', () => {
    const source = distinctFields('c1');
    expect(cloneCallState(source)).toEqual(source);

    const original = newCallState('c1');
    mergeEvent(original, callEvent('invite_request', 'c1', T0));
    const before = { ...original, eventIds: [...original.eventIds] };
    const copy = cloneCallState(original);
    mergeEvent(copy, callEvent('invite_reply', 'c1', T0 + 1, { code: 180 }));
    mergeEvent(copy, callEvent('invite_reply', 'c1', T0 + 2, { code: 200, caller: 'carol' }));
    expect(original).toEqual(before);
    expect(copy.eventIds).toHaveLength(3);
  });
});

describe('duplicate detection', () => {
  const withId = (event: CallEvent, id: string): CallEvent => ({ ...event, id });

  test.each(['', 'a', 'abc', 'abcd', 'é☃😀x', '0000000000'])('an event whose id is %j merges once', (id) => {
    const state = newCallState('c1');
    const event = withId(callEvent('invite_request', 'c1', T0), id);
    expect(hasMerged(state, event)).toBe(false);
    expect(mergeEvent(state, event)).toBe(true);
    expect(hasMerged(state, event)).toBe(true);
    expect(mergeEvent(state, event)).toBe(false);
    expect(state.eventIds).toEqual([id]);
  });

  test('ids that share their first characters are still told apart', () => {
    const state = newCallState('c1');
    const ids = ['abcd1', 'abcd2', 'abcd', 'abce', 'abcd1x'];
    ids.forEach((id, i) => expect(mergeEvent(state, withId(callEvent('invite_reply', 'c1', T0 + i, { code: 180 }), id))).toBe(true));
    ids.forEach((id) => expect(hasMerged(state, withId(callEvent('invite_reply', 'c1', T0, { code: 180 }), id))).toBe(true));
    expect(hasMerged(state, withId(callEvent('invite_reply', 'c1', T0, { code: 180 }), 'abcd3'))).toBe(false);
    expect(state.eventIds).toEqual(ids);
  });
});
