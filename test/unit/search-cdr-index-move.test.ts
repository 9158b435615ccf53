/**
 * A late event can move a CDR's `startUs` (invite_at, else the earliest event) into another
 * month; the rewrite then goes to that month's index, and the copy in the old month must go,
 * or one cdr_id has two documents (Kibana counts the call twice, `qbl cdrs --call-id` shows two).
 * Elasticsearch is scripted with @elastic/elasticsearch-mock (no Elasticsearch server can run
 * here); the pipeline, correlator, decoder and local SQLite store are the real ones.
 */
import { DEFAULT_DECODER_OPTIONS } from '../../consumers/decode/options';
import type { Delivery } from '../../consumers/batch-handler';
import { Pipeline } from '../../src/pipeline/pipeline';
import { BulkWriter } from '../../src/stores/search/bulk-writer';
import { SearchStore, writerOptions } from '../../src/stores/search/search-store';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { MockCluster } from './search-es-mock';
import { capturingLogger, noSleep } from './search-fixtures';

const S = 1_000_000;
/** 2026-12-01T00:00:00Z */
const DEC_1_US = 1_796_083_200 * S;

function body(method: string, params: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ jsonrpc: '2.0', method, params }));
}

function delivery(buffer: Buffer, atUs: number): Delivery {
  return { body: buffer, exchange: 'opensips', routingKey: 'qbl', headers: {}, redelivered: false, receivedAtUs: atUs };
}

function at(us: number): { seconds: number; micros: number } {
  return { seconds: Math.floor(us / S), micros: us % S };
}

function request(method: string, kind: 'INVITE' | 'BYE', callId: string, us: number): Buffer {
  const t = at(us);
  return body(method, { call_id: callId, request_time: t.seconds, microseconds: t.micros, method: kind, caller_id: 'alice', callee_id: 'bob', direction: 'downstream' });
}

function reply(method: string, kind: 'INVITE' | 'BYE', callId: string, us: number, code: number): Buffer {
  const t = at(us);
  return body(method, { call_id: callId, reply_time: t.seconds, microseconds: t.micros, method: kind, reply_code: code, caller_id: 'alice', callee_id: 'bob' });
}

describe('review: a CDR rewrite whose start moves to another month', () => {
  it('keeps exactly one CDR document per cdr_id in the search engine', async () => {
    const cluster = new MockCluster();
    const config = cluster.config();
    const { logger } = capturingLogger();
    const engine = cluster.engine(config);
    const store = new SearchStore(engine, new BulkWriter(engine, { ...writerOptions(config, logger), sleep: noSleep }),
      { indexPrefix: config.indexPrefix, retentionDays: config.retentionDays, logger });
    let wallUs = DEC_1_US + 120 * S;
    const pipeline = new Pipeline({
      correlator: { setupTimeoutUs: 300 * S, maxCallDurationUs: 4 * 3600 * S, byeGraceUs: 5 * S, maxClockSkewUs: 300 * S, accToleranceMs: 1000 },
      decoder: DEFAULT_DECODER_OPTIONS, store, logger, wallClock: () => wallUs,
    });

    // A call placed one second before midnight UTC on 30 November. Its INVITE request is
    // published under another routing key and arrives last (or is dead-lettered and replayed).
    const callId = 'month-edge@pbx';
    const inviteUs = DEC_1_US - 1 * S;
    await pipeline.handleBatch([
      delivery(reply('E_QBL_INVITE_REPLY', 'INVITE', callId, DEC_1_US + 200_000, 180), wallUs),
      delivery(reply('E_QBL_INVITE_REPLY', 'INVITE', callId, DEC_1_US + 2 * S, 200), wallUs),
      delivery(request('E_QBL_BYE_REQUEST', 'BYE', callId, DEC_1_US + 60 * S), wallUs),
      delivery(reply('E_QBL_BYE_REPLY', 'BYE', callId, DEC_1_US + 60 * S + 10_000, 200), wallUs),
    ]);
    // The BYE grace passes: the call is closed and its CDR written (start = the 180, in December).
    wallUs += 10 * S;
    await pipeline.sweep();
    expect([...cluster.docs.keys()].filter((key) => key.startsWith('qbl-cdrs-'))).toHaveLength(1);

    // The INVITE arrives: the CDR is rewritten with invite_at on 30 November.
    const verdicts = await pipeline.handleBatch([delivery(request('E_QBL_INVITE_REQUEST', 'INVITE', callId, inviteUs), wallUs)]);
    expect(verdicts).toEqual([{ action: 'ack' }]);

    const cdrDocs = [...cluster.docs.entries()].filter(([key]) => key.startsWith('qbl-cdrs-'));
    const latest = cdrDocs.find(([, doc]) => doc.invite_at !== null)?.[1];
    expect(latest).toMatchObject({ call_id: callId, invite_at: '2026-11-30T23:59:59.000000Z', complete: true });
    // Fails today: qbl-cdrs-2026.12/<id> (stale, invite_at null) and qbl-cdrs-2026.11/<id> both exist.
    expect(cdrDocs.map(([key]) => key)).toEqual([`qbl-cdrs-2026.11/${latest!.cdr_id as string}`]);
    await store.close();
  });
});
