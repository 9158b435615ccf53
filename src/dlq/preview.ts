/** How `qbl dlq peek` shows one dead letter. Pure. */
import { formatUs } from '../../correlators/cdr';
import type { DeadLetterInfo, Headers } from './dead-letter';

export interface PeekedMessage {
  /** Position in the scan, from 1. */
  readonly position: number;
  readonly info: DeadLetterInfo;
  readonly headers: Headers;
  readonly messageId?: string;
  readonly redelivered: boolean;
  readonly body: Buffer;
}

/**
 * The body as text when it is valid UTF-8 without control characters (besides tab/newline),
 * else as base64; cut to `maxChars` with a marker saying how long it was.
 */
export function bodyPreview(body: Buffer, maxChars: number): { encoding: 'utf8' | 'base64'; text: string; truncated: boolean } {
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(body);
  // eslint-disable-next-line no-control-regex
  const printable = !decoded.includes('\uFFFD') && !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(decoded);
  const full = printable ? decoded : body.toString('base64');
  const truncated = full.length > maxChars;
  return { encoding: printable ? 'utf8' : 'base64', text: truncated ? full.slice(0, maxChars) : full, truncated };
}

/** Header values as JSON-friendly values (Buffers as text, typed AMQP values unwrapped). */
export function plainHeaders(headers: Headers): Record<string, unknown> {
  const plain = (value: unknown): unknown => {
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    if (Array.isArray(value)) return value.map(plain);
    if (value !== null && typeof value === 'object') {
      if ('!' in value && 'value' in value) return plain((value as { value: unknown }).value);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    }
    return value;
  };
  return plain(headers) as Record<string, unknown>;
}

export function peekToJson(message: PeekedMessage, maxBodyChars: number): Record<string, unknown> {
  const preview = bodyPreview(message.body, maxBodyChars);
  return {
    position: message.position,
    reason: message.info.reason,
    detail: message.info.detail ?? null,
    stage: message.info.stage ?? null,
    failed_at: message.info.failedAtUs === undefined ? null : formatUs(message.info.failedAtUs),
    original_exchange: message.info.originalExchange ?? null,
    original_routing_key: message.info.originalRoutingKey ?? null,
    replay_count: message.info.replayCount,
    message_id: message.messageId ?? null,
    redelivered: message.redelivered,
    headers: plainHeaders(message.headers),
    body_bytes: message.body.length,
    body_encoding: preview.encoding,
    body: preview.text,
    body_truncated: preview.truncated,
  };
}

/** Headers already shown as named lines of the block; the rest are printed as JSON. */
const SHOWN_ABOVE = new Set(['x-qbl-reason', 'x-qbl-detail', 'x-qbl-stage', 'x-qbl-failed-at', 'x-qbl-original-exchange', 'x-qbl-original-routing-key', 'x-qbl-replay-count', 'x-qbl-last-reason']);

/** A readable block per message: key facts, the x-death summary, then the body preview. */
export function formatPeekBlock(message: PeekedMessage, maxBodyChars: number): string {
  const { info } = message;
  const preview = bodyPreview(message.body, maxBodyChars);
  const lines = [
    `#${message.position}  ${info.reason}${info.stage ? ` (stage ${info.stage})` : ''}  failed-at ${info.failedAtUs === undefined ? '-' : formatUs(info.failedAtUs)}  replays ${info.replayCount}`,
    `  detail:   ${info.detail ?? '-'}`,
    `  original: exchange ${JSON.stringify(info.originalExchange ?? null)} routing-key ${JSON.stringify(info.originalRoutingKey ?? null)}`,
  ];
  if (info.death) lines.push(`  x-death:  queue ${info.death.queue ?? '-'} reason ${info.death.reason ?? '-'} count ${info.death.count}`);
  if (info.lastReason) lines.push(`  last replayed after: ${info.lastReason}`);
  if (message.messageId) lines.push(`  message-id: ${message.messageId}`);
  const others = Object.fromEntries(Object.entries(plainHeaders(message.headers)).filter(([key]) => !SHOWN_ABOVE.has(key)));
  if (Object.keys(others).length > 0) lines.push(`  headers:  ${JSON.stringify(others)}`);
  // Escaped so a multi-line body cannot break the block layout.
  const body = preview.text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  lines.push(`  body (${message.body.length} bytes${preview.encoding === 'base64' ? ', base64' : ''}): ${body}${preview.truncated ? ' …' : ''}`);
  return lines.join('\n');
}
