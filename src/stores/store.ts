/**
 * The writer side of the pipeline. Every store keeps the CDRs *and* the raw events, under
 * deterministic ids, so a redelivered or replayed message overwrites instead of duplicating.
 *
 * Correlator state is not a separate blob: a call's state is the fold of its stored events
 * (see correlators/), so committing the raw events together with the set of open calls is what
 * makes a delivery safe to ack.
 */
import type { CallEvent } from '../../correlators/events';
import type { Cdr, CdrExtras, CdrRecord, Disposition } from '../../correlators/cdr';

/** A raw event as it arrived, with what the decoder made of it. */
export interface StoredEvent {
  readonly event: CallEvent;
  /** Event name as published (the JSON-RPC `method`, or the first line of a 2.x text body). */
  readonly eventName: string;
  readonly exchange: string;
  readonly routingKey: string;
  /** The body exactly as received (OpenSIPS passes bytes >= 0x80 raw, so keep bytes). */
  readonly body: Buffer;
  readonly receivedAtUs: number;
}

/** An open call: its id and the event-clock instant at which the correlator will close it. */
export interface OpenCall {
  readonly callId: string;
  readonly deadlineUs: number;
  /**
   * In a commit: the call was open at the previous commit too. The SQLite store then writes
   * nothing (it keeps the open set, and the deadline the call had when it opened: the correlator
   * recomputes deadlines from the events when it restores open calls); absent or false: write it.
   */
  readonly alreadyOpen?: boolean;
}

export interface CommitBatch {
  readonly events: readonly StoredEvent[];
  readonly cdrs: readonly CdrRecord[];
  /** Calls that are (still) open after this batch: upserted. */
  readonly openCalls: readonly OpenCall[];
  /** Calls closed by this batch: removed from the open set. */
  readonly closedCallIds: readonly string[];
  /**
   * For each call whose CDR or open state this batch writes: how many distinct events the writer
   * folded (its CDR's version). A store shared by several instances uses it to find a writer whose
   * view of a call is behind the store (docs/scaling.md, fencing); SQLite ignores it.
   */
  readonly eventCounts?: ReadonlyMap<string, number>;
}

/** What the shared store holds of a call: its events and whether it is open. */
export interface StoredCallState {
  readonly events: readonly CallEvent[];
  readonly open: boolean;
}

export interface CommitResult {
  /** Events the store refused for good (e.g. a mapping conflict): event id → the store's reason. */
  readonly rejectedEvents: ReadonlyMap<string, string>;
  /**
   * Calls the store holds events of that the writer had not folded (another instance wrote them):
   * nothing was written for these calls; here is what the store holds, for the writer to fold its
   * events into and commit again.
   */
  readonly staleCalls?: ReadonlyMap<string, StoredCallState>;
}

export const NOTHING_REJECTED: CommitResult = Object.freeze({ rejectedEvents: new Map<string, string>() });

/** What the correlator needs back from the store after a restart or for a late event. */
export interface CallHistory {
  /** All events stored for each of these calls (calls with none are absent from the map). */
  eventsForCalls(callIds: readonly string[]): Promise<Map<string, CallEvent[]>>;
  /**
   * Every open call. On a store shared by several instances (the search store) this reads the
   * shared state and includes every write acknowledged before the call (docs/scaling.md), so a new
   * owner calls it when it takes over; callers may filter the result (e.g. by partition).
   */
  openCalls(): Promise<OpenCall[]>;
  /**
   * A store shared by several instances: each call's stored events and whether it is open there.
   * An owner reads this for calls it does not hold: a call open in the store that its restore did
   * not see (written after it, by a late writer or a killed owner's request the engine finished
   * afterwards) is taken back open, to be closed at its deadline, not taken for a closed one.
   */
  callStates?(callIds: readonly string[]): Promise<Map<string, StoredCallState>>;
}

export interface CallStore extends CallHistory {
  /** Durably writes the batch (one transaction where the engine has them). Throws StoreUnavailableError when it may work later. */
  commit(batch: CommitBatch): Promise<CommitResult>;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CdrQuery {
  callId?: string;
  /** Matches caller or callee (raw or normalised forms). */
  numbers?: readonly string[];
  sinceUs?: number;
  untilUs?: number;
  disposition?: Disposition;
  limit: number;
}

export interface StoredCdr {
  cdr: Cdr;
  extras: CdrExtras;
}

export interface EventRow {
  id: string;
  call_id: string;
  kind: string;
  event_name: string;
  time: string;
  reply_code: number | null;
  direction: string | null;
  caller: string | null;
  callee: string | null;
  exchange: string;
  routing_key: string;
  body: string;
}

/** A time range of call starts: since inclusive, until exclusive (either may be open). */
export interface CdrRange {
  readonly sinceUs?: number;
  readonly untilUs?: number;
  /** CDRs per page (default 5000). */
  readonly pageSize?: number;
}

/** A streamed CDR with the call start it is filed under (the stream's order and keyset). */
export interface StreamedCdr extends StoredCdr {
  readonly startUs: number;
}

export interface CdrReader {
  /** Newest first by invite time. */
  searchCdrs(query: CdrQuery): Promise<StoredCdr[]>;
  /**
   * Every CDR whose call started in the range, oldest first (start, then cdr_id), one page at a
   * time: keyset pagination, so memory stays bounded by the page size whatever the range holds.
   */
  streamCdrs(range: CdrRange): AsyncIterable<readonly StreamedCdr[]>;
  /** The raw events of one call in event-time order. */
  eventsForCall(callId: string): Promise<EventRow[]>;
  /** The raw events of each call, in event-time order (calls without events are absent). */
  eventRowsForCalls(callIds: readonly string[]): Promise<Map<string, EventRow[]>>;
  close(): Promise<void>;
}

export const DEFAULT_CDR_PAGE_SIZE = 5000;
