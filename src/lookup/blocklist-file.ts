/**
 * `qbl blocklist import FILE`: a CSV of `entry,reason,expires` (pure). A header line, blank lines
 * and `#` comments are skipped; fields may be quoted (RFC 4180, `""` for a quote). Every line is
 * checked before anything is written: a file with one bad line writes nothing.
 */
import type { DialPlan } from '../numbers/dial-plan';
import { BlockEntryError, checkReason, entryOf } from './blocklist';

export interface ImportRow {
  readonly line: number;
  readonly entry: string;
  readonly reason: string;
  /** null: never expires. */
  readonly expiresAtUs: number | null;
}

export interface ImportProblem {
  readonly line: number;
  readonly message: string;
}

/** Turns an `expires` value (a duration from now such as `30d`, or a time) into microseconds; throws with a reason. */
export type ExpiryParser = (text: string) => number;

/** One CSV record's fields; null when its quotes do not close on the line. */
export function csvFields(line: string): string[] | null {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === ',') {
      fields.push(field.trim());
      field = '';
    } else {
      field += c;
    }
    i += 1;
  }
  if (quoted) return null;
  fields.push(field.trim());
  return fields;
}

export interface ImportDefaults {
  readonly reason?: string;
  readonly expiresAtUs?: number | null;
}

export function parseImport(text: string, plan: DialPlan, parseExpiry: ExpiryParser, defaults: ImportDefaults = {}): { rows: ImportRow[]; problems: ImportProblem[] } {
  const rows: ImportRow[] = [];
  const problems: ImportProblem[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = csvFields(raw);
    if (fields === null) {
      problems.push({ line, message: 'a quote that does not close on the line' });
      return;
    }
    if (rows.length === 0 && problems.length === 0 && fields[0]!.toLowerCase() === 'entry') return; // the header
    if (fields.length > 3) {
      problems.push({ line, message: `${fields.length} fields; expected entry,reason,expires` });
      return;
    }
    const [entryText = '', reasonText = '', expiresText = ''] = fields;
    try {
      const reason = checkReason(reasonText !== '' ? reasonText : defaults.reason ?? '');
      const expiresAtUs = expiresText !== '' ? parseExpiry(expiresText) : defaults.expiresAtUs ?? null;
      rows.push({ line, entry: entryOf(entryText, plan), reason, expiresAtUs });
    } catch (error) {
      problems.push({ line, message: error instanceof BlockEntryError ? `${JSON.stringify(error.input)}: ${error.message}` : (error as Error).message });
    }
  });
  return { rows, problems };
}
