/**
 * Joins a call's events into one CDR. Pure: no I/O and no clock — the caller passes the
 * events, what the store remembers of calls not held in memory, and the current event-clock time.
 */
import type { CallEvent } from './events';
import type { CdrRecord } from './cdr';
import { type CallState, cloneCallState, foldEvents, hasMerged, mergeEvent, newCallState } from './call-state';
import { buildCdr, callStartUs } from './build-cdr';

export interface CorrelatorOptions {
  /** No final reply within this time after the INVITE: closed by timeout. */
  readonly setupTimeoutUs: number;
  /** Answered and no BYE within this time: closed by timeout. */
  readonly maxCallDurationUs: number;
  /** How long to wait for the BYE reply (and for reordered stragglers) before closing. */
  readonly byeGraceUs: number;
  /** acc and qbl talk times that differ by more than this are flagged (`acc_mismatch`). */
  readonly accToleranceMs: number;
}

/**
 * What one step would change: exactly what the store must commit with the step's deliveries.
 * Nothing changes in memory until `apply()`, which the caller runs after the commit succeeded,
 * so a failed commit leaves the correlator exactly as the store is.
 */
export interface CorrelatorStep {
  /** CDRs of calls closed by this step, and rewrites of already-closed calls (late events). */
  readonly cdrs: CdrRecord[];
  /**
   * Calls still open whose state changed, with their new deadline; `alreadyOpen` when the call was
   * open before this step too (committed open), so a store that keeps only the open set has it.
   */
  readonly openCalls: { callId: string; deadlineUs: number; alreadyOpen: boolean }[];
  /** Calls this step closed. */
  readonly closedCallIds: string[];
  /** For every call in `cdrs` and `openCalls`: the number of distinct events folded (the CDR's version). */
  readonly eventCounts: Map<string, number>;
  apply(): void;
}

export interface CorrelatorStats {
  openCalls: number;
  eventsMerged: number;
  duplicatesIgnored: number;
  callsClosed: number;
  lateRewrites: number;
}

const CLOSE_NOW = Number.NEGATIVE_INFINITY;

export class Correlator {
  private readonly open = new Map<string, CallState>();
  readonly stats: CorrelatorStats = { openCalls: 0, eventsMerged: 0, duplicatesIgnored: 0, callsClosed: 0, lateRewrites: 0 };

  constructor(private readonly options: CorrelatorOptions) {}

  isOpen(callId: string): boolean {
    return this.open.has(callId);
  }

  get openCallCount(): number {
    return this.open.size;
  }

  /** Earliest first-event time among open calls (for the "oldest open call" gauge). */
  oldestOpenCallUs(): number | null {
    let oldest: number | null = null;
    for (const state of this.open.values()) {
      if (oldest === null || state.firstEventAtUs < oldest) oldest = state.firstEventAtUs;
    }
    return oldest;
  }

  /** Drops a call from memory (its state in the store is newer than ours). */
  forget(callId: string): void {
    this.open.delete(callId);
    this.stats.openCalls = this.open.size;
  }

  /** Drops every call from memory (an instance that lost its queue: the next owner's writes make ours stale). */
  reset(): void {
    this.open.clear();
    this.stats.openCalls = 0;
  }

  /** Puts an open call back in memory from its stored events (after a restart). */
  restoreOpen(callId: string, events: readonly CallEvent[]): void {
    const state = foldEvents(callId, events);
    state.deadlineUs = this.deadlineOf(state);
    this.open.set(callId, state);
    this.stats.openCalls = this.open.size;
  }

  /**
   * Merges a batch of events. `history` holds the stored events of calls that are not open in
   * memory: a call found there is closed, so its new events rewrite its CDR at once.
   */
  ingest(events: readonly CallEvent[], history: ReadonlyMap<string, readonly CallEvent[]>, nowUs: number): CorrelatorStep {
    /** This step's copy of every call one of its events changed, in the order of their first change. */
    const changed = new Map<string, CallState>();
    /** Closed calls reloaded from history whose events so far in this batch were all duplicates. */
    let reloadedUnchanged: Map<string, CallState> | undefined;
    /** The closed calls reloaded from history, with where their CDRs were last filed (before this step's events). */
    let previousStarts: Map<CallState, number> | undefined;
    let merged = 0;
    let duplicates = 0;
    for (const event of events) {
      const callId = event.callId;
      let state = changed.get(callId);
      if (state === undefined) {
        // A duplicate of a stored event changes nothing: the call is copied only when it changes.
        const current = this.open.get(callId);
        if (current !== undefined) {
          if (hasMerged(current, event)) {
            duplicates += 1;
            continue;
          }
          state = cloneCallState(current);
        } else {
          state = reloadedUnchanged?.get(callId);
          const past = state === undefined && history.size > 0 ? history.get(callId) : undefined;
          if (past !== undefined && past.length > 0) {
            state = foldEvents(callId, past);
            (previousStarts ??= new Map()).set(state, callStartUs(state));
          }
          if (state === undefined) state = newCallState(callId);
          else if (hasMerged(state, event)) {
            (reloadedUnchanged ??= new Map()).set(callId, state);
            duplicates += 1;
            continue;
          }
        }
        changed.set(callId, state);
      }
      if (mergeEvent(state, event)) merged += 1;
      else duplicates += 1;
    }

    const step = this.newStep();
    let lateRewrites = 0;
    for (const state of changed.values()) {
      const previousStartUs = previousStarts?.get(state);
      if (previousStartUs !== undefined) {
        // A closed call: its new events rewrite its CDR at once.
        lateRewrites += 1;
        const record = buildCdr(state, this.options.accToleranceMs);
        if (previousStartUs !== record.startUs) record.previousStartUs = previousStartUs;
        step.cdrs.push(record);
        step.eventCounts.set(state.callId, state.eventIds.length);
        continue;
      }
      state.deadlineUs = this.deadlineOf(state);
      if (state.deadlineUs <= nowUs) this.close(state, step);
      else {
        step.openCalls.push({ callId: state.callId, deadlineUs: state.deadlineUs, alreadyOpen: this.open.has(state.callId) });
        step.eventCounts.set(state.callId, state.eventIds.length);
        step.installs.push(state);
      }
    }
    step.onApply = () => {
      this.stats.eventsMerged += merged;
      this.stats.duplicatesIgnored += duplicates;
      this.stats.lateRewrites += lateRewrites;
    };
    return step;
  }

  /** Closes every open call whose deadline has passed. One sweep serves all calls. */
  sweep(nowUs: number): CorrelatorStep {
    const step = this.newStep();
    for (const state of this.open.values()) {
      if (state.deadlineUs <= nowUs) this.close(state, step);
    }
    return step;
  }

  private newStep(): CorrelatorStep & { installs: CallState[]; onApply?: () => void } {
    const step = {
      cdrs: [] as CdrRecord[],
      openCalls: [] as { callId: string; deadlineUs: number; alreadyOpen: boolean }[],
      closedCallIds: [] as string[],
      eventCounts: new Map<string, number>(),
      installs: [] as CallState[],
      onApply: undefined as (() => void) | undefined,
      apply: () => {
        for (const state of step.installs) this.open.set(state.callId, state);
        for (const callId of step.closedCallIds) this.open.delete(callId);
        this.stats.callsClosed += step.closedCallIds.length;
        this.stats.openCalls = this.open.size;
        step.onApply?.();
      },
    };
    return step;
  }

  /** Reads the state only: a swept call's state is still the one in memory until the step is applied. */
  private close(state: CallState, step: CorrelatorStep): void {
    step.cdrs.push(buildCdr(state, this.options.accToleranceMs));
    step.closedCallIds.push(state.callId);
    step.eventCounts.set(state.callId, state.eventIds.length);
  }

  /** When the call closes if nothing else arrives; CLOSE_NOW when every event its outcome needs is in. */
  private deadlineOf(state: CallState): number {
    const { setupTimeoutUs, maxCallDurationUs, byeGraceUs } = this.options;
    if (state.qblEvents === 0) return this.accOnlyDeadline(state);
    const answered = state.answerAtUs !== null;
    if (answered && state.inviteAtUs !== null && state.byeAtUs !== null && state.byeReplyAtUs !== null) return CLOSE_NOW;
    if (!answered && state.inviteAtUs !== null && state.failureAtUs !== null) return CLOSE_NOW;
    const byeAtUs = state.byeAtUs ?? state.byeReplyAtUs;
    if (byeAtUs !== null) return byeAtUs + byeGraceUs;
    if (answered) return state.answerAtUs! + maxCallDurationUs;
    if (state.failureAtUs !== null) return state.failureAtUs + byeGraceUs;
    return (state.inviteAtUs ?? state.firstEventAtUs) + setupTimeoutUs;
  }

  /** acc-only calls: quick-billing-log events may still be on their way, so wait the grace first. */
  private accOnlyDeadline(state: CallState): number {
    const { setupTimeoutUs, maxCallDurationUs, byeGraceUs } = this.options;
    const acc = state.acc!;
    if (acc.final !== null) {
      const durationUs = acc.final.kind === 'acc_cdr' ? (acc.final.figures.durationMs ?? 0) * 1000 : 0;
      return acc.final.timeUs + durationUs + byeGraceUs;
    }
    if (acc.bye !== null) return acc.bye.atUs + byeGraceUs;
    if (acc.answer !== null) return acc.answer.atUs + maxCallDurationUs;
    return state.firstEventAtUs + setupTimeoutUs;
  }
}
