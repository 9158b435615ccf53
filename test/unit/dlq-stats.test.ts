import { formatUs } from '../../correlators/cdr';
import { readDeadLetter } from '../../src/dlq/dead-letter';
import { ageBucket, countDeadLetter, emptyStats, formatStatsTable, statsToJson } from '../../src/dlq/stats';
import { bodyPreview, formatPeekBlock, peekToJson, plainHeaders } from '../../src/dlq/preview';

const NOW_US = Date.UTC(2024, 4, 8, 0, 0, 0) * 1000;
const HOUR_US = 3_600_000_000;

function at(reason: string, agoUs: number) {
  return readDeadLetter({ 'x-qbl-reason': reason, 'x-qbl-failed-at': formatUs(NOW_US - agoUs) });
}

describe('ageBucket', () => {
  it('puts each failure time in <1h, <1d, <7d, older or unknown', () => {
    expect(ageBucket(NOW_US, NOW_US)).toBe('<1h');
    expect(ageBucket(NOW_US + HOUR_US, NOW_US)).toBe('<1h');
    expect(ageBucket(NOW_US - HOUR_US + 1, NOW_US)).toBe('<1h');
    expect(ageBucket(NOW_US - HOUR_US, NOW_US)).toBe('<1d');
    expect(ageBucket(NOW_US - 24 * HOUR_US, NOW_US)).toBe('<7d');
    expect(ageBucket(NOW_US - 7 * 24 * HOUR_US, NOW_US)).toBe('older');
    expect(ageBucket(undefined, NOW_US)).toBe('unknown');
  });
});

describe('countDeadLetter', () => {
  it('groups by reason and age and tracks the oldest and newest failure', () => {
    const stats = emptyStats();
    countDeadLetter(stats, at('decode.not_json', 10), NOW_US);
    countDeadLetter(stats, at('decode.not_json', 2 * HOUR_US), NOW_US);
    countDeadLetter(stats, at('store.rejected', 30 * 24 * HOUR_US), NOW_US);
    countDeadLetter(stats, readDeadLetter({}), NOW_US);
    expect(stats.total).toBe(4);
    expect(stats.byAge).toEqual({ '<1h': 1, '<1d': 1, '<7d': 0, older: 1, unknown: 1 });
    expect(stats.byReason.get('decode.not_json')).toMatchObject({ count: 2, byAge: { '<1h': 1, '<1d': 1 } });
    expect(stats.byReason.get('unknown')?.count).toBe(1);
    expect(stats.oldestUs).toBe(NOW_US - 30 * 24 * HOUR_US);
    expect(stats.newestUs).toBe(NOW_US - 10);

    const json = statsToJson(stats);
    expect(json).toMatchObject({ total: 4, newest_failed_at: '2024-05-07T23:59:59.999990Z' });
    const table = formatStatsTable(stats).split('\n');
    expect(table[0]).toMatch(/^reason\s+count\s+<1h\s+<1d\s+<7d\s+older\s+unknown/);
    expect(table[1]).toMatch(/^decode\.not_json\s+2\s+1\s+1\s+0\s+0\s+0\s/); // most frequent first
    expect(table.at(-1)).toMatch(/^total\s+4\s/);
  });
});

describe('peek rendering', () => {
  it('shows text bodies as text and binary bodies as base64, cut to the limit', () => {
    expect(bodyPreview(Buffer.from('{"a":1}'), 100)).toEqual({ encoding: 'utf8', text: '{"a":1}', truncated: false });
    expect(bodyPreview(Buffer.from('abcdef'), 3)).toEqual({ encoding: 'utf8', text: 'abc', truncated: true });
    expect(bodyPreview(Buffer.from([0xff, 0xfe, 0x00]), 100)).toEqual({ encoding: 'base64', text: '//4A', truncated: false });
  });

  it('unwraps typed AMQP values and Buffers in headers for JSON output', () => {
    expect(plainHeaders({ a: Buffer.from('x'), 'x-death': [{ time: { '!': 'timestamp', value: 5 }, count: 1 }] }))
      .toEqual({ a: 'x', 'x-death': [{ time: 5, count: 1 }] });
    const json = peekToJson({ position: 1, info: at('decode.bad_time', 0), headers: {}, redelivered: false, body: Buffer.from('hi') }, 10);
    expect(json).toMatchObject({ position: 1, reason: 'decode.bad_time', body: 'hi', body_bytes: 2, replay_count: 0 });
  });
});

describe('formatPeekBlock', () => {
  it('keeps one line per fact: multi-line bodies are escaped, other headers shown as JSON', () => {
    const info = at('decode.not_json', 0);
    const block = formatPeekBlock({ position: 2, info, headers: { 'x-qbl-reason': 'decode.not_json', 'x-origin': 'sbc-1' }, redelivered: true, body: Buffer.from('a\nb') }, 100);
    const lines = block.split('\n');
    expect(lines[0]).toMatch(/^#2 {2}decode\.not_json/);
    expect(lines).toContain('  headers:  {"x-origin":"sbc-1"}');
    expect(lines.at(-1)).toBe('  body (3 bytes): a\\nb');
  });
});
