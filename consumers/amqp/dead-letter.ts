/** What the consumer publishes to the dead-letter exchange: the unchanged body plus `x-qbl-*` headers. Pure. */
import type { Options } from 'amqplib';
import type { DeadLetterReason, PipelineStage } from '../../src/errors';
import { contentId } from './content-id';
import { DEAD_LETTER_HEADERS } from './headers';
import { formatUs } from '../../correlators/cdr';

export const MAX_DETAIL_CHARS = 500;

export interface DeadLetterSource {
  readonly body: Buffer;
  readonly exchange: string;
  readonly routingKey: string;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly contentType?: string;
  readonly contentEncoding?: string;
}

export interface DeadLetterCause {
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly stage: PipelineStage;
}

export interface DeadLetterMessage {
  readonly routingKey: string;
  readonly body: Buffer;
  readonly options: Options.Publish;
}

/** One line, at most `maxChars` characters, so it fits a header and a log line. */
export function oneLine(text: string, maxChars = MAX_DETAIL_CHARS): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ').trim();
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars - 1)}…`;
}

export function buildDeadLetter(source: DeadLetterSource, cause: DeadLetterCause, failedAtUs: number): DeadLetterMessage {
  const H = DEAD_LETTER_HEADERS;
  const headers: Record<string, unknown> = {
    ...source.headers, // keeps x-death and anything else the broker or a replay added
    [H.reason]: cause.reason,
    [H.detail]: oneLine(cause.detail),
    [H.stage]: cause.stage,
    [H.failedAt]: formatUs(failedAtUs),
    [H.originalExchange]: source.exchange,
    [H.originalRoutingKey]: source.routingKey,
  };
  const options: Options.Publish = {
    persistent: true,
    headers,
    // Same original exchange, routing key and body ⇒ same id.
    messageId: contentId(source.exchange, source.routingKey, source.body),
  };
  if (source.contentType !== undefined) options.contentType = source.contentType;
  if (source.contentEncoding !== undefined) options.contentEncoding = source.contentEncoding;
  return { routingKey: source.routingKey, body: source.body, options };
}
