/**
 * Calls open when a search deployment is upgraded from the version that kept the join state in a
 * local SQLite file, on the real OpenSearch node: such calls have raw events in the events index
 * and no call document. A restore finds them (an event within the open horizon before the old
 * version's last one, no call document), folds their events to decide which are open, restores
 * those, and the sweep closes them at their deadline — without any further event.
 */
import { loadConfig } from '../../src/config/config';
import { Pipeline } from '../../src/pipeline/pipeline';
import { openCallStore } from '../../src/stores/open';
import { callDocumentId, callsIndex } from '../../src/stores/search/calls';
import { eventAction } from '../../src/stores/search/documents';
import { installSchema } from '../../src/stores/search/install';
import { OpenSearchEngine } from '../../src/stores/search/opensearch-engine';
import { storedEvent } from '../unit/search-fixtures';
import { silentLogger } from '../support/rabbit';
import { integrationFixture } from '../support/fixture';
import { describeOnNode, nodeConfig, nodeFixture } from './node';
import { serviceEnv } from './service-harness';

const MINUTE_US = 60_000_000;
const HOUR_US = 60 * MINUTE_US;

describeOnNode('calls open at the upgrade from the local-SQLite version', () => {
  const f = integrationFixture('os-upgrade-open');
  const node = nodeFixture(f);

  test('are restored as open from the fold of their events and swept at their deadline; complete calls are not', async () => {
    // Default call timeouts: answered calls stay open 4 h, unanswered ones 5 min.
    const config = loadConfig(serviceEnv(f.dir, node.prefix, { QBL_SETUP_TIMEOUT_S: '300', QBL_MAX_CALL_DURATION_S: '14400', QBL_BYE_GRACE_S: '5' }));
    const engine = OpenSearchEngine.fromConfig(nodeConfig(node.prefix));
    f.defer(() => engine.close());
    // What the old version wrote, ten minutes before the upgrade: raw events only, no call document.
    const t = Date.now() * 1000 - 10 * MINUTE_US;
    const talking = [storedEvent('talking@old', 'invite_request', t), storedEvent('talking@old', 'invite_reply', t + 1_000_000)];
    const ringing = [storedEvent('ringing@old', 'invite_request', t + 2_000_000)];
    const busy = [storedEvent('busy@old', 'invite_request', t), storedEvent('busy@old', 'invite_reply', t + 90_000, { replyCode: 486 })];
    // Long before the horizon: not looked at (it would be open by its events, but it was closed by timeout long ago).
    const ancient = [storedEvent('ancient@old', 'invite_reply', t - 48 * HOUR_US)];
    await installSchema(engine, node.prefix, 30); // the old version installed the templates too
    const written = await engine.bulk([...talking, ...ringing, ...busy, ...ancient].map((e) => eventAction(node.prefix, e)));
    expect(written.every((r) => r.ok)).toBe(true);
    await node.raw.indices.refresh({ index: `${node.prefix}-*` });

    let wallUs = Date.now() * 1000;
    const activate = async () => {
      const store = await openCallStore(config, silentLogger());
      f.defer(() => store.close());
      const pipeline = new Pipeline({ correlator: config.correlator, decoder: config.decoder, store, logger: silentLogger(), wallClock: () => wallUs });
      return { pipeline, restored: await pipeline.restore() };
    };
    const openIn = (p: Pipeline) => ['talking@old', 'ringing@old', 'busy@old', 'ancient@old'].filter((id) => p.correlator.isOpen(id));

    // The upgrade's first activation (no calls index yet).
    const first = await activate();
    expect(first.restored).toBe(2);
    expect(openIn(first.pipeline)).toEqual(['talking@old', 'ringing@old']);
    // The event clock restarts at the newest restored event and follows the wall clock (a batch
    // of new events moves it at once): six minutes on, the unanswered call's deadline (INVITE +
    // 5 min) has passed, and the sweep closes it.
    wallUs += 6 * MINUTE_US;
    await first.pipeline.sweep();
    expect(openIn(first.pipeline)).toEqual(['talking@old']);
    await node.raw.indices.refresh({ index: `${node.prefix}-*` });
    const cdrOf = async (callId: string) => (await node.raw.search({ index: `${node.prefix}-cdrs-*`, body: { query: { term: { call_id: callId } } } })).body.hits.hits.map((h) => h._source as Record<string, unknown>);
    expect(await cdrOf('ringing@old')).toEqual([expect.objectContaining({ call_id: 'ringing@old', closed_by: 'timeout', events: 1 })]);
    expect(await cdrOf('busy@old')).toEqual([]);
    const docs = await engine.mget(callsIndex(node.prefix), ['ringing@old', 'talking@old'].map(callDocumentId));
    expect(docs.get(callDocumentId('ringing@old'))?.source).toMatchObject({ open: false, event_count: 1 });
    expect(docs.has(callDocumentId('talking@old'))).toBe(false);

    // A takeover later (the calls index exists now): the answered call is found again, still open;
    // four hours after its answer the sweep closes it, with no BYE ever arriving.
    const second = await activate();
    expect(second.restored).toBe(1);
    expect(openIn(second.pipeline)).toEqual(['talking@old']);
    wallUs += 4 * HOUR_US;
    await second.pipeline.sweep();
    expect(openIn(second.pipeline)).toEqual([]);
    await node.raw.indices.refresh({ index: `${node.prefix}-*` });
    expect(await cdrOf('talking@old')).toEqual([expect.objectContaining({ call_id: 'talking@old', disposition: 'answered', closed_by: 'timeout', events: 2 })]);

    // Every such call has its document now: the next takeover restores none of them.
    const third = await activate();
    expect(third.restored).toBe(0);
  });
});
