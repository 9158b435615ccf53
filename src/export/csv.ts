/**
 * CSV cells that are safe to open in a spreadsheet (RFC 4180 quoting, plus two protections):
 *
 * 1. **No formula injection.** Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage
 *    return would be run as a formula by Excel, LibreOffice and Google Sheets; it gets a leading
 *    `'` (OWASP's advice), which the spreadsheet shows as text.
 * 2. **Numbers kept as text where a spreadsheet would mangle them.** Phone numbers lose their
 *    `+` or leading zeros, digit strings of 12 or more become `5.51199E+12`, and `12/11/2026`,
 *    `3-4` or `01:05` turn into dates or times (month and day swapped in half the world). Such
 *    cells are written as the text formula `="…"`, which every spreadsheet shows exactly as written.
 *
 * Numbers passed as JS numbers (our own figures) are written as numbers. Shared by every CSV the
 * project writes for people (`qbl reconcile`'s disputes.csv; `qbl cdrs --format csv`).
 */

export type CsvValue = string | number | boolean | null | undefined;

/** RFC 4180: quotes around a field with `,` `"` CR or LF (or `;`, for spreadsheets set to `;`), quotes doubled. */
export function csvQuote(text: string): string {
  return /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const FORMULA_START = /^[=+\-@\t\r]/;
/** Digits a spreadsheet would reformat: a leading `+` or `0`, or 12 digits and more. */
const MANGLED_DIGITS = /^(?:\+\d+|0\d+|\d{12,})$/;
/** Dates, times and fractions: `2026-11-27`, `27/11/2026 13:05`, `11/27/2026 1:05:09 PM`, `3-4`, `01:05`, `1/2`. */
const DATE_OR_TIME = /^(?:\d{1,4}[-/.]\d{1,2}(?:[-/.]\d{1,4})?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?: ?[AaPp][Mm])?)?|\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?: ?[AaPp][Mm])?)$/;
/** Scientific notation and numbers with a decimal comma, both read as other numbers by some locales. */
const OTHER_NUMBER_FORMS = /^(?:\d+(?:\.\d+)?[eE][+-]?\d+|\d+,\d+)$/;

/** True when a spreadsheet would turn this text into something else (a number, a date). */
export function wouldBeMangled(text: string): boolean {
  return MANGLED_DIGITS.test(text) || DATE_OR_TIME.test(text) || OTHER_NUMBER_FORMS.test(text);
}

/** One cell, quoted as needed; text protected against formulas and reformatting. */
export function spreadsheetCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // `="…"` only around text without quotes: the formula then holds nothing but that text.
  if (wouldBeMangled(value)) return csvQuote(`="${value}"`);
  if (FORMULA_START.test(value)) return csvQuote(`'${value}`);
  return csvQuote(value);
}

/** A CRLF-terminated line of spreadsheet-safe cells. */
export function spreadsheetLine(values: readonly CsvValue[]): string {
  return `${values.map(spreadsheetCell).join(',')}\r\n`;
}
