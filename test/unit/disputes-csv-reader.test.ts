/** Carrier CSV records: quoting, line ends, separators and encodings, in any chunking. */
import fc from 'fast-check';
import { CsvRecords, MAX_QUOTED_RECORD_CHARS, UnclosedQuoteError, detectEncoding, detectSeparator } from '../../src/disputes/csv-reader';

function readAll(text: string, separator: string, cuts: number[] = []): string[][] {
  const reader = new CsvRecords(separator);
  const out: string[][] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(...reader.push(text.slice(from, cut)));
    from = cut;
  }
  out.push(...reader.push(text.slice(from)), ...reader.end());
  return out;
}

describe('CsvRecords', () => {
  it('splits plain lines, CRLF or LF, keeping blank lines as records', () => {
    expect(readAll('a,b\r\n1,2\n\n3,4', ',')).toEqual([['a', 'b'], ['1', '2'], [''], ['3', '4']]);
  });

  it('quoted fields: separators, doubled quotes and line breaks inside', () => {
    expect(readAll('"Call, Start";"x""y"\r\n"multi\nline";2\r\n', ';')).toEqual([['Call, Start', 'x"y'], ['multi\nline', '2']]);
  });

  it('gives the same records however the text is cut into chunks', () => {
    const field = fc.oneof(fc.stringMatching(/^[a-z0-9 .:+-]{0,8}$/), fc.string({ maxLength: 8 }).map((s) => `"${s.replace(/"/g, '""')}"`));
    const line = fc.array(field, { minLength: 1, maxLength: 5 }).map((fields) => fields.join(','));
    fc.assert(fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (lines, cuts) => {
      const text = `${lines.join('\r\n')}\r\n`;
      expect(readAll(text, ',', cuts.map((c) => c % (text.length + 1)))).toEqual(readAll(text, ','));
    }));
  });

  it('a quote that never closes is an error naming its record, not the rest of the file as one field', () => {
    const row = 'x@host,2026-11-01 10:00:00,60\n';
    const text = `call_id,start,duration\n${row}"stray@host,2026-11-01 10:01:00,60\n${row.repeat(MAX_QUOTED_RECORD_CHARS / row.length + 10)}`;
    for (const cuts of [[], [100, 5000, 40_000]]) {
      const error = (() => {
        try {
          readAll(text, ',', cuts);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(UnclosedQuoteError);
      expect((error as UnclosedQuoteError).record).toBe(3);
    }
    // A long quoted field that does close is fine.
    const long = 'a'.repeat(MAX_QUOTED_RECORD_CHARS - 10);
    expect(readAll(`"${long}",1\n`, ',')).toEqual([[long, '1']]);
  });
});

describe('file format', () => {
  it('finds the separator from the header', () => {
    expect(detectSeparator('Call Date;ANI;DNIS;Duration')).toBe(';');
    expect(detectSeparator('"Start, local",ANI,DNIS')).toBe(',');
    expect(detectSeparator('Start\tANI\tDNIS')).toBe('\t');
    expect(detectSeparator('Start|ANI|DNIS')).toBe('|');
  });

  it('finds the encoding: UTF-8 (with BOM), UTF-16 with BOM, else Windows-1252', () => {
    expect(detectEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toEqual({ encoding: 'utf-8', bomBytes: 3 });
    expect(detectEncoding(Buffer.from('Número', 'utf8'))).toEqual({ encoding: 'utf-8', bomBytes: 0 });
    expect(detectEncoding(Buffer.from('Número', 'latin1'))).toEqual({ encoding: 'windows-1252', bomBytes: 0 });
    expect(detectEncoding(Buffer.from([0xff, 0xfe, 0x41, 0]))).toEqual({ encoding: 'utf-16le', bomBytes: 2 });
  });
});
