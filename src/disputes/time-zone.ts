/**
 * The carrier's time zone (pure apart from luxon's zone data): `--tz` parsing, wall-clock →
 * UTC, the local day of a UTC instant, and `--tz auto`, which finds the file's offset from the
 * data: the offset that lines most sampled rows up with our calls of the same numbers.
 */
import { DateTime, IANAZone } from 'luxon';

const US_PER_MINUTE = 60_000_000;
/** Every offset in use is a multiple of 15 minutes (+05:45 Nepal, +12:45 Chatham). */
export const OFFSET_STEP_US = 15 * US_PER_MINUTE;
/** UTC-12 … UTC+14. */
export const MAX_OFFSET_US = 14 * 60 * US_PER_MINUTE;

export type TimeZoneSpec =
  | { readonly kind: 'auto' }
  | { readonly kind: 'fixed'; readonly offsetUs: number }
  | { readonly kind: 'iana'; readonly zone: string };

/** `auto`, `UTC`, `+05:30`, `-0330`, `UTC+5:30`, `GMT-3`, or an IANA zone; null when none of those. */
export function parseTimeZone(text: string): TimeZoneSpec | null {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'auto') return { kind: 'auto' };
  if (/^(?:Z|UTC|GMT)$/i.test(trimmed)) return { kind: 'fixed', offsetUs: 0 };
  const fixed = /^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(trimmed);
  if (fixed) {
    const minutes = Number(fixed[2]) * 60 + Number(fixed[3] ?? 0);
    const offsetUs = (fixed[1] === '-' ? -1 : 1) * minutes * US_PER_MINUTE;
    return Math.abs(offsetUs) <= MAX_OFFSET_US && Number(fixed[3] ?? 0) < 60 ? { kind: 'fixed', offsetUs } : null;
  }
  return IANAZone.isValidZone(trimmed) ? { kind: 'iana', zone: trimmed } : null;
}

/** `+05:30`, `-03:30`, `+00:00`. */
export function formatOffset(offsetUs: number): string {
  const minutes = Math.round(Math.abs(offsetUs) / US_PER_MINUTE);
  return `${offsetUs < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** A fixed offset or an IANA zone, with per-15-minute caches (transitions fall on quarter hours). */
export class TimeZoneFix {
  private readonly localCache = new Map<number, number>();
  private readonly utcCache = new Map<number, number>();
  private lastDaySlot = Number.NaN;
  private lastDay = '';

  private constructor(readonly label: string, private readonly fixedOffsetUs: number | null, private readonly zone: string | null) {}

  static fixed(offsetUs: number): TimeZoneFix {
    return new TimeZoneFix(formatOffset(offsetUs), offsetUs, null);
  }

  static iana(zone: string): TimeZoneFix {
    return new TimeZoneFix(zone, null, zone);
  }

  get isFixed(): boolean {
    return this.fixedOffsetUs !== null;
  }

  /** The offset in force at a wall-clock time (the earlier one in a repeated hour). */
  offsetAtLocalUs(localUs: number): number {
    if (this.fixedOffsetUs !== null) return this.fixedOffsetUs;
    const slot = Math.floor(localUs / OFFSET_STEP_US);
    let offset = this.localCache.get(slot);
    if (offset === undefined) {
      const wall = new Date(Math.floor((slot * OFFSET_STEP_US) / 1000));
      const time = DateTime.fromObject({
        year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate(), hour: wall.getUTCHours(), minute: wall.getUTCMinutes(),
      }, { zone: this.zone! });
      offset = time.offset * US_PER_MINUTE;
      this.cacheSet(this.localCache, slot, offset);
    }
    return offset;
  }

  /** The offset in force at a UTC instant. */
  offsetAtUtcUs(utcUs: number): number {
    if (this.fixedOffsetUs !== null) return this.fixedOffsetUs;
    const slot = Math.floor(utcUs / OFFSET_STEP_US);
    let offset = this.utcCache.get(slot);
    if (offset === undefined) {
      offset = DateTime.fromMillis(Math.floor((slot * OFFSET_STEP_US) / 1000), { zone: this.zone! }).offset * US_PER_MINUTE;
      this.cacheSet(this.utcCache, slot, offset);
    }
    return offset;
  }

  toUtcUs(localUs: number): number {
    return localUs - this.offsetAtLocalUs(localUs);
  }

  /** `2026-11-27`: the day in this zone (the carrier's invoice day). */
  localDay(utcUs: number): string {
    const slot = Math.floor(utcUs / OFFSET_STEP_US);
    if (slot === this.lastDaySlot) return this.lastDay;
    const localMs = Math.floor((slot * OFFSET_STEP_US + this.offsetAtUtcUs(utcUs)) / 1000);
    this.lastDaySlot = slot;
    this.lastDay = new Date(localMs).toISOString().slice(0, 10);
    return this.lastDay;
  }

  private cacheSet(cache: Map<number, number>, slot: number, offset: number): void {
    if (cache.size > 100_000) cache.clear();
    cache.set(slot, offset);
  }
}

/** A sampled carrier row for `--tz auto`: its wall-clock start and who called whom. */
export interface OffsetSample<N> {
  readonly localUs: number;
  readonly group: string;
  readonly numbers: N;
}

export interface OffsetCandidate<N> {
  readonly timeUs: number;
  readonly group: string;
  readonly numbers: N;
}

export interface OffsetFound {
  readonly offsetUs: number;
  /** Sampled rows with a call of ours at this offset (give or take the match window). */
  readonly agreeing: number;
  readonly sampled: number;
}

/**
 * The offset (a multiple of 15 minutes) at which most sampled rows find a call of ours between
 * the same numbers. Each row votes once for every offset it could mean, so a busy pair of
 * numbers cannot outvote the rest. Null when fewer than `minAgreeing` rows agree on any.
 */
export function detectOffset<N>(
  samples: readonly OffsetSample<N>[],
  ours: readonly OffsetCandidate<N>[],
  sameNumbers: (a: N, b: N) => boolean,
  minAgreeing = 3,
): OffsetFound | null {
  const byGroup = new Map<string, OffsetCandidate<N>[]>();
  for (const call of ours) {
    const list = byGroup.get(call.group);
    if (list === undefined) byGroup.set(call.group, [call]);
    else list.push(call);
  }
  const votes = new Map<number, number>();
  for (const sample of samples) {
    const offsets = new Set<number>();
    for (const call of byGroup.get(sample.group) ?? []) {
      const offsetUs = sample.localUs - call.timeUs;
      if (Math.abs(offsetUs) > MAX_OFFSET_US + OFFSET_STEP_US || !sameNumbers(sample.numbers, call.numbers)) continue;
      offsets.add(Math.round(offsetUs / OFFSET_STEP_US) * OFFSET_STEP_US);
    }
    for (const offset of offsets) votes.set(offset, (votes.get(offset) ?? 0) + 1);
  }
  let best: OffsetFound | null = null;
  for (const [offsetUs, count] of votes) {
    // Ties go to the offset nearer UTC: deterministic, and the likelier one.
    if (best === null || count > best.agreeing || (count === best.agreeing && Math.abs(offsetUs) < Math.abs(best.offsetUs))) {
      best = { offsetUs: offsetUs === 0 ? 0 : offsetUs, agreeing: count, sampled: samples.length };
    }
  }
  return best !== null && best.agreeing >= minAgreeing ? best : null;
}
