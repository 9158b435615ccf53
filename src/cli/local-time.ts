/**
 * `--tz ZONE` on `qbl cdrs` and `qbl events`: the stored UTC times (`2026-11-27T05:24:15.123456Z`)
 * shown as local times with their offset (`2026-11-27T02:24:15.123456-03:00`). Only the output
 * changes; the microseconds are carried over as digits (luxon keeps milliseconds only).
 */
import { DateTime, Info, type Zone } from 'luxon';
import { UsageError } from '../flags';

/** Turns a stored UTC time into the zone's; null stays null. */
export type ShowTime = (utc: string | null) => string | null;

export const UTC_TIME: ShowTime = (utc) => utc;

const STORED = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$/;

/** `--tz` → a ShowTime; a zone luxon does not know is a one-line UsageError. */
export function zoneFlag(text: string | undefined): ShowTime {
  if (text === undefined) return UTC_TIME;
  const zone: Zone = Info.normalizeZone(text.trim());
  if (text.trim() === '' || !zone.isValid) {
    throw new UsageError(`--tz: expected an IANA time zone (America/Sao_Paulo, Europe/Lisbon), UTC or UTC+3, got ${JSON.stringify(text)}`);
  }
  return (utc) => {
    if (utc === null) return null;
    const match = STORED.exec(utc);
    if (match === null) return utc; // not one of ours: shown as stored
    const local = DateTime.fromISO(`${match[1]}Z`, { zone: 'utc' }).setZone(zone);
    return `${local.toFormat("yyyy-MM-dd'T'HH:mm:ss")}${match[2] ?? ''}${local.toFormat('ZZ')}`;
  };
}
