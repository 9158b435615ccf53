/**
 * The lookup worker thread: owns the in-memory figures and the listener, so a lookup never waits
 * behind a batch the service's own thread is decoding or committing (docs/lookup.md). The service
 * feeds it facts and block-list versions; it answers stats requests for /metrics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LookupHttp, notListeningStats } from './lookup-http';
import { LookupState } from './lookup-state';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol';

/** Keys looked at per prune tick: bounded work, however large the tables. */
const PRUNE_SCAN = 20_000;

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('the lookup worker runs as a worker thread');
  const setup = workerData as WorkerSetup;
  const fresh = () => new LookupState({ ...setup.rules, invalidCodes: new Set(setup.rules.invalidCodes) }, setup.limits, setup.dialPlan);
  let state = fresh();
  let ready = false;
  let http: LookupHttp | undefined;
  const post = (message: FromWorker): void => port.postMessage(message);
  const pruner = setInterval(() => state.prune(Date.now(), PRUNE_SCAN), setup.pruneIntervalMs);
  pruner.unref();

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'facts':
        state.ingest(message.facts);
        return;
      case 'blocklist':
        state.applyBlocklist(message.entries);
        return;
      case 'listen':
        LookupHttp.listen({ state: () => state, ready: () => ready }, setup.host, setup.port).then(
          (listening) => {
            http = listening;
            post({ type: 'listening', port: listening.port });
          },
          (error: NodeJS.ErrnoException) => post({ type: 'listen-failed', code: error.code ?? String(error.message) }),
        );
        return;
      case 'ready':
        ready = true;
        return;
      case 'reset':
        state = fresh();
        ready = false;
        return;
      case 'stats':
        post({ type: 'stats', id: message.id, stats: http?.stats() ?? notListeningStats(state) });
        return;
      case 'close':
        clearInterval(pruner);
        void (http?.close() ?? Promise.resolve()).then(() => {
          post({ type: 'closed' });
          port.close();
        });
        return;
    }
  });
  post({ type: 'ready' });
}

main();
