/**
 * The pipeline's onCommitted hook (the number lookup's source of figures with SQLite): called once
 * per commit that wrote CDRs, after the commit, with those CDRs as written (enriched); never for a
 * commit that failed. The pipeline, decoder, correlator and SQLite store are the real ones.
 */
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { Delivery } from '../../consumers/amqp/batch-consumer';
import type { CdrRecord } from '../../correlators/cdr';
import { StoreUnavailableError } from '../../src/errors';
import { createLogger } from '../../src/observability/logger';
import { makeNumberEnricher } from '../../src/numbers/normaliser';
import { DEFAULT_DIAL_PLAN } from '../../src/numbers/dial-plan';
import { Pipeline } from '../../src/pipeline/pipeline';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import type { CommitBatch } from '../../src/stores/store';

const S = 1_000_000;
const T0 = 1_796_000_000 * S;

function delivery(params: Record<string, unknown>, method: string): Delivery {
  return { body: Buffer.from(JSON.stringify({ jsonrpc: '2.0', method, params })), exchange: 'opensips', routingKey: 'qbl', headers: {}, redelivered: false, receivedAtUs: T0 };
}

const invite = (callId: string, us: number) => delivery({ call_id: callId, method: 'INVITE', request_time: Math.floor(us / S), microseconds: us % S, caller_id: 'alice', callee_id: '0055 11 91234-0001' }, 'E_QBL_INVITE_REQUEST');
const final = (callId: string, us: number, code: number) => delivery({ call_id: callId, method: 'INVITE', reply_code: code, reply_time: Math.floor(us / S), microseconds: us % S }, 'E_QBL_INVITE_REPLY');

test('called after each commit that wrote CDRs, with the CDRs as written; not after a failed one', async () => {
  const store = SqliteStore.open(':memory:');
  const committed: CdrRecord[][] = [];
  let failNext = false;
  const flaky = {
    ...store,
    commit: (batch: CommitBatch) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new StoreUnavailableError('disk full'));
      }
      return store.commit(batch);
    },
    eventsForCalls: store.eventsForCalls.bind(store),
    openCalls: store.openCalls.bind(store),
  } as unknown as SqliteStore;
  const pipeline = new Pipeline({
    correlator: { setupTimeoutUs: 300 * S, maxCallDurationUs: 4 * 3600 * S, byeGraceUs: 5 * S, sweepIntervalMs: 1000, maxClockSkewUs: 300 * S, accToleranceMs: 1000 },
    decoder: DEFAULT_DECODER_OPTIONS, store: flaky, logger: createLogger('silent'), wallClock: () => T0 + 10 * S,
    enrich: makeNumberEnricher(DEFAULT_DIAL_PLAN),
    onCommitted: (cdrs) => committed.push([...cdrs]),
  });

  await pipeline.handleBatch([invite('c1', T0)]);
  expect(committed).toEqual([]); // the call is still open: no CDR

  failNext = true;
  await expect(pipeline.handleBatch([final('c1', T0 + S, 404)])).rejects.toThrow('disk full');
  expect(committed).toEqual([]);

  await pipeline.handleBatch([final('c1', T0 + S, 404)]);
  expect(committed).toHaveLength(1);
  expect(committed[0]!.map((r) => [r.cdr.call_id, r.cdr.final_code, r.extras.callee_e164])).toEqual([['c1', 404, '+5511912340001']]);
  await store.close();
});
