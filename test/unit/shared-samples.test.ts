/**
 * Our sample calls (test/support/samples.ts) against a copy of the published sample stream named
 * by QBL_SHARED_SAMPLES, byte for byte. The suite never reads that file otherwise; without it
 * this comparison reports itself skipped.
 */
import { readFileSync } from 'node:fs';
import { readSamples, sharedSamplesPath } from '../support/samples';

const path = sharedSamplesPath();
const describeWithShared = path ? describe : describe.skip;
if (!path) console.warn('QBL_SHARED_SAMPLES names no file: sample comparison SKIPPED');

describeWithShared('our sample calls reproduce the shared samples', () => {
  test('same routing keys and bodies, in the same arrival order', () => {
    const shared = readFileSync(path!, 'utf8').trim().split('\n')
      .map((line) => JSON.parse(line) as { routingKey: string; body: string });
    const ours = readSamples().map((m) => ({ routingKey: m.routingKey, body: m.body.toString('utf8') }));
    expect(ours).toEqual(shared);
  });
});
