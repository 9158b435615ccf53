/** The traffic generator: reproducible, realistic reply sequences, and every disorder flag doing what it says. */
import {
  generateTraffic, resolveTrafficOptions, routingKeyFor, type Traffic, type TrafficOptions,
} from '../../src/simulator/generator';
import type { SimEvent } from '../../src/simulator/call-model';
import { REORDER_LEAD_MAX_US, REORDER_WINDOW_US } from '../../src/simulator/disorder';

const S = 1_000_000;
const START_US = 1_796_000_000 * S;
const CALM: Partial<TrafficOptions> = {
  startTimeUs: START_US, seed: 11, calls: 400, duplicateRate: 0, reorderRate: 0, lossRate: 0, inProgressRate: 0,
  retransmitRate: 0, provisionalRate: 1,
};

function gen(options: Partial<TrafficOptions> = {}): Traffic {
  return generateTraffic({ ...CALM, ...options });
}

const replies = (events: readonly SimEvent[]) => events.filter((e) => e.kind === 'invite_reply').map((e) => e.replyCode);
const kinds = (events: readonly SimEvent[]) => events.map((e) => e.kind);

describe('reproducibility', () => {
  test('the same seed gives the same bytes, routing keys and expected CDRs', () => {
    const a = gen({ duplicateRate: 0.1, reorderRate: 0.2, lossRate: 0.1, inProgressRate: 0.1, format: 'mixed', acc: true });
    const b = gen({ duplicateRate: 0.1, reorderRate: 0.2, lossRate: 0.1, inProgressRate: 0.1, format: 'mixed', acc: true });
    expect(b.messages.map((m) => [m.routingKey, m.body.toString('hex')])).toEqual(a.messages.map((m) => [m.routingKey, m.body.toString('hex')]));
    expect(b.expected).toEqual(a.expected);
  });

  test('another seed gives other calls', () => {
    expect(gen({ seed: 12 }).calls.map((c) => c.model.callId)).not.toEqual(gen().calls.map((c) => c.model.callId));
  });

  test('rate flags do not reshuffle the calls themselves', () => {
    const calm = gen();
    const noisy = gen({ lossRate: 0.3, duplicateRate: 0.3, reorderRate: 0.3, retransmitRate: 0.5 });
    expect(noisy.calls.map((c) => [c.model.callId, c.model.outcome, c.model.caller, c.startUs]))
      .toEqual(calm.calls.map((c) => [c.model.callId, c.model.outcome, c.model.caller, c.startUs]));
  });

  test('call ids are unique', () => {
    const ids = gen({ calls: 3000 }).calls.map((c) => c.model.callId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('outcomes and their SIP sequences', () => {
  const traffic = gen();
  const byOutcome = (outcome: string) => traffic.calls.filter((c) => c.model.outcome === outcome);

  test('every outcome appears', () => {
    for (const outcome of ['answered', 'busy', 'no_answer', 'cancelled', 'failed'] as const) {
      expect(traffic.summary.outcomes[outcome]).toBeGreaterThan(0);
    }
    expect(traffic.summary.outcomes.answered / traffic.calls.length).toBeGreaterThan(0.5);
  });

  test('every call starts with its INVITE, times are integer microseconds in order', () => {
    for (const call of traffic.calls) {
      expect(call.events[0]!.kind).toBe('invite_request');
      expect(call.events[0]!.direction).toBe('downstream');
      for (let i = 1; i < call.events.length; i++) {
        expect(Number.isSafeInteger(call.events[i]!.timeUs)).toBe(true);
        expect(call.events[i]!.timeUs).toBeGreaterThan(call.events[i - 1]!.timeUs);
      }
    }
  });

  test('answered: 100, ringing, 200, then a BYE from either side and its 200', () => {
    const directions = new Set<string | null>();
    for (const call of byOutcome('answered')) {
      const codes = replies(call.events);
      expect(codes[0]).toBe(100);
      expect([180, 183]).toContain(codes[1]);
      expect(codes[codes.length - 1]).toBe(200);
      expect(kinds(call.events).slice(-2)).toEqual(['bye_request', 'bye_reply']);
      const bye = call.events.find((e) => e.kind === 'bye_request')!;
      directions.add(bye.direction);
      expect([200, 481]).toContain(call.events[call.events.length - 1]!.replyCode);
    }
    expect(directions).toEqual(new Set(['downstream', 'upstream']));
  });

  test('busy: a final 486 or 600', () => {
    for (const call of byOutcome('busy')) expect([486, 600]).toContain(replies(call.events).at(-1));
  });

  test("no answer: 180, the proxy's own 408 after the ring timeout, then the callee's 487 under a millisecond later", () => {
    for (const call of byOutcome('no_answer')) {
      const events = call.events.filter((e) => e.kind === 'invite_reply');
      const ring = events.find((e) => e.replyCode === 180 || e.replyCode === 183)!;
      const [timeout, terminated] = events.slice(-2);
      expect([timeout!.replyCode, terminated!.replyCode]).toEqual([408, 487]);
      expect(timeout!.timeUs - ring.timeUs).toBe(30 * S);
      expect(terminated!.timeUs - timeout!.timeUs).toBeGreaterThan(0);
      expect(terminated!.timeUs - timeout!.timeUs).toBeLessThan(1000);
    }
  });

  test('cancelled: a final 487; other failures: 403, 404, 480, 500, 503, 603', () => {
    for (const call of byOutcome('cancelled')) expect(replies(call.events).at(-1)).toBe(487);
    const failures = new Set(byOutcome('failed').map((c) => replies(c.events).at(-1)));
    for (const code of failures) expect([403, 404, 480, 500, 503, 603]).toContain(code);
    expect(failures.size).toBeGreaterThan(3);
  });

  test('unanswered calls never carry a BYE', () => {
    for (const call of traffic.calls.filter((c) => c.model.outcome !== 'answered')) {
      expect(kinds(call.events)).not.toContain('bye_request');
    }
  });

  test('--answer-rate sets the share of answered calls', () => {
    expect(gen({ answerRate: 1 }).summary.outcomes.answered).toBe(400);
    expect(gen({ answerRate: 0 }).summary.outcomes.answered).toBe(0);
  });

  test('talk time follows --talk-mean-s and stays under --max-talk-s', () => {
    const talks = gen({ answerRate: 1, calls: 2000, talkMeanS: 60, maxTalkS: 600 }).calls.map((c) => {
      const answer = c.events.find((e) => e.replyCode === 200)!;
      return c.events.find((e) => e.kind === 'bye_request')!.timeUs - answer.timeUs;
    });
    const meanS = talks.reduce((a, b) => a + b, 0) / talks.length / S;
    expect(meanS).toBeGreaterThan(45);
    expect(meanS).toBeLessThan(70);
    expect(Math.max(...talks)).toBeLessThanOrEqual(600 * S);
  });
});

describe('timeline', () => {
  test('--cps spreads the starts from --start-time', () => {
    const traffic = gen({ calls: 2000, cps: 50, concurrency: 100_000 });
    const starts = traffic.calls.map((c) => c.startUs);
    expect(Math.min(...starts)).toBeGreaterThan(START_US);
    const spanS = (Math.max(...starts) - START_US) / S;
    expect(spanS).toBeGreaterThan(2000 / 50 * 0.9);
    expect(spanS).toBeLessThan(2000 / 50 * 1.1);
  });

  test('--concurrency bounds the calls in flight', () => {
    const traffic = gen({ calls: 300, cps: 100, concurrency: 5 });
    const spans = traffic.calls.map((c) => [c.startUs, c.events.at(-1)!.timeUs] as const);
    for (const [start] of spans) {
      expect(spans.filter(([s, end]) => s <= start && end >= start).length).toBeLessThanOrEqual(5);
    }
    expect(traffic.calls[299]!.startUs - START_US).toBeGreaterThan(300 / 100 * S * 3);
  });

  test('messages are in publish order: event time, apart from the disorder', () => {
    const { messages } = gen();
    for (let i = 1; i < messages.length; i++) expect(messages[i]!.timeUs).toBeGreaterThanOrEqual(messages[i - 1]!.timeUs);
  });
});

describe('routing keys', () => {
  test('one per event name, under the prefix', () => {
    expect(routingKeyFor('opensips', 'E_QBL_INVITE_REQUEST')).toBe('opensips.qbl.invite.request');
    expect(routingKeyFor('pbx', 'E_ACC_MISSED_EVENT')).toBe('pbx.acc.missed.event');
    const keys = new Set(gen({ acc: true }).messages.map((m) => m.routingKey));
    expect([...keys].sort()).toEqual([
      'opensips.acc.cdr', 'opensips.acc.event', 'opensips.acc.missed.event',
      'opensips.qbl.bye.reply', 'opensips.qbl.bye.request', 'opensips.qbl.invite.reply', 'opensips.qbl.invite.request',
    ]);
    expect(new Set(gen({ routingKeyPrefix: 'x' }).messages.map((m) => m.routingKey.split('.')[0]))).toEqual(new Set(['x']));
  });
});

describe('disorder flags: each has an effect, 0 disables it', () => {
  test('--provisional-rate', () => {
    const provisional = (t: Traffic) => t.calls.flatMap((c) => replies(c.events)).filter((code) => code! < 200).length;
    expect(provisional(gen({ provisionalRate: 0 }))).toBe(0);
    expect(gen({ provisionalRate: 1 }).calls.every((c) => replies(c.events)[0] === 100)).toBe(true);
    const half = gen({ provisionalRate: 0.5 }).calls.filter((c) => replies(c.events)[0] === 100).length;
    expect(half).toBeGreaterThan(120);
    expect(half).toBeLessThan(280);
  });

  test('--retransmit-rate: a second 200 about 0.5 s later, a second BYE 0.5 s later', () => {
    const answered = (t: Traffic) => t.calls.filter((c) => c.model.outcome === 'answered');
    for (const call of answered(gen({ retransmitRate: 0 }))) {
      expect(replies(call.events).filter((code) => code === 200)).toHaveLength(1);
      expect(kinds(call.events).filter((k) => k === 'bye_request')).toHaveLength(1);
    }
    for (const call of answered(gen({ retransmitRate: 1 }))) {
      const oks = call.events.filter((e) => e.kind === 'invite_reply' && e.replyCode === 200);
      expect(oks).toHaveLength(2);
      expect(oks[1]!.timeUs - oks[0]!.timeUs).toBeGreaterThanOrEqual(500_000);
      expect(oks[1]!.timeUs - oks[0]!.timeUs).toBeLessThan(600_000);
      const byes = call.events.filter((e) => e.kind === 'bye_request');
      expect(byes).toHaveLength(2);
      expect(byes[1]!.timeUs - byes[0]!.timeUs).toBe(500_000);
      expect(byes[1]!.direction).toBe(byes[0]!.direction);
    }
  });

  test('--duplicate-rate: the same body on the same key, counted once by the oracle', () => {
    expect(gen({ duplicateRate: 0 }).messages.some((m) => m.duplicate)).toBe(false);
    const traffic = gen({ duplicateRate: 0.2 });
    const duplicates = traffic.messages.filter((m) => m.duplicate);
    expect(duplicates.length).toBe(traffic.summary.duplicates);
    expect(duplicates.length).toBeGreaterThan(100);
    const originals = new Set(traffic.messages.filter((m) => !m.duplicate).map((m) => `${m.routingKey} ${m.body.toString('hex')}`));
    for (const m of duplicates) expect(originals.has(`${m.routingKey} ${m.body.toString('hex')}`)).toBe(true);
    expect(traffic.expected).toEqual(gen({ duplicateRate: 0 }).expected);
    expect(traffic.summary.messages).toBe(traffic.summary.publishedEvents + duplicates.length);
  });

  test('--reorder-rate: some events are published before their predecessors', () => {
    const inTimeOrder = (t: Traffic) => t.calls.every((c) => {
      const times = t.messages.filter((m) => m.callId === c.model.callId).map((m) => m.timeUs);
      return times.every((time, i) => i === 0 || time >= times[i - 1]!);
    });
    expect(inTimeOrder(gen({ reorderRate: 0, calls: 100 }))).toBe(true);
    expect(gen({ reorderRate: 0 }).summary.reorderedCalls).toBe(0);
    const reordered = gen({ reorderRate: 0.2, calls: 100 });
    expect(inTimeOrder(reordered)).toBe(false);
    expect(reordered.summary.reorderedCalls).toBeGreaterThan(10);
    const replyFirst = reordered.calls.some((c) => {
      const first = reordered.messages.find((m) => m.callId === c.model.callId)!;
      return first.eventName === 'E_QBL_INVITE_REPLY';
    });
    expect(replyFirst).toBe(true);
    expect(reordered.expected).toEqual(gen({ reorderRate: 0, calls: 100 }).expected);
  });

  test('--reorder-rate swaps only events raised close together: nothing is published before it happens', () => {
    const traffic = gen({ reorderRate: 1, calls: 200 });
    let swapped = 0;
    let latestUs = Number.NEGATIVE_INFINITY;
    for (const message of traffic.messages) {
      // Against the whole stream: a message never runs ahead of one published after it by more than the window.
      if (message.timeUs < latestUs) {
        swapped += 1;
        expect(latestUs - message.timeUs).toBeLessThanOrEqual(REORDER_WINDOW_US + REORDER_LEAD_MAX_US + 1);
      }
      latestUs = Math.max(latestUs, message.timeUs);
    }
    expect(swapped).toBeGreaterThan(50);
  });

  test('--loss-rate: events go missing, and the expected CDRs change with them', () => {
    const calm = gen();
    expect(calm.summary.lost).toBe(0);
    const lossy = gen({ lossRate: 0.2 });
    expect(lossy.summary.lost).toBeGreaterThan(100);
    expect(lossy.summary.publishedEvents + lossy.summary.lost).toBe(calm.summary.publishedEvents);
    expect(lossy.expected.filter((cdr) => !cdr.complete).length).toBeGreaterThan(50);
    expect(calm.expected.every((cdr) => cdr.complete)).toBe(true);
    const missingByeReply = lossy.calls.some((c) =>
      c.model.outcome === 'answered' && c.disorder.published.some((e) => e.kind === 'bye_request')
      && !c.disorder.published.some((e) => e.kind === 'bye_reply'));
    expect(missingByeReply).toBe(true);
  });

  test('--in-progress-rate: calls already under way at the start lose their first events', () => {
    expect(gen().calls.some((c) => c.inProgress)).toBe(false);
    const traffic = gen({ inProgressRate: 0.2 });
    const inProgress = traffic.calls.filter((c) => c.inProgress);
    expect(inProgress.length).toBe(traffic.summary.inProgressCalls);
    expect(inProgress.length).toBeGreaterThan(40);
    for (const call of inProgress) {
      expect(call.events[0]!.timeUs).toBeLessThan(START_US);
      expect(call.disorder.published.length).toBeGreaterThan(0);
      expect(call.disorder.published.every((e) => e.timeUs >= START_US)).toBe(true);
      expect(call.disorder.published.length).toBeLessThan(call.events.length);
    }
    expect(traffic.summary.beforeStart).toBeGreaterThan(0);
    expect(inProgress.some((c) => c.expected !== null && c.expected.invite_at === null)).toBe(true);
  });
});

describe('--acc', () => {
  const traffic = gen({ acc: true });

  test('answered calls get E_ACC_CDR (duration rounded up, ms_duration) and an E_ACC_EVENT for the BYE', () => {
    for (const call of traffic.calls.filter((c) => c.model.outcome === 'answered')) {
      const cdr = call.events.find((e) => e.kind === 'acc_cdr')!;
      const params = Object.fromEntries(cdr.accParams!);
      const answer = call.events.find((e) => e.replyCode === 200 && e.kind === 'invite_reply')!;
      const bye = call.events.find((e) => e.kind === 'bye_request')!;
      expect(cdr.accParams!.map(([name]) => name)).toEqual([
        'method', 'from_tag', 'to_tag', 'callid', 'sip_code', 'sip_reason', 'time', 'caller_id', 'callee_id',
        'duration', 'ms_duration', 'setuptime', 'created',
      ]);
      expect(params).toMatchObject({ method: 'INVITE', callid: call.model.callId, sip_code: '200', sip_reason: 'OK', caller_id: call.model.caller });
      expect(params.ms_duration).toBe(Math.floor((bye.timeUs - answer.timeUs) / 1000));
      expect(params.duration).toBe(Math.ceil((params.ms_duration as number) / 1000));
      expect(params.created).toBe(Math.floor(call.events[0]!.timeUs / S));
      const byeEvent = call.events.find((e) => e.kind === 'acc_event');
      const byeReply = call.events.find((e) => e.kind === 'bye_reply')!;
      if (byeReply.replyCode === 200) {
        expect(Object.fromEntries(byeEvent!.accParams!)).toMatchObject({ method: 'BYE', sip_code: '200', caller_id: null, callee_id: null });
      } else {
        expect(byeEvent).toBeUndefined();
      }
    }
  });

  test('failed calls get E_ACC_MISSED_EVENT; the proxy\'s 408 has no To tag', () => {
    for (const call of traffic.calls.filter((c) => c.model.outcome !== 'answered')) {
      const missed = call.events.filter((e) => e.kind === 'acc_missed');
      expect(missed).toHaveLength(1);
      const params = Object.fromEntries(missed[0]!.accParams!);
      const final = call.events.find((e) => e.kind === 'invite_reply' && e.replyCode! >= 300)!;
      expect(params.sip_code).toBe(String(final.replyCode));
      expect(params.to_tag).toBe(final.replyCode === 408 ? null : call.model.toTag);
      expect(params).toHaveProperty('setuptime');
      expect(params).not.toHaveProperty('duration');
    }
  });

  test('acc events are counted in the expected CDR\'s events, nothing else changes', () => {
    const plain = gen();
    traffic.expected.forEach((cdr, i) => {
      const { events, ...rest } = cdr;
      const { events: plainEvents, ...plainRest } = plain.expected[i]!;
      expect(rest).toEqual(plainRest);
      expect(events).toBeGreaterThan(plainEvents);
    });
  });
});

describe('numbers', () => {
  test('callers and callees come in the formats operators see', () => {
    const numbers = gen().calls.flatMap((c) => [c.model.caller, c.model.callee]);
    for (const n of numbers) expect(n).toMatch(/^\+?\d{8,17}$/);
    expect(numbers.some((n) => n.startsWith('+55'))).toBe(true);
    expect(numbers.some((n) => n.startsWith('0055'))).toBe(true);
    expect(numbers.some((n) => n.startsWith('011'))).toBe(true);
    expect(numbers.some((n) => n.startsWith('9011'))).toBe(true);
    expect(numbers.some((n) => /^0[1-9]/.test(n) && !n.startsWith('011'))).toBe(true);
  });
});

describe('options', () => {
  test('a bad option fails with its name', () => {
    expect(() => resolveTrafficOptions({ lossRate: 1.5 })).toThrow(/^lossRate: /);
    expect(() => resolveTrafficOptions({ cps: 0 })).toThrow(/^cps: /);
    expect(() => resolveTrafficOptions({ concurrency: 0 })).toThrow(/^concurrency: /);
    expect(() => resolveTrafficOptions({ format: 'xml' as never })).toThrow(/^format: /);
  });
});
