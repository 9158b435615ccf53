/** The messages between the service's thread and the lookup worker thread (structured-clone safe). */
import type { DialPlan } from '../numbers/dial-plan';
import type { HistogramReading } from '../observability/metrics';
import type { BlockEntry } from './blocklist';
import type { CallFact } from './facts';
import type { LookupStats } from './lookup-state';
import type { LookupLimits, LookupRules } from './options';

/** LookupRules with the code set as an array (a Set crosses threads, but an array is plainer to log). */
export type WorkerRules = Omit<LookupRules, 'invalidCodes'> & { readonly invalidCodes: readonly number[] };

export interface WorkerSetup {
  readonly host: string;
  /** 0 picks a free port (tests, the bench). */
  readonly port: number;
  readonly rules: WorkerRules;
  readonly limits: LookupLimits;
  readonly dialPlan: DialPlan;
  /** How often the worker forgets figures that left their windows. */
  readonly pruneIntervalMs: number;
}

export type ToWorker =
  | { readonly type: 'facts'; readonly facts: readonly CallFact[] }
  | { readonly type: 'blocklist'; readonly entries: readonly BlockEntry[] }
  | { readonly type: 'listen' }
  /** The figures are rebuilt and the block list read: answer lookups (until then, 503). */
  | { readonly type: 'ready' }
  /** A rebuild failed half-way: start again from empty figures. */
  | { readonly type: 'reset' }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'close' };

/** Latency histogram as cumulative-free bucket counts (one per bound, then +Inf): what the metrics export. */
export type LatencySnapshot = HistogramReading;

export interface WorkerStats {
  readonly state: LookupStats;
  /** `verdict|reasons` (reasons joined by `,`, `none` when empty) → lookups answered. */
  readonly lookups: Readonly<Record<string, number>>;
  /** HTTP status → requests refused. */
  readonly rejected: Readonly<Record<string, number>>;
  readonly latency: LatencySnapshot;
  /** Connections the listener holds, and those it refused at its limit since start. */
  readonly connections: { readonly open: number; readonly dropped: number };
}

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'listen-failed'; readonly code: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: WorkerStats }
  | { readonly type: 'closed' };
