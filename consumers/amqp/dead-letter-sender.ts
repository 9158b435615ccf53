/**
 * Dead-lettering a batch's refused deliveries: each goes to the dead-letter exchange through the
 * confirming publisher, `mandatory`, so a dead letter no queue takes (the dead-letter queue was
 * deleted while we run) comes back as unroutable. The batch may be acked only if every one was
 * confirmed: anything else throws, and the caller leaves the batch unacked.
 */
import type { DeadLetterVerdict, Delivery } from '../batch-handler';
import { buildDeadLetter, type DeadLetterSource } from './dead-letter';
import type { ConfirmPublisher, PublishOutcome } from './publisher';

export interface Refused {
  readonly delivery: Delivery;
  readonly verdict: DeadLetterVerdict;
  /** The original message's properties worth keeping. */
  readonly contentType?: string;
  readonly contentEncoding?: string;
}

export async function sendDeadLetters(
  publisher: ConfirmPublisher, deadLetterExchange: string, refused: readonly Refused[], failedAtUs: number,
): Promise<void> {
  const outcomes = await Promise.all(refused.map((one) => sendOne(publisher, deadLetterExchange, one, failedAtUs)));
  const unroutable = outcomes.filter((outcome) => outcome === 'unroutable').length;
  const nacked = outcomes.filter((outcome) => outcome === 'nacked').length;
  if (unroutable > 0) {
    throw new Error(`${unroutable} dead letter(s) unroutable: no queue bound to exchange "${deadLetterExchange}" (reconnecting re-declares it)`);
  }
  if (nacked > 0) throw new Error(`${nacked} dead letter(s) nacked by the broker`);
}

async function sendOne(publisher: ConfirmPublisher, exchange: string, refused: Refused, failedAtUs: number): Promise<PublishOutcome> {
  const { delivery, verdict } = refused;
  const source: DeadLetterSource = {
    body: delivery.body,
    exchange: delivery.exchange,
    routingKey: delivery.routingKey,
    headers: delivery.headers,
    contentType: refused.contentType,
    contentEncoding: refused.contentEncoding,
  };
  const letter = buildDeadLetter(source, verdict, failedAtUs);
  try {
    return await publisher.publish(exchange, letter.routingKey, letter.body, { ...letter.options, mandatory: true });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // Original headers too large to re-encode (> 64 KiB): keep the body, drop them, say so.
    const bare = buildDeadLetter({ ...source, headers: {} },
      { ...verdict, detail: `${verdict.detail} (original headers dropped: too large)` }, failedAtUs);
    return publisher.publish(exchange, bare.routingKey, bare.body, { ...bare.options, mandatory: true });
  }
}
