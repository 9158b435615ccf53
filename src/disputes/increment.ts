/**
 * Billing increments `A/B`: the first block is A seconds, every further block B seconds, a
 * started block is billed whole (pure). `1/1` bills whole seconds, `60/6` a minute then
 * six-second steps, `0.001/0.001` milliseconds.
 */

export interface Increment {
  readonly firstUs: number;
  readonly nextUs: number;
  /** As written: `60/6`. */
  readonly label: string;
}

function blockUs(text: string): number | null {
  if (!/^\d+(?:\.\d{1,3})?$/.test(text)) return null;
  const us = Math.round(Number(text) * 1000) * 1000;
  return us >= 1000 ? us : null;
}

/** `60/6` → Increment; null when not two positive numbers of at most millisecond precision. */
export function parseIncrement(text: string): Increment | null {
  const match = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(text);
  if (!match) return null;
  const firstUs = blockUs(match[1]!);
  const nextUs = blockUs(match[2]!);
  if (firstUs === null || nextUs === null) return null;
  return Object.freeze({ firstUs, nextUs, label: `${match[1]}/${match[2]}` });
}

/** What a call of `talkUs` is billed at `increment`, in µs: 0 for no talk, else whole blocks. */
export function billedUs(talkUs: number, increment: Increment): number {
  if (talkUs <= 0) return 0;
  if (talkUs <= increment.firstUs) return increment.firstUs;
  return increment.firstUs + Math.ceil((talkUs - increment.firstUs) / increment.nextUs) * increment.nextUs;
}

/** The increments carriers use, simplest first (the first of equally good fits wins). */
export const COMMON_INCREMENTS: readonly Increment[] = ['1/1', '6/6', '30/6', '30/30', '60/1', '60/6', '60/60', '0.001/0.001']
  .map((text) => parseIncrement(text)!);

export const DEFAULT_INCREMENT: Increment = COMMON_INCREMENTS[0]!;

/**
 * Finds the increment the carrier applied, from rows that carry both their duration and their
 * billed seconds: each common increment counts the rows it reproduces exactly.
 */
export class IncrementDetector {
  private readonly fits = new Array<number>(COMMON_INCREMENTS.length).fill(0);
  private rows = 0;

  add(durationUs: number, billedUsByThem: number): void {
    this.rows += 1;
    for (let i = 0; i < COMMON_INCREMENTS.length; i += 1) {
      if (billedUs(durationUs, COMMON_INCREMENTS[i]!) === billedUsByThem) this.fits[i]! += 1;
    }
  }

  /** The best fit and the share of rows it explains; null without rows. */
  result(): { increment: Increment; rows: number; fitting: number } | null {
    if (this.rows === 0) return null;
    let best = 0;
    for (let i = 1; i < this.fits.length; i += 1) if (this.fits[i]! > this.fits[best]!) best = i;
    return { increment: COMMON_INCREMENTS[best]!, rows: this.rows, fitting: this.fits[best]! };
  }
}
