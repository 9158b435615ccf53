/** `qbl cdrs` and `qbl events` end to end: a real SQLite file, main() with SQLITE_PATH, exact output. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { qbl } from '../support/run-cli';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store';
import { CDR_FIELDS, EMPTY_EXTRAS, cdrIdFor, type Cdr, type CdrRecord } from '../../correlators/cdr';
import type { CallEvent } from '../../correlators/events';
import type { StoredEvent } from '../../src/stores/store';
import { integrationFixture } from '../support/fixture';

const T0 = 1_795_757_055_000_000; // 2026-11-27T05:24:15Z

const answered: Cdr = {
  cdr_id: cdrIdFor('call-1@pc33'), call_id: 'call-1@pc33', caller: '+5511987654321', callee: 'bob', disposition: 'answered',
  final_code: 200, invite_at: '2026-11-27T05:24:15.000000Z', ringing_at: '2026-11-27T05:24:15.400000Z',
  answer_at: '2026-11-27T05:24:16.000001Z', end_at: '2026-11-27T05:25:16.000346Z', pdd_us: 400_000, setup_us: 1_000_001,
  talk_us: 60_000_345, total_us: 61_000_346, bye_code: 200, hangup_by: 'caller', closed_by: 'bye', complete: true, events: 4,
  source: 'qbl',
};
const busy: Cdr = {
  cdr_id: cdrIdFor('call-2'), call_id: 'call-2', caller: 'carol', callee: '011551199', disposition: 'busy', final_code: 486,
  invite_at: '2026-11-27T06:00:00.000000Z', ringing_at: null, answer_at: null, end_at: '2026-11-27T06:00:01.500000Z',
  pdd_us: null, setup_us: 1_500_000, talk_us: 0, total_us: 1_500_000, bye_code: null, hangup_by: null, closed_by: 'final_reply',
  complete: true, events: 2, source: 'qbl',
};
const records: CdrRecord[] = [
  { cdr: answered, extras: { ...EMPTY_EXTRAS, caller_e164: '+5511987654321' }, startUs: T0 },
  { cdr: busy, extras: { ...EMPTY_EXTRAS, callee_e164: '+551199' }, startUs: T0 + 2_145_000_000 },
];

function ev(id: string, kind: CallEvent['kind'], offsetUs: number, replyCode: number | null, direction: CallEvent['direction']): StoredEvent {
  const event: CallEvent = {
    id, kind, callId: 'call-1@pc33', timeUs: T0 + offsetUs, caller: '+5511987654321', callee: 'bob', replyCode, direction, acc: null,
  };
  return { event, eventName: `E_QBL_${kind.toUpperCase()}`, exchange: 'opensips', routingKey: `qbl.${kind}`, body: Buffer.from(`{"id":"${id}"}`), receivedAtUs: 0 };
}
// Committed out of order on purpose: the command must list them by event time.
const events = [
  ev('e3', 'bye_request', 61_000_346, null, 'downstream'),
  ev('e1', 'invite_request', 0, null, 'downstream'),
  ev('e2', 'invite_reply', 1_000_001, 200, 'upstream'),
];


describe('qbl cdrs / qbl events', () => {
  const f = integrationFixture('cli', { broker: false });
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    for (const name of ['ELASTICSEARCH_URL', 'OPENSEARCH_URL', 'AMQP_URL', 'AMQP_URL_FILE']) delete process.env[name];
    process.env.SQLITE_PATH = join(f.dir, 'qbl.db');
    const store = SqliteStore.open(process.env.SQLITE_PATH);
    await store.commit({ events, cdrs: records, openCalls: [], closedCallIds: [] });
    await store.close();
  });

  afterAll(() => {
    process.env = savedEnv;
  });

  it('ndjson prints exactly the cdr.md fields: newest first with --limit, every CDR oldest first without', async () => {
    expect(await qbl('cdrs', '--format', 'ndjson', '--limit', '50')).toEqual({ code: 0, out: `${JSON.stringify(busy)}\n${JSON.stringify(answered)}\n`, err: '' });
    const run = await qbl('cdrs', '--format', 'ndjson');
    expect(run).toEqual({ code: 0, out: `${JSON.stringify(answered)}\n${JSON.stringify(busy)}\n`, err: '' });
    expect(Object.keys(JSON.parse(run.out.split('\n')[0]!))).toEqual([...CDR_FIELDS]);
  });

  it('csv with --number matching the stored E.164 form', async () => {
    const run = await qbl('cdrs', '--number', '+551199', '--format', 'csv');
    expect(run).toEqual({
      code: 0,
      err: '',
      out: `${CDR_FIELDS.join(',')}\r\n${cdrIdFor('call-2')},call-2,carol,"=""011551199""",busy,486,2026-11-27T06:00:00.000000Z,,,`
        + '2026-11-27T06:00:01.500000Z,,1500000,0,1500000,,,final_reply,true,2,qbl\r\n',
    });
  });

  it('table with a time range and a disposition', async () => {
    const run = await qbl('cdrs', '--since', '2026-11-27', '--until', '2026-11-27T06:00:00Z', '--disposition', 'answered');
    expect(run).toEqual({
      code: 0,
      err: '',
      out: [
        'call_id      caller          callee  disposition  final_code  invite_at                    answer_at                    end_at                          talk_s  hangup_by  complete',
        'call-1@pc33  +5511987654321  bob     answered            200  2026-11-27T05:24:15.000000Z  2026-11-27T05:24:16.000001Z  2026-11-27T05:25:16.000346Z  60.000345  caller     yes',
        '',
      ].join('\n'),
    });
  });

  it('--call-id and --limit narrow the result', async () => {
    expect((await qbl('cdrs', '--call-id', 'call-2', '--format', 'ndjson')).out).toBe(`${JSON.stringify(busy)}\n`);
    expect((await qbl('cdrs', '--limit', '1', '--format', 'ndjson')).out).toBe(`${JSON.stringify(busy)}\n`);
  });

  it('says "no CDRs match" on stderr and exits 0 when nothing matches', async () => {
    expect(await qbl('cdrs', '--number', 'nobody')).toEqual({ code: 0, out: '', err: 'no CDRs match\n' });
  });

  it('bad flags exit 2 with the reason and the usage', async () => {
    const limit = await qbl('cdrs', '--limit', '0');
    expect(limit.code).toBe(2);
    expect(limit.out).toBe('');
    expect(limit.err).toMatch(/^qbl cdrs: --limit: expected an integer from 1 to 100000, got "0"\nusage: qbl cdrs /);
    const since = await qbl('cdrs', '--since', 'yesterday');
    expect(since.code).toBe(2);
    expect(since.err).toMatch(/^qbl cdrs: --since: expected an ISO 8601/);
    expect((await qbl('cdrs', '--disposition', 'maybe')).err).toMatch(/^qbl cdrs: --disposition: expected one of answered, busy/);
    expect((await qbl('cdrs', '--format', 'xml')).code).toBe(2);
    expect((await qbl('events')).err).toMatch(/^qbl events: --call-id: required\nusage: qbl events/);
  });

  it('a missing database is one configuration line naming SQLITE_PATH, and nothing is created', async () => {
    process.env.SQLITE_PATH = join(f.dir, 'missing', 'qbl.db');
    try {
      const run = await qbl('cdrs');
      expect(run.code).toBe(78);
      expect(run.out).toBe('');
      expect(run.err).toBe(`qbl cdrs: configuration error: SQLITE_PATH: expected the SQLite database written by \`qbl start\`, got ${JSON.stringify(`${join(f.dir, 'missing', 'qbl.db')} (no such file)`)}\n`);
      expect(readdirSync(f.dir)).toEqual(['qbl.db']);
    } finally {
      process.env.SQLITE_PATH = join(f.dir, 'qbl.db');
    }
  });

  it('events prints a call\'s raw events in event-time order as a table', async () => {
    expect(await qbl('events', '--call-id', 'call-1@pc33')).toEqual({
      code: 0,
      err: '',
      out: [
        'time                         kind            event_name            reply_code  direction   caller          callee  routing_key         id',
        '2026-11-27T05:24:15.000000Z  invite_request  E_QBL_INVITE_REQUEST           -  downstream  +5511987654321  bob     qbl.invite_request  e1',
        '2026-11-27T05:24:16.000001Z  invite_reply    E_QBL_INVITE_REPLY           200  upstream    +5511987654321  bob     qbl.invite_reply    e2',
        '2026-11-27T05:25:16.000346Z  bye_request     E_QBL_BYE_REQUEST              -  downstream  +5511987654321  bob     qbl.bye_request     e3',
        '',
      ].join('\n'),
    });
  });

  it('events --format ndjson prints EventRow objects', async () => {
    const run = await qbl('events', '--call-id', 'call-1@pc33', '--format', 'ndjson');
    expect(run.code).toBe(0);
    expect(run.out.split('\n')[0]).toBe(
      '{"id":"e1","call_id":"call-1@pc33","kind":"invite_request","event_name":"E_QBL_INVITE_REQUEST",'
      + '"time":"2026-11-27T05:24:15.000000Z","reply_code":null,"direction":"downstream","caller":"+5511987654321","callee":"bob",'
      + '"exchange":"opensips","routing_key":"qbl.invite_request","body":"{\\"id\\":\\"e1\\"}"}',
    );
    expect(run.out.trimEnd().split('\n').map((line) => JSON.parse(line).id)).toEqual(['e1', 'e2', 'e3']);
  });

  it('events for an unknown call says so on stderr and exits 0', async () => {
    expect(await qbl('events', '--call-id', 'nope')).toEqual({ code: 0, out: '', err: 'no events for call_id "nope"\n' });
  });
});
