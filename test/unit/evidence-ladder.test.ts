/** The SIP ladder from stored events: directions, labels, retransmissions, acc notes; SVG and text. */
import type { EventRow } from '../../src/stores/store';
import { buildLadder, replyLabel } from '../../src/evidence/ladder';
import { evidencePage, ladderSvg, ladderText } from '../../src/evidence/render';

function ev(id: string, kind: string, time: string, code: number | null, direction: string | null): EventRow {
  return { id, call_id: 'a@h', kind, event_name: `E_${kind.toUpperCase()}`, time: `2026-11-27T13:05:${time}Z`, reply_code: code, direction, caller: '+551', callee: '552', exchange: 'x', routing_key: 'k', body: '{"jsonrpc":"2.0"}' };
}

const EVENTS = [
  ev('5', 'bye_request', '40.000000', null, 'upstream'),
  ev('1', 'invite_request', '00.000001', null, 'downstream'),
  ev('2', 'invite_reply', '01.500000', 180, 'downstream'),
  ev('3', 'invite_reply', '05.000000', 200, 'upstream'),
  ev('4', 'invite_reply', '05.500000', 200, 'upstream'),
  ev('6', 'bye_reply', '40.020000', 200, 'upstream'),
  ev('7', 'acc_cdr', '40.030000', 200, null),
];

describe('buildLadder', () => {
  const ladder = buildLadder('a@h', EVENTS);

  it('one arrow per SIP event in time order; replies go back against their request', () => {
    expect(ladder.arrows.map((a) => [a.label, a.from, a.to, a.offsetUs, a.repeat])).toEqual([
      ['INVITE', 'caller', 'callee', 0, false],
      ['180 Ringing', 'callee', 'caller', 1_499_999, false],
      ['200 OK', 'callee', 'caller', 4_999_999, false],
      ['200 OK', 'callee', 'caller', 5_499_999, true],
      ['BYE', 'callee', 'caller', 39_999_999, false],
      ['200 OK (BYE)', 'caller', 'callee', 40_019_999, false],
    ]);
    expect(ladder.notes).toEqual([expect.objectContaining({ text: 'E_ACC_CDR 200 (accounting)', offsetUs: 40_029_999 })]);
  });

  it('a BYE reply without its request is read with the transaction\'s direction', () => {
    expect(buildLadder('b', [ev('x', 'bye_reply', '01.000000', 200, 'downstream')]).arrows[0]).toMatchObject({ from: 'callee', to: 'caller' });
  });

  it('reason phrases', () => {
    expect([replyLabel(183), replyLabel(487), replyLabel(299)]).toEqual(['183 Session Progress', '487 Request Terminated', '299']);
  });

  it('SVG: three lifelines and one arrow group per message; text: one line per message', () => {
    const svg = ladderSvg(ladder, true);
    expect(svg.match(/<g class="arrow"/g)).toHaveLength(6);
    expect(svg.match(/<g class="lifeline"/g)).toHaveLength(3);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    const text = ladderText(ladder);
    expect(text.split('\n').filter((line) => line.includes('▶') || line.includes('◀'))).toHaveLength(6);
    expect(text).toContain('2026-11-27T13:05:05.500000Z');
  });

  it('the page escapes what the events carry', () => {
    const hostile = [{ ...EVENTS[1]!, body: '<script>alert(1)</script>' }];
    const page = evidencePage({ callId: '<x>', cdr: null, extras: null, events: hostile, ladder: buildLadder('<x>', hostile) });
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
