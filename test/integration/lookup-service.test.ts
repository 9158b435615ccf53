/**
 * The number lookup as the service runs it: a real worker thread, its HTTP listener, and a real
 * SQLite file for the CDRs it rebuilds from and the block list it polls.
 */
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/config';
import { ConfigError } from '../../src/errors';
import { Service } from '../../src/pipeline/service';
import { LookupService } from '../../src/lookup/lookup-service';
import { createLogger } from '../../src/observability/logger';
import { DEFAULT_DIAL_PLAN } from '../../src/numbers/dial-plan';
import { SqliteLookupStore } from '../../src/stores/sqlite/lookup-store';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import type { BlockEntry } from '../../src/lookup/blocklist';
import type { LookupStore } from '../../src/stores/lookup-store';
import { integrationFixture } from '../support/fixture';
import { cdrRecord, lookup, numberPath, rawExchange } from '../support/lookup';
import { waitUntil } from '../support/rabbit';

const logger = createLogger('silent');
const PLAN = { ...DEFAULT_DIAL_PLAN, defaultCountry: 'BR' as const };
const NOW_US = Date.now() * 1000;
const MIN = 60_000_000;
const INVALID = '+5511912340001';
const FINE = '+5511912340002';

const f = integrationFixture('lookup', { broker: false, dirPerTest: true });
let path: string;

async function startLookup(store: LookupStore = SqliteLookupStore.open(path), rebuildRetryMs?: number): Promise<LookupService> {
  const service = new LookupService({
    config: { ...loadConfig({}).lookup, port: 0, pollIntervalMs: 60_000 }, dialPlan: PLAN, store, logger, rebuildRetryMs,
  });
  f.defer(() => service.close());
  await service.start();
  return service;
}

beforeEach(async () => {
  path = join(f.dir, 'qbl.db');
  const store = SqliteStore.open(path);
  const cdrs = [
    cdrRecord({ callId: 'i1', caller: 'alice', callee: '0055 11 91234-0001', calleeE164: INVALID, startUs: NOW_US - 30 * MIN, code: 404 }),
    cdrRecord({ callId: 'i2', caller: 'alice', callee: INVALID, calleeE164: INVALID, startUs: NOW_US - 20 * MIN, code: 484 }),
    cdrRecord({ callId: 'i3', caller: 'bob', callee: INVALID, calleeE164: INVALID, startUs: NOW_US - 10 * MIN, code: 404 }),
    cdrRecord({ callId: 'f1', caller: 'bob', callee: FINE, calleeE164: FINE, startUs: NOW_US - 5 * MIN, code: 200 }),
  ];
  await store.commit({ events: [], cdrs, openCalls: [], closedCallIds: [] });
  await store.close();
});

test('rebuilds the figures from the store, then answers from memory', async () => {
  const service = await startLookup();
  const port = service.listeningPort!;
  const invalid = await lookup(port, numberPath('+55 11 91234-0001'));
  expect(invalid.status).toBe(200);
  expect(invalid.contentType).toBe('application/json; charset=utf-8');
  expect(invalid.json).toMatchObject({ e164: INVALID, verdict: 'warn', reasons: ['invalid_number'], figures: { calls: 3, answered: 0, invalid: 3, last_final_code: 404 } });
  expect((await lookup(port, numberPath(FINE))).json).toMatchObject({ verdict: 'allow', reasons: [], figures: { calls: 1, answered: 1 } });
});

test('the commit hook adds each batch\'s CDRs: an answered call clears invalid_number', async () => {
  const service = await startLookup();
  service.onCommitted([cdrRecord({ callId: 'i4', caller: 'carol', callee: INVALID, calleeE164: INVALID, startUs: NOW_US - MIN, code: 200 })]);
  // The worker folds the facts in on its own thread: the next lookups see them.
  let answer = await lookup(service.listeningPort!, numberPath(INVALID));
  await waitUntil(async () => {
    answer = await lookup(service.listeningPort!, numberPath(INVALID));
    return (answer.json.figures as { calls: number }).calls === 4;
  }, 'the committed CDR in the figures');
  expect(answer.json).toMatchObject({ verdict: 'allow', reasons: [], figures: { calls: 4, answered: 1, invalid: 3, last_final_code: 200 } });
});

test('the block list: added, matched by prefix, expired, removed — and kept across a restart', async () => {
  const writer = SqliteLookupStore.open(path);
  const entry = (text: string, fields: Partial<BlockEntry> = {}): BlockEntry => ({
    entry: text, reason: `test ${text}`, createdAtUs: NOW_US, expiresAtUs: null, updatedAtUs: NOW_US, removed: false, ...fields,
  });
  await writer.putBlockEntries([entry('+3712*'), entry(FINE, { expiresAtUs: NOW_US + 3_600_000_000 }), entry('+5521*', { expiresAtUs: NOW_US - 1 })]);
  const service = await startLookup();
  const port = service.listeningPort!;
  expect((await lookup(port, numberPath('+37129123456'))).json).toMatchObject({ verdict: 'block', reasons: ['blocklisted'], blocklist: { entry: '+3712*', reason: 'test +3712*' } });
  expect((await lookup(port, numberPath(FINE))).json).toMatchObject({ verdict: 'block', blocklist: { entry: FINE } });
  expect((await lookup(port, numberPath('+5521987654321'))).json).toMatchObject({ verdict: 'allow', blocklist: null });

  await writer.putBlockEntries([entry(FINE, { removed: true, updatedAtUs: NOW_US + 1 })]);
  await service.pollNow();
  expect((await lookup(port, numberPath(FINE))).json).toMatchObject({ verdict: 'allow', blocklist: null });
  await writer.close();

  await service.close();
  const again = await startLookup();
  expect((await lookup(again.listeningPort!, numberPath('+37129123456'))).json).toMatchObject({ verdict: 'block' });
  expect((await lookup(again.listeningPort!, numberPath(FINE))).json).toMatchObject({ verdict: 'allow' });
  expect((await lookup(again.listeningPort!, numberPath(INVALID))).json).toMatchObject({ reasons: ['invalid_number'] });
});

describe('hostile input gets a clear 4xx and never stops the listener', () => {
  let port: number;
  beforeEach(async () => {
    port = (await startLookup()).listeningPort!;
  });
  afterEach(async () => {
    // Still answering after whatever the test sent.
    expect((await lookup(port, numberPath(FINE))).status).toBe(200);
  });

  test.each([
    ['a huge number', `/v1/numbers/${'9'.repeat(200)}`, 400],
    ['a target over 1 KiB', `/v1/numbers/${'9'.repeat(2000)}`, 414],
    ['a request line over the 16 KiB header limit', `/v1/numbers/${'9'.repeat(50_000)}`, 431],
    ['a caller over 1 KiB', `/v1/numbers/1?caller=${'x'.repeat(2000)}`, 414],
    ['no number', '/v1/numbers/', 400],
    ['bad percent-encoding', '/v1/numbers/%E0%A4%A', 400],
    ['an unknown parameter', '/v1/numbers/+5511912340002?q=destNum:*', 400],
    ['caller twice', '/v1/numbers/+5511912340002?caller=1&caller=2', 400],
    ['an unknown path', '/v2/numbers/1', 404],
    ['the root', '/', 404],
    ['a traversal', '/../../etc/passwd', 404],
    ['the search engine\'s path', '/qbl-cdrs-*/_count?q=callee:1', 404],
  ])('%s', async (_what, path, status) => {
    const reply = await lookup(port, path);
    expect(reply.status).toBe(status);
    expect(reply.contentType).toBe('application/json; charset=utf-8');
    expect(reply.json).toMatchObject({ status: 'error', error: expect.any(String) });
  });

  test.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])('%s → 405 with Allow', async (method) => {
    const reply = await lookup(port, numberPath(FINE), method);
    expect(reply.status).toBe(405);
    expect(reply.json).toMatchObject({ status: 'error' });
  });

  test.each([
    ["' OR 1=1 --", 'malformed'],
    ['<script>alert(1)</script>', 'malformed'],
    ['+5511912340002\u0000', 'malformed'],
    ['${jndi:ldap://x}', 'malformed'],
    ['99999999999999999999999', 'malformed'],
  ])('injection %j is just a malformed number', async (number, reason) => {
    const reply = await lookup(port, numberPath(number, "'; DROP TABLE cdrs; --"));
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ number, e164: null, reasons: [reason] });
  });

  test('malformed HTTP and oversized headers get JSON errors and a closed connection', async () => {
    const garbage = await rawExchange(port, 'THIS IS NOT HTTP\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage).toContain('"error":"malformed HTTP request"');
    const huge = await rawExchange(port, `GET /v1/numbers/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
  });
});

test('readings for the metrics: lookups by verdict and reasons, refusals, latency, tracked numbers', async () => {
  const service = await startLookup();
  const port = service.listeningPort!;
  await lookup(port, numberPath(INVALID));
  await lookup(port, numberPath(INVALID));
  await lookup(port, numberPath(FINE));
  await lookup(port, '/nowhere');
  // One keep-alive connection held open, as an OpenSIPS worker holds its own.
  const held = connect(port, '127.0.0.1');
  f.defer(() => held.destroy());
  await new Promise((resolve) => {
    held.once('data', resolve);
    held.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  const readings = await service.readings();
  expect(readings.openConnections).toBeGreaterThanOrEqual(1);
  expect(readings.lookupsByVerdictAndReasons).toEqual({ warn: { invalid_number: 2 }, allow: { none: 1 } });
  expect(readings.rejectedByStatus).toEqual({ 404: 1 });
  expect(readings.duration.count).toBe(5);
  expect(readings.duration.counts.reduce((a, b) => a + b, 0)).toBe(5);
  expect(readings.duration.boundsS.length).toBe(readings.duration.counts.length - 1);
  expect(readings).toMatchObject({
    trackedNumbers: 2, evictionsByTable: { numbers: 0, pairs: 0 }, answering: true, figuresAgeS: 0, pollFailures: 0, droppedConnections: 0,
  });
});

test('a port the lookup cannot listen on stops the service at start, naming QBL_LOOKUP_PORT', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
  try {
    const port = (taken.address() as AddressInfo).port;
    const config = loadConfig({ SQLITE_PATH: path, QBL_HTTP_PORT: '0', QBL_LOOKUP_PORT: String(port), LOG_LEVEL: 'silent' });
    const failure = Service.start({ config, logger });
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toMatchObject({ option: 'QBL_LOOKUP_PORT', message: expect.stringContaining('EADDRINUSE') });
  } finally {
    taken.close();
  }
});

test('a store that does not answer at start: 503 (OpenSIPS fails open), then answers once the rebuild succeeds', async () => {
  const store = SqliteLookupStore.open(path);
  let failures = 2;
  const flaky = Object.assign(Object.create(store) as SqliteLookupStore, {
    callsSince: (sinceUs: number, onChunk: Parameters<SqliteLookupStore['callsSince']>[1]) => {
      if (failures > 0) {
        failures -= 1;
        // Half a rebuild, then the store fails: the figures must start over, not count twice.
        onChunk([{
          cdrId: 'c'.repeat(40), caller: null, callee: INVALID, callerE164: null, calleeE164: INVALID, startUs: NOW_US - MIN, finalCode: 404,
          disposition: 'failed', talkUs: 0, writtenAtUs: 0,
        }]);
        return Promise.reject(new Error('SQLITE_BUSY'));
      }
      return store.callsSince(sinceUs, onChunk);
    },
  });
  const service = await startLookup(flaky, 200);
  const port = service.listeningPort!;
  const starting = await lookup(port, numberPath(INVALID));
  expect(starting).toMatchObject({ status: 503, json: { status: 'starting' } });
  expect((await lookup(port, '/healthz')).status).toBe(503);
  expect(service.stats().answering).toBe(false);
  await waitUntil(async () => (await lookup(port, numberPath(INVALID))).status === 200, 'the rebuild to succeed');
  expect((await lookup(port, numberPath(INVALID))).json).toMatchObject({ reasons: ['invalid_number'], figures: { calls: 3 } });
  expect(service.stats().answering).toBe(true);
});
