/**
 * Carrier start times → microseconds (pure). A time without an offset is read as a wall-clock
 * time (`localUs`: the same digits taken as UTC); the time-zone fix turns it into UTC later.
 * A time with `Z` or `±hh:mm` is absolute and needs no fix.
 *
 * Named formats (`--time-format`), found from the data when not given:
 * - `ymd`: `2026-11-27 13:05:09`, `2026-11-27T13:05:09.123456+05:30`, `2026/11/27 13:05`
 * - `dmy`: `27/11/2026 13:05:09`, `27.11.2026 13:05`, `27-11-26 1:05:09 PM`
 * - `mdy`: `11/27/2026 01:05:09 PM`
 * - `compact`: `20261127130509`
 * - `epoch`: unix seconds `1795957509` (or `1795957509.25`); `epoch-ms`: `1795957509250`
 * Anything else is a luxon format string (`dd.MM.yyyy HH:mm:ss`).
 */
import { DateTime } from 'luxon';

export interface ParsedTime {
  /** Wall-clock time read as if UTC (or the absolute time when `offsetUs` is set). */
  readonly localUs: number;
  /** Set when the text itself gave the offset from UTC (`Z`, `+05:30`, epoch): `utc = localUs - offsetUs`. */
  readonly offsetUs: number | null;
}

export const NAMED_TIME_FORMATS = ['ymd', 'dmy', 'mdy', 'compact', 'epoch', 'epoch-ms'] as const;
export type NamedTimeFormat = (typeof NAMED_TIME_FORMATS)[number];

export type TimeParser = (text: string) => ParsedTime | null;

const OFFSET = '(Z|UTC|GMT|[+-]\\d{2}(?::?\\d{2})?)?';
const CLOCK = '(\\d{1,2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,9}))?)?\\s*([AaPp][Mm])?';
const YMD = new RegExp(`^(\\d{4})[-/.](\\d{1,2})[-/.](\\d{1,2})(?:[T ]+${CLOCK})?\\s*${OFFSET}$`);
const DAY_FIRST = new RegExp(`^(\\d{1,2})[-/.](\\d{1,2})[-/.](\\d{4}|\\d{2})(?:[T ,]+${CLOCK})?\\s*${OFFSET}$`);
const COMPACT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const EPOCH = /^(\d{9,10})(?:\.(\d{1,6}))?$/;
const EPOCH_MS = /^\d{12,13}$/;

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/** Days since 1970-01-01 of a proleptic Gregorian date (no Date object: this runs per row). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return DAYS_BEFORE_MONTH[month]! - DAYS_BEFORE_MONTH[month - 1]! || 31;
}

function offsetUsOf(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const upper = text.toUpperCase();
  if (upper === 'Z' || upper === 'UTC' || upper === 'GMT') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const digits = text.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000_000;
}

/** Assembles and range-checks the parts; null for 31 February, 25:00 and the like. */
function compose(year: number, month: number, day: number, clock: readonly (string | undefined)[], offset: string | undefined): ParsedTime | null {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  let hour = clock[0] === undefined ? 0 : Number(clock[0]);
  const minute = clock[1] === undefined ? 0 : Number(clock[1]);
  const second = clock[2] === undefined ? 0 : Number(clock[2]);
  const fraction = clock[3] === undefined ? 0 : Number(clock[3].padEnd(6, '0').slice(0, 6));
  const meridiem = clock[4]?.toLowerCase();
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second > 59) return null;
  const localUs = ((daysFromCivil(year, month, day) * 24 + hour) * 3600 + minute * 60 + second) * 1_000_000 + fraction;
  return { localUs, offsetUs: offsetUsOf(offset) };
}

function twoDigitYear(text: string): number {
  const year = Number(text);
  return text.length === 2 ? 2000 + year : year;
}

const PARSERS: Readonly<Record<NamedTimeFormat, TimeParser>> = {
  ymd(text) {
    const m = YMD.exec(text.trim());
    return m ? compose(Number(m[1]), Number(m[2]), Number(m[3]), m.slice(4, 9), m[9]) : null;
  },
  dmy(text) {
    const m = DAY_FIRST.exec(text.trim());
    return m ? compose(twoDigitYear(m[3]!), Number(m[2]), Number(m[1]), m.slice(4, 9), m[9]) : null;
  },
  mdy(text) {
    const m = DAY_FIRST.exec(text.trim());
    return m ? compose(twoDigitYear(m[3]!), Number(m[1]), Number(m[2]), m.slice(4, 9), m[9]) : null;
  },
  compact(text) {
    const m = COMPACT.exec(text.trim());
    return m ? compose(Number(m[1]), Number(m[2]), Number(m[3]), [m[4], m[5], m[6], undefined, undefined], undefined) : null;
  },
  epoch(text) {
    const m = EPOCH.exec(text.trim());
    return m ? { localUs: Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0')), offsetUs: 0 } : null;
  },
  'epoch-ms': (text) => {
    const trimmed = text.trim();
    return EPOCH_MS.test(trimmed) ? { localUs: Number(trimmed) * 1000, offsetUs: 0 } : null;
  },
};

export function isNamedTimeFormat(text: string): text is NamedTimeFormat {
  return (NAMED_TIME_FORMATS as readonly string[]).includes(text);
}

/** A parser for a named format, or for a luxon format string (slower; for layouts the names miss). */
export function timeParser(format: string): TimeParser {
  if (isNamedTimeFormat(format)) return PARSERS[format];
  return (text) => {
    const time = DateTime.fromFormat(text.trim(), format, { zone: 'utc', setZone: true });
    if (!time.isValid) return null;
    const zoned = /Z|ZZ|ZZZ/.test(format);
    const offsetUs = zoned ? time.offset * 60_000_000 : null;
    return { localUs: (time.toMillis() + time.offset * 60_000) * 1000, offsetUs };
  };
}

/** Whether `format` can be used as a luxon format (it must at least read its own output). */
export function isUsableLuxonFormat(format: string): boolean {
  const sample = DateTime.fromObject({ year: 2026, month: 11, day: 27, hour: 13, minute: 5, second: 9 }, { zone: 'utc' });
  const text = sample.toFormat(format);
  return text !== format && DateTime.fromFormat(text, format, { zone: 'utc' }).isValid;
}

export type TimeFormatGuess =
  | { readonly ok: true; readonly format: NamedTimeFormat; readonly note?: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The named format that reads (nearly: 90 %) every sampled value. Day-first and month-first dates are told
 * apart by a field above 12; when no sample has one, a 12-hour clock (AM/PM) means month-first
 * (the US layout), else the file is ambiguous and the user must say.
 */
export function guessTimeFormat(samples: readonly string[]): TimeFormatGuess {
  const values = samples.map((s) => s.trim()).filter((s) => s !== '');
  if (values.length === 0) return { ok: false, reason: 'no start times to look at' };
  // A few unreadable values are bad rows, not a sign of another format.
  const readsAll = (format: NamedTimeFormat) => values.filter((v) => PARSERS[format](v) !== null).length >= values.length * 0.9;
  for (const format of ['ymd', 'compact', 'epoch', 'epoch-ms'] as const) {
    if (readsAll(format)) return { ok: true, format };
  }
  const dmy = readsAll('dmy');
  const mdy = readsAll('mdy');
  if (dmy && !mdy) return { ok: true, format: 'dmy' };
  if (mdy && !dmy) return { ok: true, format: 'mdy' };
  if (dmy && mdy) {
    if (values.some((v) => /[AaPp][Mm]\s*$/.test(v))) {
      return { ok: true, format: 'mdy', note: 'dates could be day- or month-first; a 12-hour clock says month-first' };
    }
    return { ok: false, reason: `dates such as ${JSON.stringify(values[0])} can be day-first or month-first: pass --time-format dmy or mdy` };
  }
  return { ok: false, reason: `cannot read start times such as ${JSON.stringify(values.find((v) => !PARSERS.ymd(v) && !PARSERS.dmy(v) && !PARSERS.mdy(v)) ?? values[0])}: pass --time-format` };
}
