/**
 * The oracle and the correlator are independent implementations of cdr.md: fed the generator's
 * bodies through the real decoder, in publish order and in batches, they must agree field by field.
 */
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { CallEvent } from '../../correlators/events';
import { generateTraffic, type TrafficOptions } from '../../src/simulator/generator';
import { CorrelatorHarness } from '../support/call-events';

const START_US = 1_796_000_000_000_000;
const FAR_FUTURE_US = 4_000_000_000 * 1_000_000;
const DISORDER: Partial<TrafficOptions> = {
  calls: 1500, startTimeUs: START_US, format: 'mixed', provisionalRate: 0.8, retransmitRate: 0.3,
  duplicateRate: 0.1, reorderRate: 0.3, lossRate: 0.05, inProgressRate: 0.1,
};

function correlate(options: Partial<TrafficOptions>) {
  const traffic = generateTraffic(options);
  const events: CallEvent[] = traffic.messages.map((m) => {
    const decoded = decodeMessage(m.body, DEFAULT_DECODER_OPTIONS);
    if (!decoded.ok) throw new Error(decoded.detail);
    return decoded.event;
  });
  const harness = new CorrelatorHarness();
  let clockUs = 0; // the service's event clock: the latest event time seen
  for (let i = 0; i < events.length; i += 40) {
    const batch = events.slice(i, i + 40);
    clockUs = Math.max(clockUs, ...batch.map((e) => e.timeUs));
    harness.ingest(batch, clockUs);
    harness.sweep(clockUs);
  }
  harness.sweep(FAR_FUTURE_US);
  return { traffic, cdrs: harness.cdrs };
}

test('every expected CDR equals the correlator\'s, with every kind of disorder', () => {
  const { traffic, cdrs } = correlate({ ...DISORDER, seed: 3 });
  expect(cdrs.size).toBe(traffic.expected.length);
  for (const expected of traffic.expected) expect(cdrs.get(expected.call_id)?.cdr).toEqual(expected);
});

test('with --acc: the same, plus acc-sourced CDRs only for calls whose quick-billing-log events were all lost', () => {
  const { traffic, cdrs } = correlate({ ...DISORDER, seed: 4, acc: true, lossRate: 0.3 });
  for (const expected of traffic.expected) expect(cdrs.get(expected.call_id)?.cdr).toEqual(expected);
  const predicted = new Set(traffic.expected.map((c) => c.call_id));
  const extras = [...cdrs.values()].filter((r) => !predicted.has(r.cdr.call_id));
  expect(extras.length).toBeGreaterThan(0);
  for (const record of extras) {
    expect(record.cdr.source).toBe('acc');
    const call = traffic.calls.find((c) => c.model.callId === record.cdr.call_id)!;
    expect(call.expected).toBeNull();
    expect(call.disorder.published.every((e) => e.accParams !== null)).toBe(true);
  }
});
