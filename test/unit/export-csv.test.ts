/** Spreadsheet-safe CSV cells: no formula runs, numbers a spreadsheet would mangle stay text. */
import fc from 'fast-check';
import { csvQuote, spreadsheetCell, spreadsheetLine, wouldBeMangled } from '../../src/export/csv';

/** RFC 4180 reading of one line (the inverse of the quoting). */
function readCells(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cell += '"'; i += 1; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { cells.push(cell); cell = ''; } else cell += c;
  }
  cells.push(cell);
  return cells;
}

describe('spreadsheetCell', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['-2+3+cmd|\' /C calc\'!A0', "'-2+3+cmd|' /C calc'!A0"],
    ['\tcmd', "'\tcmd"],
    ['+5511987654321', '"=""+5511987654321"""'],
    ['005511987654321', '"=""005511987654321"""'],
    ['5511987654321', '"=""5511987654321"""'],
    ['27/11/2026 13:05:09', '"=""27/11/2026 13:05:09"""'],
    ['1:05', '"=""1:05"""'],
    ['12,5', '"=""12,5"""'],
    ['1E5', '"=""1E5"""'],
    ['61', '61'],
    ['overbilled', 'overbilled'],
    ['a;b', '"a;b"'],
  ])('%j → %s', (value, cell) => {
    expect(spreadsheetCell(value)).toBe(cell);
  });

  it('numbers, booleans and nulls are written as such', () => {
    expect([spreadsheetCell(-12.5), spreadsheetCell(0), spreadsheetCell(true), spreadsheetCell(null), spreadsheetCell(Number.NaN)]).toEqual(['-12.5', '0', 'true', '', '']);
  });

  it('any text reads back as one cell that starts with no formula trigger, or is exactly ="…" of the text', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 6 }), (texts) => {
      const line = spreadsheetLine(texts);
      expect(line.endsWith('\r\n')).toBe(true);
      const cells = readCells(line.slice(0, -2));
      expect(cells).toHaveLength(texts.length);
      cells.forEach((cell, i) => {
        const text = texts[i]!;
        if (wouldBeMangled(text)) expect(cell).toBe(`="${text}"`);
        else if (/^[=+\-@\t\r]/.test(text)) expect(cell).toBe(`'${text}`);
        else expect(cell).toBe(text);
      });
    }));
  });

  it('csvQuote doubles quotes and quotes separators and line breaks', () => {
    expect(csvQuote('a"b')).toBe('"a""b"');
    expect(csvQuote('a\nb')).toBe('"a\nb"');
    expect(csvQuote('plain')).toBe('plain');
  });
});
