/** Carrier start times, time zones and `--tz auto`. */
import fc from 'fast-check';
import { guessTimeFormat, isUsableLuxonFormat, timeParser } from '../../src/disputes/time-format';
import { detectOffset, formatOffset, parseTimeZone, TimeZoneFix } from '../../src/disputes/time-zone';

const local = (iso: string) => Date.parse(`${iso}Z`) * 1000;

describe('time formats', () => {
  it.each([
    ['ymd', '2026-11-27 13:05:09', local('2026-11-27T13:05:09'), null],
    ['ymd', '2026-11-27T13:05:09.123456+05:30', local('2026-11-27T13:05:09') + 123_456, 330 * 60e6],
    ['ymd', '2026/11/27 13:05', local('2026-11-27T13:05:00'), null],
    ['ymd', '2026-11-27 13:05:09Z', local('2026-11-27T13:05:09'), 0],
    ['dmy', '27/11/2026 13:05:09', local('2026-11-27T13:05:09'), null],
    ['dmy', '27.11.26 1:05:09 PM', local('2026-11-27T13:05:09'), null],
    ['mdy', '11/27/2026 01:05:09 AM', local('2026-11-27T01:05:09'), null],
    ['mdy', '11/27/2026 12:05:09 AM', local('2026-11-27T00:05:09'), null],
    ['compact', '20261127130509', local('2026-11-27T13:05:09'), null],
    ['epoch', '1795957509.25', 1_795_957_509_250_000, 0],
    ['epoch-ms', '1795957509250', 1_795_957_509_250_000, 0],
    ['dd.MM.yyyy HH:mm:ss', '27.11.2026 13:05:09', local('2026-11-27T13:05:09'), null],
  ])('%s reads %j', (format, text, localUs, offsetUs) => {
    expect(timeParser(format)(text)).toEqual({ localUs, offsetUs });
  });

  it.each([['ymd', '2026-02-30 10:00:00'], ['ymd', '2026-11-27 24:00:00'], ['mdy', '13/27/2026 10:00'], ['ymd', 'yesterday']])('%s refuses %j', (format, text) => {
    expect(timeParser(format)(text)).toBeNull();
  });

  it('agrees with Date on any time', () => {
    fc.assert(fc.property(fc.date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }), (date) => {
      const iso = date.toISOString();
      expect(timeParser('ymd')(`${iso.slice(0, 10)} ${iso.slice(11, 23)}`)!.localUs).toBe(date.getTime() * 1000);
    }));
  });

  it('guesses the format, tells day-first from month-first, and says when it cannot', () => {
    expect(guessTimeFormat([...Array<string>(10).fill('2026-11-27 13:05:09'), 'junk'])).toMatchObject({ ok: true, format: 'ymd' });
    expect(guessTimeFormat(['27/11/2026 13:05', '01/12/2026 10:00'])).toMatchObject({ ok: true, format: 'dmy' });
    expect(guessTimeFormat(['11/27/2026 01:05:09 PM'])).toMatchObject({ ok: true, format: 'mdy' });
    expect(guessTimeFormat(['10/11/2026 01:05:09 PM'])).toMatchObject({ ok: true, format: 'mdy' });
    expect(guessTimeFormat(['10/11/2026 13:05:09'])).toMatchObject({ ok: false, reason: expect.stringMatching(/pass --time-format dmy or mdy/) });
    expect(guessTimeFormat(['1795957509'])).toMatchObject({ ok: true, format: 'epoch' });
    expect(isUsableLuxonFormat('dd.MM.yyyy HH:mm')).toBe(true);
    expect(isUsableLuxonFormat('nonsense')).toBe(false);
  });
});

describe('time zones', () => {
  it('parses IANA zones, fixed offsets and auto', () => {
    expect(parseTimeZone('auto')).toEqual({ kind: 'auto' });
    expect(parseTimeZone('+05:30')).toEqual({ kind: 'fixed', offsetUs: 330 * 60e6 });
    expect(parseTimeZone('UTC-3')).toEqual({ kind: 'fixed', offsetUs: -180 * 60e6 });
    expect(parseTimeZone('-0330')).toEqual({ kind: 'fixed', offsetUs: -210 * 60e6 });
    expect(parseTimeZone('America/Sao_Paulo')).toEqual({ kind: 'iana', zone: 'America/Sao_Paulo' });
    expect(parseTimeZone('Mars/Olympus')).toBeNull();
    expect(parseTimeZone('+15:00')).toBeNull();
    expect(formatOffset(-210 * 60e6)).toBe('-03:30');
  });

  it('turns wall-clock times into UTC, across daylight saving changes', () => {
    const kolkata = TimeZoneFix.iana('Asia/Kolkata');
    expect(kolkata.toUtcUs(local('2026-11-27T18:35:09'))).toBe(local('2026-11-27T13:05:09'));
    const stJohns = TimeZoneFix.iana('America/St_Johns');
    expect(stJohns.toUtcUs(local('2026-07-01T12:00:00'))).toBe(local('2026-07-01T14:30:00')); // -02:30 in summer
    expect(stJohns.toUtcUs(local('2026-12-01T12:00:00'))).toBe(local('2026-12-01T15:30:00')); // -03:30 in winter
    expect(stJohns.localDay(local('2026-12-02T02:00:00'))).toBe('2026-12-01');
    expect(TimeZoneFix.fixed(330 * 60e6).localDay(local('2026-11-27T19:00:00'))).toBe('2026-11-28');
  });

  it('--tz auto finds the offset most rows agree on, half-hour ones included', () => {
    fc.assert(fc.property(fc.integer({ min: -48, max: 56 }), fc.integer({ min: 20, max: 60 }), (quarters, n) => {
      const offsetUs = quarters * 15 * 60e6;
      const ours = Array.from({ length: n }, (_, i) => ({ timeUs: 1_800_000_000_000_000 + i * 97e6, group: `g${i % 7}`, numbers: i }));
      // Their rows: the same calls in their wall-clock time (a few seconds off), plus noise rows.
      const samples = ours.map((call) => ({ localUs: call.timeUs + offsetUs + 2e6, group: call.group, numbers: call.numbers }))
        .concat(Array.from({ length: 5 }, (_, i) => ({ localUs: 1_800_000_000_000_000 + i * 3600e6, group: 'g1', numbers: -1 })));
      const found = detectOffset(samples, ours, (a, b) => a === b);
      expect(found).toEqual({ offsetUs, agreeing: n, sampled: n + 5 });
    }));
    expect(detectOffset([{ localUs: 0, group: 'a', numbers: 1 }], [], () => true)).toBeNull();
  });
});
