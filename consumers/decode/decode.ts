/**
 * Bytes of one RabbitMQ message → a CallEvent or a dead-letter verdict. Pure, never throws, and
 * linear in the body size (the size cap comes first; both parsers scan each byte a bounded
 * number of times; V8's JSON.parse is iterative, so deep nesting cannot overflow the stack).
 */
import type { CallEvent } from '../../correlators/events';
import type { DeadLetterReason } from '../../src/errors';
import { eventIdFor } from './event-id';
import { decodeFields } from './fields';
import { parseJsonRpc } from './json-rpc';
import type { DecoderOptions } from './options';
import { failure, quoteForDetail } from './parsed';
import { parseText } from './text';

export type DecodeResult =
  | { ok: true; event: CallEvent; eventName: string }
  | { ok: false; reason: DeadLetterReason; detail: string };

export function decodeMessage(body: Buffer, options: DecoderOptions): DecodeResult {
  try {
    return decodeUnguarded(body, options);
  } catch (error) {
    // Unreachable by design (the fuzz tests look for this detail); a verdict beats a crashed batch.
    return failure('decode.bad_body', `unexpected decoder failure: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function decodeUnguarded(body: Buffer, options: DecoderOptions): DecodeResult {
  if (body.length > options.maxBodyBytes) {
    return failure('decode.too_large', `body is ${body.length} bytes, above the ${options.maxBodyBytes}-byte limit`);
  }
  if (body.length === 0) return failure('decode.bad_text', 'body is empty');
  // OpenSIPS passes bytes >= 0x80 unvalidated: invalid UTF-8 becomes U+FFFD, never a rejection.
  const text = body.toString('utf8');
  const parsed = looksLikeJson(body) ? parseJsonRpc(text) : parseText(text);
  if (!parsed.ok) return parsed;

  const mapping = options.eventNames.get(parsed.eventName);
  if (mapping === undefined) return failure('decode.unknown_event', `event ${quoteForDetail(parsed.eventName)} is not configured`);
  const fields = decodeFields(mapping, parsed.params, options.attributeNames);
  if ('ok' in fields) return fields;
  // Written out, not spread: the same keys in the same order, without the generic copy.
  const event: CallEvent = {
    id: eventIdFor(fields), kind: fields.kind, callId: fields.callId, timeUs: fields.timeUs, caller: fields.caller, callee: fields.callee,
    replyCode: fields.replyCode, direction: fields.direction, acc: fields.acc,
  };
  return { ok: true, event, eventName: parsed.eventName };
}

/** The first non-blank byte is `{` (or `[`, which JSON-RPC never sends but is JSON). */
function looksLikeJson(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b || byte === 0x5b;
  }
  return false;
}
