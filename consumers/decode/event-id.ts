/** A raw event's deterministic id: redelivery or replay of the same content overwrites, never adds. */
import type { CallEvent } from '../../correlators/events';
import { sha1Hex } from '../../correlators/sha1';

/** Bump when the serialisation changes: ids from different versions must never collide. */
const ID_VERSION = 'qbl-event/1';

/**
 * Hex sha1 of every decoded field in a fixed order. JSON.stringify of an array is unambiguous
 * (strings are quoted and escaped, null is distinct from "null"), and it escapes lone surrogates,
 * so the UTF-8 bytes hashed are a faithful image of the strings.
 */
export function eventIdFor(event: Omit<CallEvent, 'id'>): string {
  const acc = event.acc;
  const canonical = JSON.stringify([
    ID_VERSION, event.kind, event.callId, event.timeUs, event.replyCode, event.direction, event.caller, event.callee,
    acc === null ? null : [acc.method, acc.durationS, acc.durationMs, acc.setupS, acc.createdS, acc.sipReason],
  ]);
  return sha1Hex(canonical);
}
