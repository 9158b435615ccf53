/**
 * The calls-index retention's timer (src/stores/search/calls-retention.ts) at shutdown: a pass is
 * many delete-by-query steps on a large index (the first pass after an upgrade), and closing must
 * wait for the step in flight only, not for the whole pass — a SIGTERM's grace is short. The
 * engine here is a stand-in that always has more old documents; the real node's deletions are in
 * test/opensearch/calls-retention.test.ts.
 */
import { CallsRetentionSchedule, pruneCalls } from '../../src/stores/search/calls-retention';
import type { DeleteByQueryResult, SearchEngine } from '../../src/stores/search/engine';

/** An engine with an endless supply of old call documents: every step deletes a full step. */
function endlessEngine(onStep: (n: number) => void): SearchEngine {
  let steps = 0;
  const deleteByQuery = async (_index: string, _query: unknown, maxDocs: number): Promise<DeleteByQueryResult> => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    steps += 1;
    onStep(steps);
    return { deleted: maxDocs, conflicts: 0 };
  };
  return { kind: 'opensearch', deleteByQuery } as unknown as SearchEngine;
}

describe('calls-index retention and shutdown', () => {
  test('close() ends a pass in progress after its current step', async () => {
    let steps = 0;
    let closing: Promise<void> | undefined;
    let schedule: CallsRetentionSchedule | undefined;
    const engine = endlessEngine((n) => {
      steps = n;
      if (n === 3) closing = schedule!.close();
    });
    schedule = new CallsRetentionSchedule(engine, 'qbl-x', { days: 30, firstDelayMs: 0, step: 10 });
    schedule.start();
    for (let waited = 0; closing === undefined && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(closing).toBeDefined();
    await closing;
    expect(steps).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(steps).toBe(3); // no step after close, and no next pass scheduled
  });

  test('pruneCalls stops before the next step when asked, and says what it deleted', async () => {
    let stop = false;
    const engine = endlessEngine((n) => {
      if (n === 2) stop = true;
    });
    expect(await pruneCalls(engine, 'qbl-x', 0, undefined, 7, () => stop)).toEqual({ deleted: 14, conflicts: 0 });
  });
});
