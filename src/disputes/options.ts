/** What `qbl reconcile` is asked to do, its progress callbacks, its result and its input errors. */
import type { OurField } from './columns';
import type { Increment } from './increment';
import type { Summary } from './summary';
import type { TimeZoneSpec } from './time-zone';

export interface ReconcileOptions {
  readonly file: string;
  readonly outDir: string;
  readonly columns: ReadonlyMap<OurField, string>;
  /** null: found from the data. */
  readonly timeFormat: string | null;
  readonly tz: TimeZoneSpec;
  readonly startIs: 'answer' | 'invite';
  /** null: found from the data (their duration and billed columns), else 1/1. */
  readonly increment: Increment | null;
  readonly toleranceUs: number;
  readonly windowUs: number;
  readonly sinceUs?: number;
  readonly untilUs?: number;
  /** Disputed calls shown (with evidence) in report.html. */
  readonly top: number;
}

export interface ReconcileProgress {
  /** A phase starts: `total` units (bytes, rows). */
  phase(label: string, total: number): void;
  advance(by: number): void;
  done(): void;
}

export interface ReconcileResult {
  readonly summary: Summary;
  readonly files: readonly string[];
  readonly notes: readonly string[];
  readonly disputedRows: number;
}

/** A problem with the file or the options that the user can fix (a flag, the file): exit 2. */
export class ReconcileInputError extends Error {
  /** `no_input`: the file cannot be read at all; `input`: it needs a flag (or fixing). */
  constructor(message: string, readonly code: 'input' | 'no_input' = 'input') {
    super(message);
    this.name = 'ReconcileInputError';
  }
}
