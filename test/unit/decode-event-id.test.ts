/** Event ids: one per decoded content, stable across releases, distinct when any field differs. */
import type { CallEvent } from '../../correlators/events';
import { eventIdFor } from '../../consumers/decode/event-id';

const BASE: Omit<CallEvent, 'id'> = {
  kind: 'invite_reply', callId: 'a84b4c76e66710@pc33', timeUs: 1795757055_657962, caller: 'alice', callee: 'bob',
  replyCode: 200, direction: 'downstream', acc: null,
};
const ACC = { method: 'INVITE', durationS: 3, durationMs: 2006, setupS: 0, createdS: 1795757055, sipReason: 'OK' };

describe('eventIdFor', () => {
  it('is a 40-digit hex sha1 and is pinned: stored ids must not change between releases', () => {
    expect(eventIdFor(BASE)).toMatch(/^[0-9a-f]{40}$/);
    // Pinned from the first release of the serialisation; a change here needs a new ID_VERSION.
    expect(eventIdFor(BASE)).toBe(PINNED);
  });

  it('depends only on content, not on key order', () => {
    const reordered = { acc: null, direction: 'downstream', replyCode: 200, callee: 'bob', caller: 'alice', timeUs: BASE.timeUs, callId: BASE.callId, kind: 'invite_reply' } as const;
    expect(eventIdFor(reordered)).toBe(eventIdFor(BASE));
  });

  it('changes with every field', () => {
    const variants: Array<Omit<CallEvent, 'id'>> = [
      BASE,
      { ...BASE, kind: 'bye_reply' },
      { ...BASE, callId: 'a84b4c76e66710@pc34' },
      { ...BASE, timeUs: BASE.timeUs + 1 }, // a 2xx retransmission
      { ...BASE, replyCode: 180 },
      { ...BASE, replyCode: null },
      { ...BASE, direction: 'upstream' },
      { ...BASE, direction: null },
      { ...BASE, caller: null },
      { ...BASE, caller: 'null' },
      { ...BASE, caller: 'bob', callee: 'alice' },
      { ...BASE, caller: 'alice","bob', callee: null },
      { ...BASE, callee: null },
      { ...BASE, acc: ACC },
      { ...BASE, acc: { ...ACC, durationMs: 2007 } },
      { ...BASE, acc: { ...ACC, durationS: null } },
      { ...BASE, acc: { ...ACC, setupS: 1 } },
      { ...BASE, acc: { ...ACC, createdS: 1795757056 } },
      { ...BASE, acc: { ...ACC, method: 'BYE' } },
      { ...BASE, acc: { ...ACC, sipReason: null } },
      { ...BASE, acc: { method: null, durationS: null, durationMs: null, setupS: null, createdS: null, sipReason: null } },
      { ...BASE, caller: '\ud800' },
      { ...BASE, caller: '\ufffd' },
    ];
    const ids = variants.map(eventIdFor);
    expect(new Set(ids).size).toBe(variants.length);
  });
});

// sha1 of ["qbl-event/1","invite_reply","a84b4c76e66710@pc33",1795757055657962,200,"downstream","alice","bob",null]
const PINNED = '1ce21d2450d28fb86835486c396d67a5bfcdda6c';
