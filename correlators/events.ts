/**
 * The typed events the decoders produce and the correlator consumes.
 * Times are integer microseconds since the Unix epoch: 1.8e15 fits a double exactly
 * (Number.MAX_SAFE_INTEGER is 9.007e15), so plain numbers keep every microsecond.
 */

export type QblEventKind = 'invite_request' | 'invite_reply' | 'bye_request' | 'bye_reply';
export type AccEventKind = 'acc_cdr' | 'acc_event' | 'acc_missed';
export type EventKind = QblEventKind | AccEventKind;

export const QBL_KINDS: readonly QblEventKind[] = ['invite_request', 'invite_reply', 'bye_request', 'bye_reply'];
export const ACC_KINDS: readonly AccEventKind[] = ['acc_cdr', 'acc_event', 'acc_missed'];

/** `downstream`: sent by the caller's side; `upstream`: by the callee's side. */
export type Direction = 'downstream' | 'upstream';

/** Figures only the acc module's events carry (all with second or millisecond resolution). */
export interface AccFigures {
  /** SIP method of the accounted transaction (`INVITE`, `BYE`). */
  readonly method: string | null;
  /** `duration` as published: whole seconds, rounded up by OpenSIPS. */
  readonly durationS: number | null;
  /** `ms_duration`: the talk time in milliseconds. */
  readonly durationMs: number | null;
  /** `setuptime`: seconds from INVITE to the final reply. */
  readonly setupS: number | null;
  /** `created`: unix seconds when the dialog was created (the INVITE). */
  readonly createdS: number | null;
  readonly sipReason: string | null;
}

export interface CallEvent {
  /** Deterministic id derived from the decoded content: the same event always gets the same id. */
  readonly id: string;
  readonly kind: EventKind;
  readonly callId: string;
  /** Event time: when OpenSIPS handled the request or reply (integer microseconds). */
  readonly timeUs: number;
  readonly caller: string | null;
  readonly callee: string | null;
  /** SIP status code of a reply (`reply_code`, or acc's `sip_code`); null for requests. */
  readonly replyCode: number | null;
  readonly direction: Direction | null;
  /** Only on acc events. */
  readonly acc: AccFigures | null;
}

export function isAccKind(kind: EventKind): kind is AccEventKind {
  return kind === 'acc_cdr' || kind === 'acc_event' || kind === 'acc_missed';
}
