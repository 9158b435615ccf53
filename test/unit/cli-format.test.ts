/** The renderers behind `qbl cdrs` and `qbl events`: exact bytes for every format. */
import {
  cdrFields, cdrsToCsv, cdrsToNdjson, cdrsToTable, eventsToCsv, eventsToNdjson, eventsToTable, EXTRA_FIELDS, talkSeconds,
} from '../../src/cli/format';
import { UTC_TIME, zoneFlag } from '../../src/cli/local-time';
import { UsageError } from '../../src/flags';
import { CDR_FIELDS, EMPTY_EXTRAS, type Cdr } from '../../correlators/cdr';
import type { EventRow, StoredCdr } from '../../src/stores/store';

const answered: Cdr = {
  cdr_id: 'a1', call_id: 'call-1@pc33', caller: '+5511987654321', callee: 'bob', disposition: 'answered', final_code: 200,
  invite_at: '2026-11-27T13:05:09.000001Z', ringing_at: '2026-11-27T13:05:09.500000Z', answer_at: '2026-11-27T13:05:10.000001Z',
  end_at: '2026-11-27T13:06:12.000346Z', pdd_us: 499_999, setup_us: 1_000_000, talk_us: 62_000_345, total_us: 63_000_345,
  bye_code: 200, hangup_by: 'callee', closed_by: 'bye', complete: true, events: 5, source: 'qbl',
};
const busy: Cdr = {
  cdr_id: 'b2', call_id: 'x,"y"\nz', caller: null, callee: 'carol', disposition: 'busy', final_code: 486,
  invite_at: '2026-11-27T13:00:00.000000Z', ringing_at: null, answer_at: null, end_at: '2026-11-27T13:00:01.000000Z',
  pdd_us: null, setup_us: 1_000_000, talk_us: 0, total_us: 1_000_000, bye_code: null, hangup_by: null,
  closed_by: 'final_reply', complete: false, events: 2, source: 'acc',
};
const rows: StoredCdr[] = [
  { cdr: answered, extras: { ...EMPTY_EXTRAS, caller_e164: '+5511987654321', acc_mismatch: true } },
  { cdr: busy, extras: EMPTY_EXTRAS },
];

describe('talkSeconds', () => {
  it('prints six decimals by integer arithmetic', () => {
    expect(talkSeconds(62_000_345)).toBe('62.000345');
    expect(talkSeconds(0)).toBe('0.000000');
    expect(talkSeconds(999_999)).toBe('0.999999');
    expect(talkSeconds(14_400_000_000_001)).toBe('14400000.000001');
    expect(talkSeconds(-1_500_000)).toBe('-1.500000');
    expect(talkSeconds(null)).toBeNull();
  });
});

describe('CDR renderers', () => {
  it('ndjson: exactly the cdr.md fields in order, extras left out', () => {
    const lines = cdrsToNdjson(rows).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual([...CDR_FIELDS]);
    expect(first).toEqual(answered);
    expect(lines[1]).toBe(JSON.stringify(cdrFields(busy)));
    expect(lines[1]).toBe(
      '{"cdr_id":"b2","call_id":"x,\\"y\\"\\nz","caller":null,"callee":"carol","disposition":"busy","final_code":486,'
      + '"invite_at":"2026-11-27T13:00:00.000000Z","ringing_at":null,"answer_at":null,"end_at":"2026-11-27T13:00:01.000000Z",'
      + '"pdd_us":null,"setup_us":1000000,"talk_us":0,"total_us":1000000,"bye_code":null,"hangup_by":null,'
      + '"closed_by":"final_reply","complete":false,"events":2,"source":"acc"}',
    );
  });

  it('ndjson of a CDR object with extra keys still prints only cdr.md fields', () => {
    const polluted = { ...answered, caller_e164: '+55', startUs: 1 } as Cdr;
    expect(Object.keys(JSON.parse(cdrsToNdjson([{ cdr: polluted, extras: EMPTY_EXTRAS }])))).toEqual([...CDR_FIELDS]);
  });

  it('csv: header, CRLF rows, RFC 4180 quoting, empty for null, spreadsheet-safe cells', () => {
    expect(cdrsToCsv(rows)).toBe([
      CDR_FIELDS.join(','),
      'a1,call-1@pc33,"=""+5511987654321""",bob,answered,200,2026-11-27T13:05:09.000001Z,2026-11-27T13:05:09.500000Z,'
      + '2026-11-27T13:05:10.000001Z,2026-11-27T13:06:12.000346Z,499999,1000000,62000345,63000345,200,callee,bye,true,5,qbl',
      'b2,"x,""y""\nz",,carol,busy,486,2026-11-27T13:00:00.000000Z,,,2026-11-27T13:00:01.000000Z,,1000000,0,1000000,,,'
      + 'final_reply,false,2,acc',
      '',
    ].join('\r\n'));
    expect(cdrsToCsv([])).toBe(`${CDR_FIELDS.join(',')}\r\n`);
  });

  it('table: aligned columns, talk seconds, dashes for null, control characters escaped', () => {
    expect(cdrsToTable(rows)).toBe([
      'call_id      caller          callee  disposition  final_code  invite_at                    answer_at                    end_at                          talk_s  hangup_by  complete',
      'call-1@pc33  +5511987654321  bob     answered            200  2026-11-27T13:05:09.000001Z  2026-11-27T13:05:10.000001Z  2026-11-27T13:06:12.000346Z  62.000345  callee     yes',
      'x,"y"\\x0az   -               carol   busy                486  2026-11-27T13:00:00.000000Z  -                            2026-11-27T13:00:01.000000Z   0.000000  -          no',
      '',
    ].join('\n'));
  });
});

describe('event renderers', () => {
  const events: EventRow[] = [
    {
      id: 'e1', call_id: 'c1', kind: 'invite_request', event_name: 'E_QBL_INVITE_REQUEST', time: '2026-11-27T13:05:09.000001Z',
      reply_code: null, direction: 'downstream', caller: 'alice', callee: 'bob', exchange: 'opensips', routing_key: 'qbl.invite',
      body: '{"method":"E_QBL_INVITE_REQUEST"}',
    },
    {
      id: 'e22', call_id: 'c1', kind: 'invite_reply', event_name: 'E_QBL_INVITE_REPLY', time: '2026-11-27T13:05:10.000001Z',
      reply_code: 200, direction: 'upstream', caller: null, callee: null, exchange: 'opensips', routing_key: 'r',
      body: 'text\u001b[31m',
    },
  ];

  it('table: one aligned line per event with the columns support reads', () => {
    expect(eventsToTable(events)).toBe([
      'time                         kind            event_name            reply_code  direction   caller  callee  routing_key  id',
      '2026-11-27T13:05:09.000001Z  invite_request  E_QBL_INVITE_REQUEST           -  downstream  alice   bob     qbl.invite   e1',
      '2026-11-27T13:05:10.000001Z  invite_reply    E_QBL_INVITE_REPLY           200  upstream    -       -       r            e22',
      '',
    ].join('\n'));
  });

  it('ndjson: EventRow objects with the body, one per line', () => {
    const lines = eventsToNdjson(events).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual(events);
    expect(Object.keys(JSON.parse(lines[1]!))).toEqual([
      'id', 'call_id', 'kind', 'event_name', 'time', 'reply_code', 'direction', 'caller', 'callee', 'exchange', 'routing_key', 'body',
    ]);
  });
});

describe('CDR renderers with --extras', () => {
  const disputed: StoredCdr = {
    cdr: answered,
    extras: { caller_e164: '+5511987654321', callee_e164: null, acc_duration_ms: 61_493, acc_setup_ms: 5000, acc_code: 200, acc_mismatch: true },
  };

  it('ndjson and csv add the extra fields after the cdr.md fields', () => {
    const record = JSON.parse(cdrsToNdjson([disputed], { extras: true })) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual([...CDR_FIELDS, ...EXTRA_FIELDS]);
    expect(record).toEqual({ ...answered, ...disputed.extras });
    const [header, line] = cdrsToCsv([disputed], { extras: true }).split('\r\n');
    expect(header).toBe([...CDR_FIELDS, ...EXTRA_FIELDS].join(','));
    expect(line!.endsWith(',"=""+5511987654321""",,61493,5000,200,true')).toBe(true);
  });

  it('the table shows normalised numbers and whether acc disagrees', () => {
    const [header, row] = cdrsToTable([disputed], { extras: true }).split('\n');
    expect(header!.split(/\s+/).slice(-4)).toEqual(['caller_e164', 'callee_e164', 'acc_talk_s', 'acc_mismatch']);
    expect(row!.split(/\s+/).slice(-4)).toEqual(['+5511987654321', '-', '61.493000', 'YES']);
  });
});

describe('CSV safe in a spreadsheet, and --tz', () => {
  const evil: Cdr = { ...answered, caller: '=HYPERLINK("http://evil","click")', callee: '@SUM(1+1)', call_id: '-1+2' };

  it('formulas in caller, callee and call id are neutralised; a number keeps its +', () => {
    const line = cdrsToCsv([{ cdr: evil, extras: EMPTY_EXTRAS }, { cdr: answered, extras: EMPTY_EXTRAS }]).split('\r\n');
    expect(line[1]!.startsWith(`a1,'-1+2,"'=HYPERLINK(""http://evil"",""click"")",'@SUM(1+1),answered,200,`)).toBe(true);
    expect(line[2]!.startsWith('a1,call-1@pc33,"=""+5511987654321""",bob,')).toBe(true);
  });

  it('events csv: the same protection, body included', () => {
    const event: EventRow = {
      id: 'e1', call_id: 'c', kind: 'invite_request', event_name: 'E', time: '2026-11-27T13:05:09.000001Z', reply_code: null,
      direction: 'downstream', caller: '+5511987654321', callee: '=1+1', exchange: 'x', routing_key: 'k', body: '{"a":1}',
    };
    expect(eventsToCsv([event])).toBe(
      'id,call_id,kind,event_name,time,reply_code,direction,caller,callee,exchange,routing_key,body\r\n'
      + `e1,c,invite_request,E,2026-11-27T13:05:09.000001Z,,downstream,"=""+5511987654321""",'=1+1,x,k,"{""a"":1}"\r\n`,
    );
  });

  it('zoneFlag: local times with their offset, microseconds kept; null stays null; a bad zone is a UsageError', () => {
    const show = zoneFlag('America/Sao_Paulo');
    expect(show('2026-11-27T13:05:09.000001Z')).toBe('2026-11-27T10:05:09.000001-03:00');
    expect(zoneFlag('Asia/Kolkata')('2026-11-27T13:05:09Z')).toBe('2026-11-27T18:35:09+05:30');
    expect(zoneFlag('UTC+3')('2026-11-27T23:00:00.500000Z')).toBe('2026-11-28T02:00:00.500000+03:00');
    expect(show(null)).toBeNull();
    expect(zoneFlag(undefined)).toBe(UTC_TIME);
    expect(() => zoneFlag('Mars/Olympus')).toThrow(UsageError);
    expect(() => zoneFlag('')).toThrow(/--tz: expected an IANA time zone/);
  });

  it('--tz changes the times of every format, and nothing else', () => {
    const showTime = zoneFlag('Europe/Lisbon');
    const [, line] = cdrsToCsv([{ cdr: answered, extras: EMPTY_EXTRAS }], { showTime }).split('\r\n');
    expect(line).toContain(',2026-11-27T13:05:09.000001+00:00,2026-11-27T13:05:09.500000+00:00,');
    const json = JSON.parse(cdrsToNdjson([{ cdr: answered, extras: EMPTY_EXTRAS }], { showTime: zoneFlag('America/Sao_Paulo') })) as Cdr;
    expect(json).toEqual({ ...answered, invite_at: '2026-11-27T10:05:09.000001-03:00', ringing_at: '2026-11-27T10:05:09.500000-03:00',
      answer_at: '2026-11-27T10:05:10.000001-03:00', end_at: '2026-11-27T10:06:12.000346-03:00' });
    expect(answered.invite_at).toBe('2026-11-27T13:05:09.000001Z');
  });
});
