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
  return sha1Hex(canonicalEventText(event));
}

/**
 * Exactly `JSON.stringify([ID_VERSION, kind, callId, timeUs, replyCode, direction, caller, callee,
 * acc === null ? null : [method, durationS, durationMs, setupS, createdS, sipReason]])` (a property
 * test holds it to that), built without the intermediate arrays: only the strings need escaping.
 */
export function canonicalEventText(event: Omit<CallEvent, 'id'>): string {
  const acc = event.acc;
  const head = `${PREFIX}${JSON.stringify(event.kind)},${JSON.stringify(event.callId)},${num(event.timeUs)},${num(event.replyCode)},`
    + `${str(event.direction)},${str(event.caller)},${str(event.callee)},`;
  if (acc === null) return `${head}null]`;
  return `${head}[${str(acc.method)},${num(acc.durationS)},${num(acc.durationMs)},${num(acc.setupS)},${num(acc.createdS)},${str(acc.sipReason)}]]`;
}

const PREFIX = `[${JSON.stringify(ID_VERSION)},`;

/** JSON.stringify's text for a string or null. */
function str(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/** JSON.stringify's text for a number or null (non-finite numbers are `null` there too). */
function num(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(value) : 'null';
}
