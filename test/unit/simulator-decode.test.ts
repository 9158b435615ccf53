/** The simulator's bodies are what the real decoder accepts, and decode to the events it modelled. */
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import { generateTraffic, type WireFormat } from '../../src/simulator/generator';

const START_US = 1_796_000_000_000_000;

describe.each<WireFormat>(['json', 'text', 'mixed'])('generator bodies in %s format', (format) => {
  const traffic = generateTraffic({
    calls: 300, seed: 7, format, acc: true, startTimeUs: START_US, duplicateRate: 0.1, reorderRate: 0.2,
    lossRate: 0.05, retransmitRate: 0.3, inProgressRate: 0.1,
  });

  test('every message decodes, to the kind, time, code, direction and parties the model raised', () => {
    const modelled = new Map(traffic.calls.map((c) => [c.model.callId, c.disorder.published]));
    for (const message of traffic.messages) {
      const decoded = decodeMessage(message.body, DEFAULT_DECODER_OPTIONS);
      if (!decoded.ok) throw new Error(`${decoded.reason}: ${decoded.detail} in ${message.body.toString()}`);
      const { event } = decoded;
      expect(event.callId).toBe(message.callId);
      expect(decoded.eventName).toBe(message.eventName);
      const candidates = modelled.get(message.callId)!.filter((e) => e.kind === event.kind);
      if (event.acc === null) {
        expect(event.timeUs).toBe(message.timeUs);
        expect(candidates).toContainEqual(expect.objectContaining({
          timeUs: event.timeUs, replyCode: event.replyCode, direction: event.direction, caller: event.caller, callee: event.callee,
        }));
      } else {
        const sipCodes = candidates.map((e) => e.accParams!.find(([name]) => name === 'sip_code')![1]);
        expect(sipCodes).toContain(String(event.replyCode));
      }
    }
  });

  test('distinct decoded event ids are exactly the distinct events the oracle counts', () => {
    const ids = new Set<string>();
    for (const message of traffic.messages) {
      const decoded = decodeMessage(message.body, DEFAULT_DECODER_OPTIONS);
      if (decoded.ok) ids.add(decoded.event.id);
    }
    expect(ids.size).toBe(traffic.summary.publishedEvents);
    const expectedEvents = traffic.expected.reduce((sum, cdr) => sum + cdr.events, 0);
    const accOnly = traffic.calls.filter((c) => c.expected === null).reduce((sum, c) => sum + c.disorder.published.length, 0);
    expect(expectedEvents + accOnly).toBe(ids.size);
  });
});
