/** What the operator may rename: event names and attribute names (defaults from the spec). */
import type { EventKind } from '../../correlators/events';

/** `auto`: one event name for everything; the kind follows from `method` and `reply_code`. */
export type EventMapping = EventKind | 'auto';

export const EVENT_MAPPINGS: readonly EventMapping[] = [
  'invite_request', 'invite_reply', 'bye_request', 'bye_reply', 'acc_cdr', 'acc_event', 'acc_missed', 'auto',
];

export const DEFAULT_EVENT_NAMES: ReadonlyMap<string, EventMapping> = new Map<string, EventMapping>([
  ['E_QBL_INVITE_REQUEST', 'invite_request'],
  ['E_QBL_INVITE_REPLY', 'invite_reply'],
  ['E_QBL_BYE_REQUEST', 'bye_request'],
  ['E_QBL_BYE_REPLY', 'bye_reply'],
  ['E_ACC_CDR', 'acc_cdr'],
  ['E_ACC_EVENT', 'acc_event'],
  ['E_ACC_MISSED_EVENT', 'acc_missed'],
]);

/** Our names for the quick-billing-log attributes; the values say what the event calls them. */
export type QblAttribute =
  | 'call_id' | 'caller_id' | 'callee_id' | 'request_time' | 'reply_time'
  | 'microseconds' | 'reply_code' | 'method' | 'direction';

export const QBL_ATTRIBUTES: readonly QblAttribute[] = [
  'call_id', 'caller_id', 'callee_id', 'request_time', 'reply_time', 'microseconds', 'reply_code', 'method', 'direction',
];

export const DEFAULT_ATTRIBUTE_NAMES: Readonly<Record<QblAttribute, string>> = Object.freeze({
  call_id: 'call_id',
  caller_id: 'caller_id',
  callee_id: 'callee_id',
  request_time: 'request_time',
  reply_time: 'reply_time',
  microseconds: 'microseconds',
  reply_code: 'reply_code',
  method: 'method',
  direction: 'direction',
});

export interface DecoderOptions {
  readonly eventNames: ReadonlyMap<string, EventMapping>;
  readonly attributeNames: Readonly<Record<QblAttribute, string>>;
  /** Bodies above this are rejected before parsing (`decode.too_large`). */
  readonly maxBodyBytes: number;
}

export const DEFAULT_DECODER_OPTIONS: DecoderOptions = Object.freeze({
  eventNames: DEFAULT_EVENT_NAMES,
  attributeNames: DEFAULT_ATTRIBUTE_NAMES,
  maxBodyBytes: 65536,
});
