/** The shared samples, decoded and correlated in their arrival order (which is not event order). */
import { decodeMessage } from '../../consumers/decode/decode';
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { CallEvent } from '../../correlators/events';
import { CorrelatorHarness, S, T0 } from '../support/call-events';
import { EXPECTED_SAMPLE_CDRS, EXPECTED_SAMPLE_EXTRAS, readSamples } from '../support/samples';

describe('shared samples', () => {
  test('decode and correlate into the hand-computed CDRs, whatever the arrival order', () => {
    const events: CallEvent[] = readSamples().map(({ body }) => {
      const result = decodeMessage(body, DEFAULT_DECODER_OPTIONS);
      if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
      return result.event;
    });
    expect(events).toHaveLength(13);

    const oneByOne = new CorrelatorHarness();
    for (const event of events) oneByOne.ingest([event], T0);
    oneByOne.sweep(T0 + 3600 * S);
    const reversed = new CorrelatorHarness();
    reversed.ingest([...events].reverse(), T0);
    reversed.sweep(T0 + 3600 * S);

    for (const harness of [oneByOne, reversed]) {
      const cdrs = [...harness.cdrs.values()].map((r) => r.cdr).sort((a, b) => a.invite_at!.localeCompare(b.invite_at!));
      expect(cdrs).toEqual(EXPECTED_SAMPLE_CDRS);
      for (const [callId, extras] of Object.entries(EXPECTED_SAMPLE_EXTRAS)) {
        expect(harness.cdrs.get(callId)!.extras).toMatchObject(extras);
      }
    }
  });
});
