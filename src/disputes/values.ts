/**
 * Numbers as carriers write them → integers (pure). Durations become microseconds and money
 * micro-units, by integer arithmetic on the digits, so `0,0120` per minute or `61.492997`
 * seconds are exact.
 */

const SIMPLE_INTEGER = /^\d{1,9}$/;
const SIMPLE_DECIMAL = /^(\d{1,9})\.(\d{1,9})$/;

/** `12.5`, `12,5` (decimal comma), `1.234,5`, `1,234.5`, `-3`, `$0.012`, `0,0120 €` → scaled integer; null when not a number. */
export function parseScaled(text: string, scale: number): number | null {
  // Most values are plain numbers (`61`, `0.0120`): no need for the general path.
  if (SIMPLE_INTEGER.test(text)) return Number(text) * scale;
  const simple = SIMPLE_DECIMAL.exec(text);
  if (simple !== null && (scale === 1_000_000 || scale === 1000)) {
    const digits = scale === 1000 ? 3 : 6;
    const fraction = simple[2]!;
    const kept = fraction.length >= digits ? fraction.slice(0, digits) : fraction + '000000'.slice(0, digits - fraction.length);
    const roundUp = fraction.length > digits && fraction.charCodeAt(digits) >= 53 ? 1 : 0;
    return Number(simple[1]) * scale + Number(kept) + roundUp;
  }
  const cleaned = text.trim().replace(/^[^\d+\-.,]+|[^\d.,]+$/g, '').replace(/[\s\u00a0']/g, '');
  const match = /^([+-]?)(\d*(?:[.,]\d+)*)$/.exec(cleaned);
  if (!match || match[2] === '' || !/\d/.test(match[2]!)) return null;
  const body = match[2]!;
  // The last `.` or `,` is the decimal mark; any earlier ones group thousands.
  const mark = Math.max(body.lastIndexOf('.'), body.lastIndexOf(','));
  const whole = (mark < 0 ? body : body.slice(0, mark)).replace(/[.,]/g, '');
  const fraction = mark < 0 ? '' : body.slice(mark + 1);
  if (mark >= 0 && /[.,]/.test(body.slice(0, mark)) && !/^\d{1,3}(?:[.,]\d{3})*$/.test(body.slice(0, mark))) return null;
  const digits = Math.round(Math.log10(scale));
  let value: number;
  if (10 ** digits === scale) {
    // Exact: the fraction's first `digits` digits, rounded half up on the next one.
    const kept = fraction.slice(0, digits).padEnd(digits, '0');
    const roundUp = fraction.length > digits && fraction.charCodeAt(digits) >= 53 ? 1 : 0;
    value = Number(whole || '0') * scale + Number(kept || '0') + roundUp;
  } else {
    value = Math.round(Number(`${whole || '0'}.${fraction || '0'}`) * scale);
  }
  if (!Number.isSafeInteger(value)) return null;
  return match[1] === '-' ? -value : value;
}

export type DurationUnit = 's' | 'ms' | 'min';

const UNIT_US: Readonly<Record<DurationUnit, number>> = { s: 1_000_000, ms: 1000, min: 60_000_000 };

/** `61`, `61.5`, `61,5` in the column's unit, or `1:01`, `0:01:01`, `00:01:01.5` → µs; null when unreadable. */
export function parseDurationUs(text: string, unit: DurationUnit): number | null {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const parts = trimmed.split(':');
    if (parts.length > 3 || parts.some((part, i) => !/^\d+(?:[.,]\d+)?$/.test(part) || (i < parts.length - 1 && /[.,]/.test(part)))) return null;
    const seconds = parseScaled(parts[parts.length - 1]!, 1_000_000)!;
    const minutes = Number(parts[parts.length - 2]);
    const hours = parts.length === 3 ? Number(parts[0]) : 0;
    return (hours * 3600 + minutes * 60) * 1_000_000 + seconds;
  }
  return parseScaled(trimmed, UNIT_US[unit]);
}

/** The unit a duration header names: `Duration (ms)`, `Minutes`, `Billsec` … */
export function durationUnitOf(header: string): DurationUnit {
  const lower = header.toLowerCase();
  if (/\bms\b|msec|milli/.test(lower) || /[a-z]ms$/.test(lower.replace(/[^a-z]/g, ''))) return 'ms';
  if (/min/.test(lower) && !/sec/.test(lower)) return 'min';
  return 's';
}

/** µs as decimal seconds, exactly (`61.492997`), for JSON. */
export function usToSeconds(us: number): number {
  return us / 1_000_000;
}

/** Micro-units of money as a decimal number (6 places at most). */
export function microToMoney(micro: number): number {
  return micro / 1_000_000;
}

/**
 * A cell as a spreadsheet wrote it back: `="005511…"` (text kept as text) and `'005511…` (a
 * leading apostrophe) both mean `005511…`. Files that went through Excel look like this.
 */
export function unwrapSpreadsheetText(text: string): string {
  const first = text.charCodeAt(0);
  if (first === 61 /* = */ && text.length >= 3 && text.charCodeAt(1) === 34 && text.endsWith('"')) return text.slice(2, -1).replace(/""/g, '"');
  if (first === 39 /* ' */) return text.slice(1);
  return text;
}
