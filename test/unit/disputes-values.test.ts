/** Carriers' numbers, durations and money as integers. */
import { durationUnitOf, parseDurationUs, parseScaled, unwrapSpreadsheetText } from '../../src/disputes/values';
import { spreadsheetCell } from '../../src/export/csv';
import { billedUs, COMMON_INCREMENTS, IncrementDetector, parseIncrement } from '../../src/disputes/increment';
import fc from 'fast-check';

describe('parseScaled', () => {
  it.each([
    ['61', 1e6, 61_000_000], ['61.492997', 1e6, 61_492_997], ['12,5', 1e6, 12_500_000], ['1.234,5', 1e6, 1_234_500_000],
    ['1,234.5', 1e6, 1_234_500_000], ['0,0120', 1e6, 12_000], ['$0.012', 1e6, 12_000], ['0,0120 €', 1e6, 12_000], ['-3', 1e6, -3_000_000],
    ['0.0000005', 1e6, 1], ['1.5', 6e7, 90_000_000],
  ])('%s × %d = %d', (text, scale, want) => {
    expect(parseScaled(text, scale)).toBe(want);
  });

  it.each(['', 'abc', '1.2.3,4,5', '--1', '.'])('%j is not a number', (text) => {
    expect(parseScaled(text, 1e6)).toBeNull();
  });
});

describe('durations', () => {
  it('reads seconds, milliseconds, minutes and clock forms', () => {
    expect(parseDurationUs('61', 's')).toBe(61_000_000);
    expect(parseDurationUs('61500', 'ms')).toBe(61_500_000);
    expect(parseDurationUs('1,5', 'min')).toBe(90_000_000);
    expect(parseDurationUs('1:01', 's')).toBe(61_000_000);
    expect(parseDurationUs('1:00:01.5', 's')).toBe(3_601_500_000);
    expect(parseDurationUs('1:xx', 's')).toBeNull();
  });

  it('takes the unit from the header', () => {
    expect(['Duration (s)', 'Duration (ms)', 'DurationMs', 'Minutes', 'Billsec', 'Call Duration'].map(durationUnitOf)).toEqual(['s', 'ms', 'ms', 'min', 's', 's']);
  });
});

describe('increments', () => {
  it('bills whole blocks: first A, then B', () => {
    const at = (text: string, seconds: number) => billedUs(seconds * 1e6, parseIncrement(text)!) / 1e6;
    expect([at('1/1', 0), at('1/1', 0.2), at('1/1', 61.3), at('6/6', 61), at('30/6', 12), at('30/6', 31), at('60/6', 61), at('60/60', 61)])
      .toEqual([0, 1, 62, 66, 30, 36, 66, 120]);
    expect(billedUs(61_492_997, parseIncrement('0.001/0.001')!)).toBe(61_493_000);
  });

  it('rejects what is not A/B', () => {
    expect(['6', '0/1', '1/0', 'a/b', '1/0.0001'].map(parseIncrement)).toEqual([null, null, null, null, null]);
  });

  it('billed time is at least the talk time, less than a block more, and never decreases', () => {
    fc.assert(fc.property(fc.constantFrom(...COMMON_INCREMENTS), fc.nat(10_000_000_000), fc.nat(10_000_000), (inc, talk, more) => {
      const billed = billedUs(talk, inc);
      expect(billed).toBeGreaterThanOrEqual(talk);
      if (talk > 0) expect(billed - talk).toBeLessThan(Math.max(inc.firstUs, inc.nextUs));
      expect(billedUs(talk + more, inc)).toBeGreaterThanOrEqual(billed);
    }));
  });

  it('the detector finds the increment that explains their billed time', () => {
    const detector = new IncrementDetector();
    const inc = parseIncrement('60/6')!;
    for (let s = 1; s < 400; s += 7) detector.add(s * 1e6, billedUs(s * 1e6, inc));
    detector.add(10e6, 99e6); // one row that fits nothing
    const result = detector.result()!;
    expect(result.increment.label).toBe('60/6');
    expect(result.fitting).toBe(result.rows - 1);
  });
});

describe('cells a spreadsheet wrote back', () => {
  it('="…" and a leading apostrophe are the text inside', () => {
    expect(['="005511987654321"', "'+5511987654321", '="a""b"', '61', '=1+1'].map(unwrapSpreadsheetText)).toEqual(['005511987654321', '+5511987654321', 'a"b', '61', '=1+1']);
  });

  it('reads back what our own disputes.csv wrote', () => {
    for (const text of ['005511987654321', '+5511987654321', '27/11/2026 13:05', '=cmd', 'plain']) {
      const cell = spreadsheetCell(text);
      const unquoted = cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell;
      expect(unwrapSpreadsheetText(unquoted)).toBe(text);
    }
  });
});
