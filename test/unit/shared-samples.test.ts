/**
 * Our sample calls (test/support/samples.ts) against the workplace's shared samples, byte for
 * byte. The suite never reads the shared file otherwise; a checkout without it reports this
 * comparison as skipped.
 */
import { readFileSync } from 'node:fs';
import { readSamples, sharedSamplesPath } from '../support/samples';

const path = sharedSamplesPath();
const describeWithShared = path ? describe : describe.skip;
if (!path) console.warn('shared samples not found beside this checkout: comparison SKIPPED (set QBL_SHARED_SAMPLES to run it)');

describeWithShared('our sample calls reproduce the shared samples', () => {
  test('same routing keys and bodies, in the same arrival order', () => {
    const shared = readFileSync(path!, 'utf8').trim().split('\n')
      .map((line) => JSON.parse(line) as { routingKey: string; body: string });
    const ours = readSamples().map((m) => ({ routingKey: m.routingKey, body: m.body.toString('utf8') }));
    expect(ours).toEqual(shared);
  });
});
