/**
 * Carrier CSV files, streamed (pure: text in, records out). RFC 4180 quoting, `,` `;` tab or
 * `|` separators, CRLF or LF line ends, quoted fields across lines; the encoding (UTF-8 with or
 * without BOM, UTF-16 with BOM, else Windows-1252/Latin-1) is found from the first bytes.
 */

export const SEPARATORS = [',', ';', '\t', '|'] as const;

/** The encoding to decode with, and how many BOM bytes to skip. */
export function detectEncoding(head: Uint8Array): { encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252'; bomBytes: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomBytes: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomBytes: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomBytes: 2 };
  try {
    // `stream: true`: a character cut at the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return { encoding: 'utf-8', bomBytes: 0 };
  } catch {
    return { encoding: 'windows-1252', bomBytes: 0 };
  }
}

/** The separator that splits the header line into the most fields (outside quotes). */
export function detectSeparator(headerLine: string): string {
  let best: string = ',';
  let bestCount = 0;
  for (const separator of SEPARATORS) {
    let count = 0;
    let quoted = false;
    for (const char of headerLine) {
      if (char === '"') quoted = !quoted;
      else if (char === separator && !quoted) count += 1;
    }
    if (count > bestCount) {
      best = separator;
      bestCount = count;
    }
  }
  return best;
}

/** No carrier's row is this long: a quoted field still open past it is a stray `"`. */
export const MAX_QUOTED_RECORD_CHARS = 64 * 1024;

/** A quote that never closes: without this, the rest of the file would be read as one field. */
export class UnclosedQuoteError extends Error {
  /** `record`: 1 for the header line; the line number unless an earlier field spans lines. */
  constructor(readonly record: number) {
    super(`record ${record} opens a quoted field that is still open ${MAX_QUOTED_RECORD_CHARS / 1024} KiB later: a stray '"'?`);
    this.name = 'UnclosedQuoteError';
  }
}

/**
 * Splits text into records. `push` returns the records completed by a chunk; `end` the last
 * one. Blank lines come out as `['']` so the caller's record numbers follow the file's lines.
 */
export class CsvRecords {
  private pending = '';
  /** Records handed out so far (for the record number of an error). */
  private records = 0;
  constructor(private readonly separator: string) {}

  push(chunk: string): string[][] {
    return this.split(this.pending + chunk, false);
  }

  end(): string[][] {
    const rest = this.pending;
    this.pending = '';
    return rest === '' ? [] : this.split(rest, true);
  }

  private split(text: string, final: boolean): string[][] {
    const records: string[][] = [];
    const length = text.length;
    let pos = 0;
    let nextQuote = text.indexOf('"');
    while (pos < length) {
      let lineEnd = text.indexOf('\n', pos);
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
      if (nextQuote === -1 || (lineEnd !== -1 && nextQuote > lineEnd)) {
        // No quote in this line: a plain split.
        if (lineEnd === -1) {
          if (!final) break;
          lineEnd = length;
        }
        const end = lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
        records.push(text.slice(pos, end).split(this.separator));
        pos = lineEnd + 1;
        continue;
      }
      const quoted = this.quotedRecord(text, pos, final, this.records + records.length + 1);
      if (quoted === null) break;
      records.push(quoted.fields);
      pos = quoted.next;
    }
    this.pending = pos < length ? text.slice(pos) : '';
    this.records += records.length;
    return records;
  }

  /** A record with quotes, char by char; null when it runs past the end of a non-final chunk. */
  private quotedRecord(text: string, start: number, final: boolean, record: number): { fields: string[]; next: number } | null {
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    let pos = start;
    const separator = this.separator;
    while (pos < text.length) {
      const char = text[pos]!;
      if (quoted && pos - start > MAX_QUOTED_RECORD_CHARS) throw new UnclosedQuoteError(record);
      if (quoted) {
        if (char === '"') {
          if (text[pos + 1] === '"') {
            field += '"';
            pos += 2;
            continue;
          }
          if (pos + 1 === text.length && !final) return null; // `""` may continue in the next chunk
          quoted = false;
        } else {
          field += char;
        }
        pos += 1;
        continue;
      }
      if (char === '"') {
        quoted = true;
      } else if (char === separator) {
        fields.push(field);
        field = '';
      } else if (char === '\n') {
        fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
        return { fields, next: pos + 1 };
      } else {
        field += char;
      }
      pos += 1;
    }
    if (!final) return null;
    fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
    return { fields, next: text.length };
  }
}
